"""The credited tier: the tier a partner holds (SPEC §3.12), and membership spells (§3.3).

The pure step is tested at the edges of the SPEC defaults on real calendar dates; the engine
stories use short, configured recalibration calendars so that each world spans a few weeks.
"""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts import services as access
from credits.engine import recompute_day
from credits.models import (
    CreditLine,
    DayResult,
    ProgramSettings,
    Standing,
    Tier,
    TierDay,
    TierHistory,
)
from credits.tiers import Held, Rules, credited_step
from tests.builders import act, at, give_access, make_client, make_employee, make_partner

D = date.fromisoformat
DEFAULTS = Rules(
    recalibration_days=((1, 15), (7, 15)),
    protection_months=6,
    review_offset_months=1,
    review_min_days=30,
)
RANKS = {"Gold": 1, "Platinum": 2, "Diamond": 3, "Elite": 4}


def step(held: Held, day: str, performance: str = "", met: dict | None = None):
    return credited_step(
        held=held,
        day=D(day),
        performance=performance,
        ranks=RANKS,
        rules=DEFAULTS,
        window_days_met=Counter(met or {}),
    )


# --- The rule, at its edges ----------------------------------------------------------------------


def test_the_credited_tier_rises_on_the_first_day_the_performance_tier_is_above_it() -> None:
    assert step(Held(), "2026-03-03", "Gold") == (Held("Gold", D("2026-03-03")), "earned")
    assert step(Held("Gold", D("2026-03-03")), "2026-03-04", "Diamond") == (
        Held("Diamond", D("2026-03-04")),
        "earned",
    )


def test_the_credited_tier_never_falls_outside_a_recalibration_day() -> None:
    held = Held("Diamond", D("2025-01-01"))
    assert step(held, "2026-01-14", "") == (held, "")
    assert step(held, "2026-01-16", "") == (held, "")


def test_the_review_windows_are_aug_15_to_jan_15_and_feb_15_to_jul_15() -> None:
    assert DEFAULTS.review_window(D("2027-01-15")) == (D("2026-08-15"), D("2027-01-15"))
    assert DEFAULTS.review_window(D("2026-07-15")) == (D("2026-02-15"), D("2026-07-15"))
    assert DEFAULTS.next_recalibration(D("2026-07-16")) == D("2027-01-15")
    assert DEFAULTS.next_recalibration(D("2026-07-15")) == D("2026-07-15")


def test_a_tier_earned_less_than_six_months_before_recalibration_is_kept() -> None:
    held = Held("Diamond", D("2025-07-16"))  # 6 months less a day before 2026-01-15
    assert step(held, "2026-01-15", "", met={}) == (held, "protected")


def test_a_tier_earned_six_months_before_recalibration_is_judged_on_its_window() -> None:
    held = Held("Diamond", D("2025-07-15"))
    assert step(held, "2026-01-15", "", met={"Diamond": 30}) == (held, "window")
    assert step(held, "2026-01-15", "", met={"Diamond": 29, "Platinum": 30, "Gold": 50}) == (
        Held("Platinum", D("2025-07-15")),
        "lowered",
    )


def test_a_partner_that_met_no_tier_on_30_days_falls_to_none() -> None:
    held = Held("Gold", D("2025-01-01"))
    assert step(held, "2026-07-15", "", met={"Gold": 29}) == (Held(), "lowered")


def test_a_lowered_partner_performing_higher_that_day_earns_it_again() -> None:
    held = Held("Diamond", D("2025-01-01"))
    new, reason = step(held, "2026-07-15", "Elite", met={"Gold": 40})
    assert (new, reason) == (Held("Elite", D("2026-07-15")), "earned")


def test_a_recalibration_day_on_feb_29_falls_on_feb_28_in_other_years() -> None:
    rules = Rules(((2, 29),), 6, 1, 30)
    assert rules.next_recalibration(D("2027-01-01")) == D("2027-02-28")
    assert rules.next_recalibration(D("2028-01-01")) == D("2028-02-29")


