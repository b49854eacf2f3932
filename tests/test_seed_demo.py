"""seed_demo: a demo world that shows every state, loaded once however often it runs."""

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import Employee, RelationshipEnd
from credits.models import Activity, CreditLine, DayResult
from credits.relationships import relationship_history
from partnercredit.days import yesterday

pytestmark = pytest.mark.django_db


def test_seed_demo_shows_every_state_and_is_idempotent(settings) -> None:
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    counts = (Activity.objects.count(), CreditLine.objects.count(), Employee.objects.count())
    out = io.StringIO()
    call_command("seed_demo", "--days", "3", stdout=out)
    assert "already loaded" in out.getvalue()
    assert (
        Activity.objects.count(),
        CreditLine.objects.count(),
        Employee.objects.count(),
    ) == counts

    day = yesterday()
    assert DayResult.objects.filter(day=day).exists()
    lines = list(CreditLine.objects.published(day).select_related("client"))
    assert {line.partners_sharing for line in lines if line.client.hub_id == "8001"} == {2}
    assert len({line.currency for line in lines}) >= 3
    assert any(line.at_risk() for line in lines)
    assert any(line.points is None for line in lines)  # CHF: no rate
    reasons = {s.end_reason for s in relationship_history(through=day)}
    assert {"inactivity", "all_employees_removed", "services_ended", "partner_left"} <= reasons
    assert RelationshipEnd.objects.exists()


def test_seed_demo_prints_working_logins_for_two_partner_admins() -> None:
    settings_ok = io.StringIO()
    call_command("seed_demo", "--days", "1", stdout=settings_ok)
    assert "partnercredit-demo" in settings_ok.getvalue()
    for username in ("staff", "ann", "sue"):
        user = authenticate(username=username, password="partnercredit-demo")
        assert user is not None and user.is_staff
    ann = authenticate(username="ann", password="partnercredit-demo")
    assert ann is not None and ann.employee.role == "partner_admin"
