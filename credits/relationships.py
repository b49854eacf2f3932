"""The history of managed relationships (SPEC §3.5): start, end and reason of each.

Derived from what the engine keeps: the counted days that start a relationship, the last
counted day before the next start, and the immediate-end actions. Valid for computed days.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from accounts.models import RelationshipEnd
from credits.models import CountedDay, ProgramSettings
from partnercredit.days import program_day

INACTIVITY = "inactivity"


@dataclass(frozen=True)
class RelationshipSpan:
    partner_id: int
    client_id: int
    started_on: date
    last_qualifying_on: date
    ended_on: date | None  # the first day without credit; None while open
    end_reason: str | None  # "inactivity" or a RelationshipEnd.Reason value

    @property
    def credit_until(self) -> date | None:
        return None if self.ended_on is None else self.ended_on - timedelta(days=1)


def _end_of_run(
    last_day: date, last_at: datetime, ends: list[RelationshipEnd], grace: int, through: date
) -> tuple[date | None, str | None]:
    lapse = last_day + timedelta(days=grace + 1)
    action = next((e for e in ends if e.at >= last_at), None)
    if action is not None and program_day(action.at) < lapse and program_day(action.at) <= through:
        return program_day(action.at), action.reason
    if lapse <= through:
        return lapse, INACTIVITY
    return None, None


def relationship_history(
    *,
    partner_ids: list[int] | None = None,
    client_ids: list[int] | None = None,
    through: date,
) -> list[RelationshipSpan]:
    """Every relationship of the given partners and/or clients up to `through`, oldest first."""
    days = CountedDay.objects.filter(day__lte=through).order_by("partner_id", "client_id", "day")
    ends = RelationshipEnd.objects.order_by("at")
    if partner_ids is not None:
        days = days.filter(partner_id__in=partner_ids)
        ends = ends.filter(partner_id__in=partner_ids)
    if client_ids is not None:
        days = days.filter(client_id__in=client_ids)
    ends_by_pair: dict[tuple[int, int | None], list[RelationshipEnd]] = defaultdict(list)
    for end in ends:
        ends_by_pair[(end.partner_id, end.client_id)].append(end)
    grace = ProgramSettings.load().grace_days

    runs: dict[tuple[int, int], list[list]] = defaultdict(list)
    for partner_id, client_id, day, last_at, starts in days.values_list(
        "partner_id", "client_id", "day", "last_at", "starts_run"
    ):
        pair_runs = runs[(partner_id, client_id)]
        if starts or not pair_runs:
            pair_runs.append([day, day, last_at])
        else:
            pair_runs[-1][1:] = [day, last_at]

    spans = []
    for (partner_id, client_id), pair_runs in runs.items():
        pair_ends = sorted(
            ends_by_pair[(partner_id, client_id)] + ends_by_pair[(partner_id, None)],
            key=lambda e: e.at,
        )
        for started, last_day, last_at in pair_runs:
            ended_on, reason = _end_of_run(last_day, last_at, pair_ends, grace, through)
            spans.append(
                RelationshipSpan(partner_id, client_id, started, last_day, ended_on, reason)
            )
    return sorted(spans, key=lambda s: (s.started_on, s.partner_id, s.client_id))
