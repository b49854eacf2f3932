"""seed_scale and bench at a tiny size (issue 7): the loader on SQLite and PostgreSQL alike."""

import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from accounts.models import (
    Assignment,
    ClientAccount,
    ClientMRR,
    Employee,
    EmployeeSpell,
    Partner,
    PartnerSpell,
    RelationshipEnd,
    Seat,
)
from credits.engine import recompute_day
from credits.models import Activity, CreditLine, Deal, EngineState

pytestmark = pytest.mark.django_db

TINY = {"partners": 5, "employees": 20, "clients": 40, "activities": 2_000, "days": 10}


def seed(**extra: object) -> str:
    out = StringIO()
    call_command("seed_scale", size="tiny", **{**TINY, **extra}, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(
        Activity.objects.order_by("id").values_list(
            "partner_id", "employee_id", "client_id", "at", "day", "tool", "action", "ref"
        )
    )


def test_seed_scale_loads_the_requested_program_and_marks_it_stale() -> None:
    seed(end_date="2026-05-10")
    assert (Partner.objects.count(), Employee.objects.count(), ClientAccount.objects.count()) == (
        5,
        20,
        40,
    )
    assert Activity.objects.count() == 2_000
    assert Assignment.objects.count() == Seat.objects.count() >= 40
    days = {d.isoformat() for d in Activity.objects.values_list("day", flat=True)}
    assert min(days) >= "2026-05-01" and max(days) <= "2026-05-10"
    assert Activity.objects.values("ref").distinct().count() == 2_000
    assert EngineState.objects.get(pk=1).dirty_from == date(2026, 5, 1)
    assert not Activity.objects.exclude(employee__partner_id=F("partner_id")).exists()


def test_the_seeded_program_is_valid_for_the_engine() -> None:
    seed(end_date="2026-05-10")
    run = recompute_day(day=date(2026, 5, 10))
    assert run.status == "succeeded"
    assert CreditLine.objects.published(date(2026, 5, 10)).exists()


def test_the_same_seed_gives_the_same_program() -> None:
    seed(seed=7)
    first = snapshot()
    for model in [
        Activity,
        Seat,
        Assignment,
        Deal,
        RelationshipEnd,
        ClientMRR,
        EmployeeSpell,
        Employee,
        ClientAccount,
        PartnerSpell,
        Partner,
    ]:
        model._default_manager.all().delete()
    seed(seed=7)
    assert snapshot() == first


def test_seed_scale_refuses_a_program_that_is_not_empty() -> None:
    seed()
    with pytest.raises(CommandError, match="empty program"):
        seed()


def test_bench_prints_its_numbers_at_a_tiny_size() -> None:
    seed(end_date="2026-05-10")
    out = StringIO()
    call_command("bench", requests=2, backfill_days=2, no_import=True, in_process=True, stdout=out)
    text = out.getvalue()
    for name in ["counted_days_refresh:", "one day's recompute:", "2-day backfill:", "peak RSS"]:
        assert name in text
    share = re.search(r"credited tier share of one day's recompute: ([\d.]+) %", text)
    assert share is not None, text
    assert 0 < float(share.group(1)) < 100