# --- The engine ----------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(db):
    """Gold at 10 points, Platinum at 20; grace 3 days; recalibrations on Mar 1 and Mar 21,
    windows from the previous one (no offset), 1 month of protection, 5 days to keep a tier."""
    Tier.objects.all().delete()
    Tier.objects.create(name="Gold", rank=1, min_total_points=Decimal("10"))
    Tier.objects.create(name="Platinum", rank=2, min_total_points=Decimal("20"))
    ProgramSettings.objects.filter(pk=1).update(
        grace_days=3,
        recalibration_days="03-01,03-21",
        protection_months=1,
        review_offset_months=0,
        review_min_days=5,
    )
    p = make_partner("100", joined="2026-01-01")
    e = make_employee(p, "ann@p.example")
    c = make_client("500", "2000.00", added="2026-01-01")  # 20 points: Platinum
    give_access(e, c, "2026-01-01")
    return p, e, c


def held_on(day: str, key: str = "100") -> tuple[str, str]:
    standing = Standing.objects.published(D(day)).get(partner__key=key)
    return standing.tier, standing.credited_tier


def reason_on(day: str) -> str:
    return TierDay.objects.get(day=D(day), partner__key="100").reason


def test_a_tier_met_on_too_few_days_of_the_window_is_lowered(program) -> None:
    p, e, c = program
    act(e, c, "2026-01-02T10:00")  # Platinum 01-02 … 01-05
    recompute_day(day=D("2026-02-28"))
    assert held_on("2026-02-28") == ("", "Platinum")  # performing at nothing, still holds it
    recompute_day(day=D("2026-03-01"))
    assert held_on("2026-03-01") == ("", "")
    assert reason_on("2026-03-01") == "lowered"


def test_a_tier_met_on_enough_days_of_the_window_is_kept(program) -> None:
    p, e, c = program
    act(e, c, "2026-01-02T10:00")
    act(e, c, "2026-01-05T10:00")  # Platinum 01-02 … 01-08: 7 days ≥ 5
    recompute_day(day=D("2026-03-01"))
    assert held_on("2026-03-01") == ("", "Platinum")
    assert reason_on("2026-03-01") == "window"


def test_a_recently_earned_tier_is_protected_then_judged_at_the_next_recalibration(program):
    p, e, c = program
    act(e, c, "2026-02-10T10:00")  # earned 02-10: less than a month before 03-01
    recompute_day(day=D("2026-03-01"))
    assert held_on("2026-03-01") == ("", "Platinum") and reason_on("2026-03-01") == "protected"
    recompute_day(day=D("2026-03-21"))
    assert held_on("2026-03-21") == ("", "") and reason_on("2026-03-21") == "lowered"


def test_the_credited_tier_is_the_same_in_any_order_of_computing_the_days(program) -> None:
    p, e, c = program
    act(e, c, "2026-01-02T10:00")
    act(e, c, "2026-02-25T10:00")
    days = [D("2026-01-03"), D("2026-02-27"), D("2026-03-01"), D("2026-03-02"), D("2026-03-21")]

    def results() -> list:
        return [(d, *held_on(d.isoformat())) for d in days]

    for day in days:
        recompute_day(day=day)
    in_order = results()
    assert [credited for _, _, credited in in_order] == ["Platinum"] * 4 + [""]
    assert reason_on("2026-03-01") == "window" and reason_on("2026-03-21") == "lowered"
    for model in (TierDay, TierHistory):
        model.objects.all().delete()
    for day in reversed(days):
        recompute_day(day=day)
    assert results() == in_order
    DayResult.objects.all().delete()
    Standing.objects.all().delete()
    CreditLine.objects.all().delete()
    for model in (TierDay, TierHistory):
        model.objects.all().delete()
    recompute_day(day=D("2026-03-02"))  # alone, on a program with no tier history at all
    assert (D("2026-03-02"), *held_on("2026-03-02")) == in_order[3]


def test_a_change_to_an_earlier_day_changes_the_credited_tier_after_a_catch_up(program) -> None:
    p, e, c = program
    act(e, c, "2026-01-02T10:00")
    recompute_day(day=D("2026-03-01"))
    assert held_on("2026-03-01") == ("", "")
    act(e, c, "2026-01-05T10:00")  # backdated: Platinum on 7 days of the window now
    call_command("recompute_credits", "--stale", "--to", "2026-03-31")
    assert held_on("2026-03-01") == ("", "Platinum")


