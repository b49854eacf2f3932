"""SPEC revision 2 on existing installs: the growth-market list by ISO code (§3.7) gains the
countries HubSpot lists that the first defaults missed, and the catalogue is lower-case (§2:
tools and actions compare case-insensitively). Days that may change are marked stale."""

from django.db import migrations

GROWTH_REV_2 = {
    "Southeast Asia": ["BD", "HK", "LK", "MV", "NP", "PK", "TW"],
}
NORTH_ASIA = ["CN", "MN", "KR"]


def load(apps, schema_editor):
    GrowthMarket = apps.get_model("credits", "GrowthMarket")
    added = []
    for region, countries in GROWTH_REV_2.items():
        for country in countries:
            _, created = GrowthMarket.objects.get_or_create(
                country=country, defaults={"region": region}
            )
            if created:
                added.append(country)
    GrowthMarket.objects.filter(country__in=NORTH_ASIA, region__in=["China", "Mongolia", "South Korea"]).update(region="North Asia")
    QualifyingAction = apps.get_model("credits", "QualifyingAction")
    for qa in QualifyingAction.objects.all():
        tool, action = qa.tool.strip().lower(), qa.action.strip().lower()
        if (tool, action) == (qa.tool, qa.action):
            continue
        if QualifyingAction.objects.filter(tool=tool, action=action).exists():
            qa.delete()
        else:
            qa.tool, qa.action = tool, action
            qa.save()
    if added:
        _mark_all_stale(apps, f"Growth markets added (SPEC revision 2): {' '.join(added)}")


def _mark_all_stale(apps, what):
    Activity = apps.get_model("credits", "Activity")
    Deal = apps.get_model("credits", "Deal")
    first = [
        d for d in (
            Activity.objects.order_by("day").values_list("day", flat=True).first(),
            Deal.objects.order_by("closed_on").values_list("closed_on", flat=True).first(),
        ) if d is not None
    ]
    if first:
        apps.get_model("credits", "DataChange").objects.create(first_day=min(first), what=what)


class Migration(migrations.Migration):
    dependencies = [("credits", "0010_credited_tier")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
