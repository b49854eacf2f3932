"""Freshness as a property (SPEC §3.11): after random backdated changes, catching up the stale
days leaves every day exactly equal to a recompute of the same data from scratch — credit
lines, standings and credited tiers — whatever the changes were."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from credits.catchup import recompute_days_inline
from credits.engine import recompute_day
from credits.models import (
    CountedDay,
    CreditLine,
    DayResult,
    ProgramSettings,
    Standing,
    Tier,
    TierDay,
    TierHistory,
)
from credits.staleness import mark_stale, stale_days
from tests import test_engine_property as reference
from tests.builders import at, give_access, make_client, make_employee, make_partner

START = date(2026, 3, 1)
DAYS = 10
LAST = START + timedelta(days=DAYS - 1)
change = st.tuples(
    st.integers(0, DAYS - 1),
    st.integers(0, 23 * 60),
    st.sampled_from(reference.ACCESS + ["activity"] * 8),
    st.integers(0, len(reference.PARTNERS) - 1),
    st.sampled_from(sorted(reference.CLIENTS)),
    st.sampled_from([True, True, False]),
)


def when(day: int, minute: int) -> datetime:
    moment = datetime.combine(START + timedelta(day), datetime.min.time()) + timedelta(
        minutes=minute
    )
    return at(moment.isoformat())


class CatchUpMatchesAFreshRecompute(TestCase):
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(change, min_size=5, max_size=40), st.lists(change, min_size=1, max_size=15))
    @example(  # a seat removed before an activity that had counted: an immediate end
        first=[(5, 600, "activity", 0, "900", True)] * 5,
        later=[(2, 600, "seat_remove", 0, "900", True)],
    )
    @example(  # an unassignment: the activity stops counting, credit runs out sooner
        first=[(1, 600, "activity", 1, "901", True), (5, 600, "activity", 1, "901", True)],
        later=[(3, 600, "unassign", 1, "901", True)],
    )
    def test_catching_up_equals_recomputing_from_scratch(self, first: list, later: list) -> None:
        ProgramSettings.objects.filter(pk=1).update(
            grace_days=3,
            recalibration_days="03-06",
            protection_months=0,
            review_offset_months=0,
            review_min_days=2,
        )
        Tier.objects.all().delete()
        Tier.objects.create(name="Gold", rank=1, min_total_points=Decimal("0.5"))
        Tier.objects.create(name="Platinum", rank=2, min_total_points=Decimal("1.5"))
        partners = {k: make_partner(k, joined="2026-01-01") for k in reference.PARTNERS}
        employees = {k: make_employee(p, f"e@{k}.example") for k, p in partners.items()}
        clients = {
            h: make_client(h, amount, "USD", country)
            for h, (amount, country) in reference.CLIENTS.items()
        }
        for e in employees.values():
            for c in clients.values():
                give_access(e, c, "2026-02-01")
        seen: set = set()
        self.play(first, employees, clients, seen)
        for offset in range(DAYS):
            recompute_day(day=START + timedelta(days=offset))
        self.play(
            later, employees, clients, seen
        )  # backdated changes, after the days were published
        recompute_days_inline(stale_days(through=LAST))
        assert stale_days(through=LAST) == []
        caught_up = self.everything()

        for model in (DayResult, Standing, CreditLine, TierDay, TierHistory, CountedDay):
            model.objects.all().delete()
        mark_stale(since=START, what="from scratch")
        for offset in range(DAYS):
            recompute_day(day=START + timedelta(days=offset))
        assert self.everything() == caught_up

    def play(self, changes: list, employees: dict, clients: dict, seen: set) -> None:
        """Apply the changes in time order, one per minute (a later change at a minute already
        taken is dropped: the same row twice would be a duplicate, not a change)."""
        for day, minute, kind, pi, hub, qualifying in sorted(changes, key=lambda c: (c[0], c[1])):
            if (day, minute) in seen:
                continue
            seen.add((day, minute))
            reference.apply_change(
                kind, employees[reference.PARTNERS[pi]], clients[hub], when(day, minute), qualifying
            )

    def everything(self) -> dict:
        days = [START + timedelta(days=n) for n in range(DAYS)]
        return {
            day: (
                sorted(
                    CreditLine.objects.published(day).values_list(
                        "partner__key",
                        "client__hub_id",
                        "share",
                        "points",
                        "relationship_started",
                        "last_qualifying_activity",
                        "credit_until",
                    )
                ),
                sorted(
                    Standing.objects.published(day).values_list(
                        "partner__key",
                        "total_points",
                        "qualifying_activities",
                        "tier",
                        "credited_tier",
                    )
                ),
            )
            for day in days
        }