def test_export_standings_has_the_credited_tier_column(program, capsys) -> None:
    p, e, c = program
    act(e, c, "2026-01-02T10:00")
    recompute_day(day=D("2026-02-01"))
    call_command("export_standings", "--date", "2026-02-01")
    header, row = capsys.readouterr().out.splitlines()
    assert header.endswith(",tier,credited_tier")
    assert row == "2026-02-01,100,0.00,0.00,0.00,0,0,,Platinum"


# --- Membership spells (SPEC §3.3) --------------------------------------------------------------


def test_a_partner_that_leaves_and_rejoins_keeps_every_earlier_day(program) -> None:
    p, e, c = program
    act(e, c, "2026-01-02T10:00")
    recompute_day(day=D("2026-01-03"))
    before = Standing.objects.published(D("2026-01-03")).get(partner=p)
    access.partner_leave(partner=p, at=at("2026-01-10T09:00"))
    p.refresh_from_db()
    access.partner_join(key="100", at=at("2026-01-20T09:00"))
    e.refresh_from_db()
    assert not e.is_active  # rejoining does not reactivate the employees
    for day in ("2026-01-03", "2026-01-15", "2026-01-25"):
        recompute_day(day=D(day))
    again = Standing.objects.published(D("2026-01-03")).get(partner=p)
    assert (again.total_points, again.tier, again.credited_tier) == (
        before.total_points,
        before.tier,
        before.credited_tier,
    )
    assert not Standing.objects.published(D("2026-01-15")).filter(partner=p).exists()
    rejoined = Standing.objects.published(D("2026-01-25")).get(partner=p)
    assert (rejoined.total_points, rejoined.credited_tier) == (Decimal("0.00"), "")
    assert list(p.spells.order_by("start").values_list("end", flat=True)) == [
        at("2026-01-10T09:00"),
        None,
    ]


def test_leaving_the_program_deactivates_every_employee(program) -> None:
    p, e, c = program
    other = make_employee(p, "bob@p.example")
    access.partner_leave(partner=p, at=at("2026-01-10T09:00"))
    e.refresh_from_db()
    other.refresh_from_db()
    assert not e.is_active and not other.is_active
    assert e.deactivated_at == at("2026-01-10T09:00")


def test_history_days_are_derived_not_published(program) -> None:
    p, e, c = program
    act(e, c, "2026-01-02T10:00")
    recompute_day(day=D("2026-01-10"))
    assert list(DayResult.objects.values_list("day", flat=True)) == [D("2026-01-10")]
    assert TierHistory.objects.filter(day__lt=D("2026-01-10")).count() == 8  # 01-02 … 01-09
    assert TierDay.objects.get(day=D("2026-01-02"), partner=p).reason == "earned"
    assert not CreditLine.objects.exclude(day=D("2026-01-10")).exists()
    assert D("2026-01-10") - timedelta(days=8) == D("2026-01-02")


def test_the_outlook_says_what_is_needed_to_keep_the_tier(program) -> None:
    from credits.tiers import credited_history, keep_outlook, next_recalibration

    p, e, c = program
    act(e, c, "2026-01-02T10:00")
    recompute_day(day=D("2026-02-20"))
    outlook = keep_outlook(p.pk, D("2026-02-20"))
    assert outlook is not None
    assert (outlook.tier, outlook.recalibration, outlook.protected) == (
        "Platinum",
        D("2026-03-01"),
        False,
    )
    assert (outlook.days_met, outlook.days_needed, outlook.days_short) == (4, 5, 1)
    assert outlook.days_left == 9 and not outlook.secure
    assert outlook.held_until == D("2026-03-01")
    assert next_recalibration(D("2026-03-01")) == D("2026-03-21")
    recompute_day(day=D("2026-03-01"))
    assert [(c.day, c.tier_from, c.tier_to, c.reason) for c in credited_history(p.pk)] == [
        (D("2026-01-02"), "", "Platinum", "earned"),
        (D("2026-03-01"), "Platinum", "", "lowered"),
    ]
