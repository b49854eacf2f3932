"""The engine against a small, obviously correct reference implementation, over random worlds.

The reference replays the world minute by minute in plain Python: which employees are active,
assigned and seated; which activities therefore count; which relationships are open. It knows
nothing of CountedDay, SQL or chunks. On every day of every world the "why no credit?" checklist
(asked before the day is computed, so derived from the history) and the relationship history
must agree with the engine's credit lines too.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts import services as access
from accounts.models import ClientAccount, Employee, Partner
from credits.engine import recompute_day
from credits.models import CreditLine, ProgramSettings
from credits.relationships import relationship_history
from credits.services import activity_record
from credits.staleness import mark_stale
from credits.why_no_credit import credit_check
from tests.builders import at, give_access, make_client, make_employee, make_partner

START = date(2026, 3, 1)
DAYS = 10
GRACE = 3
PARTNERS = ["7", "30", "100"]
CLIENTS = {"900": ("100.00", "US"), "901": ("0.05", "IN")}  # cents to split, a growth market

ACCESS = [
    "assign",
    "unassign",
    "seat_add",
    "seat_remove",
    "deactivate",
    "reactivate",
    "remove_all",
    "services_end",
]
event = st.tuples(
    st.integers(0, DAYS - 1),  # day
    st.integers(0, 23 * 60),  # minute of the day
    st.sampled_from(ACCESS + ["activity"] * 16),
    st.integers(0, len(PARTNERS) - 1),
    st.sampled_from(sorted(CLIENTS)),
    st.sampled_from([True, True, True, False]),  # activity: qualifying or not
)


@dataclass
class Reference:
    """Plain-Python SPEC §3."""

    active: set = field(default_factory=set)
    assigned: set = field(default_factory=set)
    seated: set = field(default_factory=set)
    # (partner, client) → [start day, last counted day] while open
    open: dict = field(default_factory=dict)

    def counts(self, p: str, c: str) -> bool:
        return p in self.active and (p, c) in self.assigned and (p, c) in self.seated

    def activity(self, p: str, c: str, day: date) -> None:
        rel = self.open.get((p, c))
        if rel is None or (day - rel[1]).days > GRACE:
            self.open[(p, c)] = [day, day]
        else:
            rel[1] = day

    def end(self, p: str, c: str | None) -> None:
        for pair in [k for k in self.open if k[0] == p and (c is None or k[1] == c)]:
            del self.open[pair]

    def lines(self, day: date) -> set:
        open_on = {k: v for k, v in self.open.items() if (day - v[1]).days <= GRACE}
        result = set()
        for client, (amount, country) in CLIENTS.items():
            sharing = sorted((v[0], len(k[0]), k[0]) for k, v in open_on.items() if k[1] == client)
            cents = int(Decimal(amount) * 100)
            for place, (started, _, p) in enumerate(sharing):
                share = cents // len(sharing) + (1 if place < cents % len(sharing) else 0)
                multiplier = 2 if country == "IN" else 1
                points = (Decimal(share) / 100 / 100 * multiplier).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
                last = open_on[(p, client)][1]
                result.add(
                    (
                        p,
                        client,
                        Decimal(share) / 100,
                        points,
                        started,
                        last,
                        last + timedelta(GRACE),
                    )
                )
        return result


def apply_change(
    kind: str, e: Employee, c: ClientAccount, when: datetime, qualifying: bool
) -> None:
    """Apply one event through the real services; those they refuse change nothing."""
    try:
        if kind == "activity":
            tool, action = ("blog", "publish") if qualifying else ("blog", "view")
            activity_record(employee=e, client=c, at=when, tool=tool, action=action)
        elif kind == "assign":
            access.client_assign(employee=e, client=c, at=when)
        elif kind == "unassign":
            access.client_unassign(employee=e, client=c, at=when)
        elif kind == "seat_add":
            access.seat_add(employee=e, client=c, at=when)
        elif kind == "seat_remove":
            access.seat_remove(employee=e, client=c, at=when)
        elif kind == "deactivate":
            access.employee_deactivate(employee=e, at=when)
        elif kind == "reactivate":
            access.employee_reactivate(employee=e, at=when)
        elif kind == "remove_all":
            access.client_remove_all_employees(partner=e.partner, client=c, at=when)
        elif kind == "services_end":
            access.services_end(partner=e.partner, client=c, at=when)
        e.refresh_from_db()
    except ValidationError:
        pass  # e.g. unassigning what is not assigned: the reference ignores it too


class EngineMatchesReference(TestCase):
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(event, min_size=10, max_size=80))
    def test_engine_agrees_with_the_reference_day_by_day(self, events: list) -> None:
        ProgramSettings.objects.filter(pk=1).update(grace_days=GRACE)
        partners = {k: make_partner(k, joined="2026-01-01") for k in PARTNERS}
        employees = {k: make_employee(p, f"e@{k}.example") for k, p in partners.items()}
        clients = {
            h: make_client(h, amount, "USD", country) for h, (amount, country) in CLIENTS.items()
        }
        for e in employees.values():  # everyone starts fully set up; events perturb that
            for c in clients.values():
                give_access(e, c, "2026-02-01")
        seen = set()
        for day, minute, kind, pi, hub, qualifying in sorted(events, key=lambda e: (e[0], e[1])):
            if (day, minute) in seen:  # one thing per minute: no ties to order
                continue
            seen.add((day, minute))
            when = at(
                (
                    datetime.combine(START + timedelta(day), datetime.min.time())
                    + timedelta(minutes=minute)
                ).isoformat()
            )
            apply_change(kind, employees[PARTNERS[pi]], clients[hub], when, qualifying)

        for offset in range(DAYS):  # day by day: each refresh re-aggregates a day or two
            day = START + timedelta(days=offset)
            # "Why no credit?" before the day is computed: derived from the history alone.
            checks = {
                (p, h): credit_check(partner=partners[p], client=clients[h], day=day)
                for p in PARTNERS
                for h in CLIENTS
            }
            recompute_day(day=day)
            lines = self.lines_on(day)
            assert lines == self.expected_on(events, day), f"day {day}"
            relationships = {(p, c, started, last) for p, c, _, _, started, last, _ in lines}
            credit = {(p, c, last, until) for p, c, _, _, _, last, until in lines}
            earning = {
                (p, h, check.last_qualifying_activity, check.credit_until)
                for (p, h), check in checks.items()
                if check.earning
            }
            assert earning == credit, f"why no credit? on {day}"
            assert self.relationships_open_on(day) == relationships, f"relationships on {day}"
        # All days stale at once: the refresh takes its other path (a window over the range).
        mark_stale(since=START)
        for day in (START + timedelta(days=DAYS - 1), START + timedelta(days=DAYS // 2)):
            recompute_day(day=day)
            assert self.lines_on(day) == self.expected_on(events, day), f"day {day} (full)"

    def relationships_open_on(self, day: date) -> set:
        """The relationship history's spans open on `day` (SPEC §3.5)."""
        keys = dict(Partner.objects.values_list("pk", "key"))
        hubs = dict(ClientAccount.objects.values_list("pk", "hub_id"))
        return {
            (keys[s.partner_id], hubs[s.client_id], s.started_on, s.last_qualifying_on)
            for s in relationship_history(through=day)
            if s.started_on <= day and (s.ended_on is None or day < s.ended_on)
        }

    def lines_on(self, day: date) -> set:
        return {
            (
                x.partner.key,
                x.client.hub_id,
                x.share,
                x.points,
                x.relationship_started,
                x.last_qualifying_activity,
                x.credit_until,
            )
            for x in CreditLine.objects.published(day).select_related("partner", "client")
        }

    def expected_on(self, events: list, day: date) -> set:
        """Replay the reference up to the end of `day` (it is cheap) and read its lines."""
        everything = {(p, c) for p in PARTNERS for c in CLIENTS}
        ref = Reference(active=set(PARTNERS), assigned=set(everything), seated=set(everything))
        seen = set()
        for d, minute, kind, pi, hub, qualifying in sorted(events, key=lambda e: (e[0], e[1])):
            if (d, minute) in seen or START + timedelta(d) > day:
                continue
            seen.add((d, minute))
            p = PARTNERS[pi]
            self.reference_step(ref, kind, p, hub, START + timedelta(d), qualifying)
        return ref.lines(day)

    def reference_step(
        self, ref: Reference, kind: str, p: str, hub: str, day: date, qualifying: bool
    ) -> None:
        """The same event in the reference; state checks mirror what the services accept."""
        pair = (p, hub)
        if kind == "activity":
            if qualifying and ref.counts(p, hub):
                ref.activity(p, hub, day)
        elif kind == "assign":
            ref.assigned.add(pair)
        elif kind == "unassign":
            ref.assigned.discard(pair)
        elif kind == "seat_add":
            ref.seated.add(pair)
        elif kind == "seat_remove" and pair in ref.seated:
            ref.seated.discard(pair)
            ref.end(p, hub)  # one employee per partner: this is always the last seat
        elif kind == "deactivate":
            ref.active.discard(p)
        elif kind == "reactivate":
            ref.active.add(p)
        elif kind == "remove_all":
            ref.seated.discard(pair)
            ref.end(p, hub)
        elif kind == "services_end":
            ref.assigned.discard(pair)
            ref.end(p, hub)
