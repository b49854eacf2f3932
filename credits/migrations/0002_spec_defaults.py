"""Load the SPEC §2–§3 defaults. Staff edit them in the admin afterwards."""

from datetime import date
from decimal import Decimal

from django.db import migrations

EPOCH = date(2000, 1, 1)
RATE_CHANGE = date(2025, 7, 15)
UNITS_BEFORE = {
    "USD": "100", "AUD": "105", "CAD": "130", "COP": "300300", "EUR": "75", "GBP": "62.50",
    "JPY": "12000", "SGD": "140", "ZAR": "1545",
}
UNITS_FROM_2025_07_15 = {
    "AUD": "154", "CAD": "130", "COP": "408000", "EUR": "88", "GBP": "74", "JPY": "14400",
    "SGD": "129", "ZAR": "1768",
}
CONTENT = [("blog", "publish"), ("website_page", "publish"), ("landing_page", "publish"),
           ("social", "publish"), ("email", "send")]
CREATE_EDIT_TOOLS = ["workflow", "form", "list", "cta", "report", "dashboard", "sequence",
                     "chatflow", "ads", "crm"]
GROWTH = {
    "India": ["IN"],
    "China": ["CN"],
    "Mongolia": ["MN"],
    "South Korea": ["KR"],
    "Southeast Asia": ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "TL", "VN"],
    "Latin America": ["AR", "BO", "BR", "CL", "CO", "CR", "CU", "DO", "EC", "SV", "GT", "HT",
                      "HN", "MX", "NI", "PA", "PY", "PE", "PR", "UY", "VE"],
}
# Illustrative tiers (SPEC §3.9): name, rank, total, sold, activities in 30 days.
TIERS = [("Gold", 1, 100, 20, None), ("Platinum", 2, 400, 60, None),
         ("Diamond", 3, 1500, 200, 50), ("Elite", 4, 4000, 500, 150)]


def load(apps, schema_editor):
    get = apps.get_model
    get("credits", "ProgramSettings").objects.get_or_create(
        pk=1, defaults={"grace_days": 60, "sold_window_months": 12}
    )
    get("credits", "EngineState").objects.get_or_create(pk=1)
    QualifyingAction = get("credits", "QualifyingAction")
    pairs = CONTENT + [(t, a) for t in CREATE_EDIT_TOOLS for a in ("create", "edit")]
    for tool, action in pairs:
        QualifyingAction.objects.get_or_create(tool=tool, action=action)
    CurrencyUnit = get("credits", "CurrencyUnit")
    for currency, amount in UNITS_BEFORE.items():
        CurrencyUnit.objects.get_or_create(currency=currency, valid_from=EPOCH, amount=Decimal(amount))
    for currency, amount in UNITS_FROM_2025_07_15.items():
        CurrencyUnit.objects.get_or_create(
            currency=currency, valid_from=RATE_CHANGE, amount=Decimal(amount)
        )
    PointsRate = get("credits", "PointsRate")
    PointsRate.objects.get_or_create(kind="managed", valid_from=EPOCH, points_per_unit=1)
    PointsRate.objects.get_or_create(kind="sourced", valid_from=EPOCH, points_per_unit=3)
    PointsRate.objects.get_or_create(kind="assisted", valid_from=EPOCH, points_per_unit=3)
    PointsRate.objects.get_or_create(kind="sourced", valid_from=date(2024, 2, 27), points_per_unit=5)
    GrowthMarket = get("credits", "GrowthMarket")
    for region, countries in GROWTH.items():
        for country in countries:
            GrowthMarket.objects.get_or_create(country=country, defaults={"region": region})
    Tier = get("credits", "Tier")
    for name, rank, total, sold, activities in TIERS:
        Tier.objects.get_or_create(
            name=name,
            valid_from=EPOCH,
            defaults={
                "rank": rank,
                "min_total_points": total,
                "min_sold_points": sold,
                "min_activities": activities,
                "activity_window_days": 30,
                "illustrative": True,
            },
        )
    Group = get("auth", "Group")
    for name in ("credit reviewers", "program admins"):
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
