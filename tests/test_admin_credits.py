"""The credit admin: rules for program admins, recompute now, read-only scoped results."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.models import EngineState, QualifyingAction, RecomputeRun, Tier
from partnercredit.days import yesterday
from tests.builders import make_client


@pytest.mark.django_db
def test_partner_admin_cannot_see_program_rules(client, partner_admin):
    client.force_login(partner_admin)
    for name in (
        "tier",
        "qualifyingaction",
        "currencyunit",
        "pointsrate",
        "growthmarket",
        "programsettings",
        "recomputerun",
        "dayresult",
    ):
        assert client.get(reverse(f"admin:credits_{name}_changelist")).status_code == 403, name


@pytest.mark.django_db
def test_tiers_show_their_illustrative_numbers_as_such(client, staff):
    client.force_login(staff)
    content = client.get(reverse("admin:credits_tier_changelist")).content.decode()
    assert Tier.objects.filter(illustrative=True).exists()
    assert "Illustrative</strong>" in content


@pytest.mark.django_db
def test_credit_reviewer_reads_rules_but_cannot_change_them(client, reviewer):
    client.force_login(reviewer)
    tier = Tier.objects.first()
    assert client.get(reverse("admin:credits_tier_changelist")).status_code == 200
    assert client.get(reverse("admin:credits_tier_add")).status_code == 403
    change = reverse("admin:credits_tier_change", args=[tier.pk])
    assert client.post(change, {"name": "Hacked"}).status_code == 403
    assert client.get(reverse("admin:credits_tier_delete", args=[tier.pk])).status_code == 403


@pytest.mark.django_db
def test_program_admin_adds_a_qualifying_action_and_marks_days_stale(client, two_partners, staff):
    EngineState.objects.update_or_create(pk=1, defaults={"dirty_from": None})
    client.force_login(staff)
    response = client.post(
        reverse("admin:credits_qualifyingaction_add"), {"tool": "account", "action": "login"}
    )
    assert response.status_code == 302
    assert QualifyingAction.objects.filter(tool="account", action="login").exists()
    assert EngineState.objects.get(pk=1).dirty_from == date(2026, 1, 5)  # the first activity


@pytest.mark.django_db
def test_partner_admin_sees_only_own_credit_lines_activities_and_standings(
    client, two_partners, partner_admin
):
    client.force_login(partner_admin)
    for name in ("creditline", "activity", "deal", "standing"):
        content = client.get(reverse(f"admin:credits_{name}_changelist")).content.decode()
        assert "1001" in content, name
        assert "Beta Bureau" not in content and "888002" not in content, name


@pytest.mark.django_db
def test_results_are_read_only_even_for_program_admins(client, two_partners, staff):
    client.force_login(staff)
    assert client.get(reverse("admin:credits_creditline_add")).status_code == 403
    assert client.get(reverse("admin:credits_activity_add")).status_code == 403
    run = RecomputeRun.objects.first()
    assert (
        client.get(reverse("admin:credits_recomputerun_delete", args=[run.pk])).status_code == 403
    )


@pytest.mark.django_db
def test_recompute_now_asks_for_a_day_defaulting_to_yesterday(client, staff):
    client.force_login(staff)
    listing = client.get(reverse("admin:credits_recomputerun_changelist")).content.decode()
    url = reverse("admin:credits_recomputerun_recompute")
    assert url in listing
    assert f'value="{yesterday().isoformat()}"' in client.get(url).content.decode()


@pytest.mark.django_db
def test_recompute_now_queues_a_run_and_shows_its_progress(client, staff):
    make_client("1")
    client.force_login(staff)
    day = timezone.localdate() - timedelta(days=2)
    response = client.post(reverse("admin:credits_recomputerun_recompute"), {"first": day})
    run = RecomputeRun.objects.get(day=day)
    assert run.requested_by == staff
    assert response["Location"] == reverse("admin:credits_recomputerun_change", args=[run.pk])
    page = client.get(response["Location"]).content.decode()
    assert run.status == RecomputeRun.Status.QUEUED  # the worker starts after the commit
    assert '<meta http-equiv="refresh" content="2">' in page
    run.status = RecomputeRun.Status.SUCCEEDED
    run.save()
    page = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert "100 %" in page


@pytest.mark.django_db
def test_credit_reviewer_cannot_recompute(client, reviewer):
    client.force_login(reviewer)
    url = reverse("admin:credits_recomputerun_recompute")
    assert client.get(url).status_code == 403
    assert client.post(url, {"first": "2026-01-05"}).status_code == 403
    assert not RecomputeRun.objects.exists()
    listing = client.get(reverse("admin:credits_recomputerun_changelist")).content.decode()
    assert url not in listing


@pytest.mark.django_db
def test_recompute_now_refuses_a_day_that_has_not_ended(client, staff):
    client.force_login(staff)
    url = reverse("admin:credits_recomputerun_recompute")
    today = timezone.localdate()
    for day in (today, today + timedelta(days=1)):
        response = client.post(url, {"first": day})
        assert f"{day} has not ended yet" in response.content.decode()
    response = client.post(url, {"first": today - timedelta(days=3), "last": today})
    assert f"{today} has not ended yet" in response.content.decode()
    assert not RecomputeRun.objects.exists()
    form = client.get(url).content.decode()
    assert f'max="{today - timedelta(days=1)}"' in form  # the picker offers only ended days
