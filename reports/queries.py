"""The reads behind the report pages. Each returns materialised rows, in a fixed number of queries.

Only the rows of the run published in `DayResult` for a day are "the results of that day".
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict, overload

from django.db.models import (
    Case,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import formats
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Assignment, ClientAccount, Employee, Partner, Seat
from accounts.selectors import partner_may_see_client
from credits.models import (
    Activity,
    CreditLine,
    DayResult,
    RecomputeRun,
    Standing,
    Tier,
    TierDay,
)
from credits.standings import tiers_in_force
from credits.tiers import Outlook, Rules
from partnercredit.days import day_end
from partnercredit.fields import Hundredths

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise, WithAnnotations

ZERO = Decimal("0.00")
COMPARE_DAYS = 30
AT_RISK_DAYS = 14
CHART_DAYS = 180


def latest_computed_day() -> date | None:
    """The most recent day with published results."""
    return DayResult.objects.order_by("-day").values_list("day", flat=True).first()


# --- Tier progress -------------------------------------------------------------------------


POINT_MINIMUMS = {
    "total points": _("total points"),
    "sold points": _("sold points"),
    "managed points": _("managed points"),
}


@dataclass
class Minimum:
    label: str  # the English name, also the key of the binding minimum (and in CSV exports)
    required: Decimal | int
    actual: Decimal | int
    is_points: bool
    window_days: int | None = None

    @property
    def title(self) -> str:
        """The label in the language of the page."""
        if self.label in POINT_MINIMUMS:
            return str(POINT_MINIMUMS[self.label])
        return gettext("qualifying activities in %(days)s days") % {"days": self.window_days}

    @property
    def met(self) -> bool:
        return self.actual >= self.required

    @property
    def gap(self) -> Decimal | int:
        return max(self.required - self.actual, 0)


def tier_minimums(tier: Tier, standing: Standing) -> list[Minimum]:
    """Each set minimum of `tier` against the partner's standing."""
    pairs: list[tuple[str, Decimal | int | None, Decimal | int, bool]] = [
        ("total points", tier.min_total_points, standing.total_points, True),
        ("sold points", tier.min_sold_points, standing.sold_points, True),
        ("managed points", tier.min_managed_points, standing.managed_points, True),
        (
            f"qualifying activities in {tier.activity_window_days} days",
            tier.min_activities,
            standing.activities_in(tier.activity_window_days),
            False,
        ),
    ]
    return [
        Minimum(label, req, act, pts, None if pts else tier.activity_window_days)
        for label, req, act, pts in pairs
        if req is not None
    ]


@dataclass
class NextTier:
    tier: Tier | None
    points_needed: Decimal | None
    binding: str
    binding_title: str = ""  # `binding` in the language of the page


def next_tier(tiers: list[Tier], standing: Standing) -> NextTier:
    """The next tier above the current one, the points still needed and the binding minimum.

    Sold and managed points both count towards the total, so the points needed are the larger of
    the total gap and the sum of the sold and managed gaps; the binding minimum is the one with
    the largest gap (the activity minimum when only activities are missing).
    """
    rank = next((t.rank for t in tiers if t.name == standing.tier), 0)
    above = [t for t in tiers if t.rank > rank]
    if not above:
        return NextTier(None, None, "")
    tier = above[0]
    gaps = {m.label: m for m in tier_minimums(tier, standing) if not m.met}
    points = {k: m.gap for k, m in gaps.items() if m.is_points}
    total_gap = points.get("total points", ZERO)
    other = points.get("sold points", ZERO) + points.get("managed points", ZERO)
    needed = max(total_gap, other, ZERO)
    if points:
        binding = max(points, key=lambda k: points[k])
    else:
        binding = next(iter(gaps), "")
    title = gaps[binding].title if binding else ""
    return NextTier(tier, Decimal(needed).quantize(Decimal("0.01")), binding, title)


# --- Program standings ---------------------------------------------------------------------


@dataclass
class StandingRow:
    standing: Standing
    next: NextTier
    change: Decimal | None  # total points against COMPARE_DAYS earlier; None if not computed
    outlook: "TierOutlook | None" = None  # set by the standings page, for the rows it shows

    @property
    def partner(self) -> Partner:
        return self.standing.partner


if TYPE_CHECKING:

    class _Compared(TypedDict):
        """What `standing_rows` annotates each standing with."""

        change: Decimal | None
        tier_rank: int

    ComparedStanding = WithAnnotations[Standing, _Compared]


class StandingRows(Sequence[StandingRow]):
    """Sorted standings seen as `StandingRow`s: a paginator slices the query, and only the
    rows of the slice are built (next tier and change), so a page costs the same at any size."""

    def __init__(self, standings: "QuerySet[ComparedStanding]", tiers: list[Tier]) -> None:
        self.standings, self.tiers = standings, tiers

    def _row(self, standing: "ComparedStanding") -> StandingRow:
        return StandingRow(standing, next_tier(self.tiers, standing), standing.change)

    # Not Sequence.count(value): the paginator calls count() without one, for a COUNT query.
    def count(self) -> int:  # type: ignore[override]
        return self.standings.count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> StandingRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[StandingRow]: ...
    def __getitem__(self, index: int | slice) -> StandingRow | list[StandingRow]:
        if isinstance(index, int):
            return self._row(self.standings[index])
        return [self._row(s) for s in self.standings[index]]

    def __iter__(self) -> Iterator[StandingRow]:
        return (self._row(s) for s in self.standings.iterator(chunk_size=2000))


def _tier_rank(tiers: list[Tier]) -> Case:
    return Case(*[When(tier=t.name, then=Value(t.rank)) for t in tiers], default=Value(0))


def _to_next(row: StandingRow) -> Decimal:
    return row.next.points_needed if row.next.points_needed is not None else Decimal(-1)


DB_SORTS: dict[str, F | Lower] = {
    "partner": F("partner__key"),
    "name": Lower("partner__name"),
    "managed": F("managed_points"),
    "sold": F("sold_points"),
    "total": F("total_points"),
    "tier": F("tier_rank"),
    "change": F("change"),
}


def standing_rows(
    *,
    day: date,
    run_id: int,
    partner: Partner | None = None,
    tier: str = "",
    q: str = "",
    sort: str = "partner",
) -> Sequence[StandingRow]:
    """The run's standings with the tier filter ('-' = no tier), a key/name search and a sort,
    each with its next tier and its change against COMPARE_DAYS earlier (None if not computed).
    """
    tiers = tiers_in_force(day)
    standings = Standing.objects.filter(run_id=run_id).select_related("partner")
    if partner is not None:
        standings = standings.filter(partner=partner)
    if tier == "-":
        standings = standings.filter(tier="")
    elif tier:
        standings = standings.filter(tier=tier)
    if q:
        standings = standings.filter(Q(partner__key__icontains=q) | Q(partner__name__icontains=q))
    earlier_run = (
        DayResult.objects.filter(day=day - timedelta(days=COMPARE_DAYS))
        .values_list("run_id", flat=True)
        .first()
    )
    change: Expression
    if earlier_run is None:
        change = Value(None, output_field=Hundredths())
    else:
        earlier = Standing.objects.filter(run_id=earlier_run, partner_id=OuterRef("partner_id"))
        change = ExpressionWrapper(
            F("total_points") - Coalesce(Subquery(earlier.values("total_points")[:1]), 0),
            output_field=Hundredths(),
        )
    standings = standings.annotate(change=change, tier_rank=_tier_rank(tiers))
    key, descending = sort.lstrip("-"), sort.startswith("-")
    if key == "to_next":  # needs each row's next tier: sorted here, over the filtered rows
        return sorted(StandingRows(standings, tiers), key=_to_next, reverse=descending)
    by = DB_SORTS.get(key, DB_SORTS["partner"])
    order = by.desc(nulls_last=True) if descending else by.asc(nulls_first=True)
    return StandingRows(standings.order_by(order, "partner__key"), tiers)


# --- Partner page --------------------------------------------------------------------------


def partner_credit_lines(*, run_id: int, partner: Partner) -> list[CreditLine]:
    """The partner's credit lines of a run, with client and last employee, by client."""
    return list(
        CreditLine.objects.filter(run_id=run_id, partner=partner)
        .select_related("client", "last_employee")
        .order_by("client__hub_id")
    )


def at_risk(lines: list[CreditLine], within: int = AT_RISK_DAYS) -> list[CreditLine]:
    """Lines whose credit ends within `within` days without new activity, soonest first."""
    return sorted((x for x in lines if x.at_risk(within)), key=lambda x: x.credit_until)


@dataclass
class EndedRelationship:
    client: ClientAccount
    started_on: date
    last_qualifying_on: date | None
    ended_on: date
    reason: "StrOrPromise"


REASON_LABELS = {
    "inactivity": _("No qualifying activity within the grace period"),
    "last_seat_removed": _("Last seat removed"),
    "all_employees_removed": _("All partner employees removed"),
    "services_ended": _("Services ended"),
    "partner_left": _("Partner left the program"),
}


def ended_relationships(*, partner: Partner, day: date) -> list[EndedRelationship]:
    """The partner's relationships ended on or before `day`, latest end first, with reason."""
    from credits.relationships import relationship_history

    spans = [
        (s, s.ended_on)
        for s in relationship_history(partner_ids=[partner.pk], through=day)
        if s.ended_on is not None and s.ended_on <= day
    ]
    clients = ClientAccount.objects.in_bulk({s.client_id for s, _on in spans})
    ended = [
        EndedRelationship(
            client=clients[s.client_id],
            started_on=s.started_on,
            last_qualifying_on=s.last_qualifying_on,
            ended_on=ended_on,
            reason=REASON_LABELS.get(s.end_reason or "", s.end_reason or ""),
        )
        for s, ended_on in spans
    ]
    return sorted(ended, key=lambda e: (e.ended_on, e.client.hub_id), reverse=True)


@dataclass
class PointsChange:
    client: ClientAccount
    before: Decimal | None
    after: Decimal | None

    @property
    def delta(self) -> Decimal:
        return (self.after or ZERO) - (self.before or ZERO)


@dataclass
class PointsChanges:
    start: date
    end: date
    start_computed: bool
    end_computed: bool
    new: list[PointsChange] = field(default_factory=list)
    lost: list[PointsChange] = field(default_factory=list)
    changed: list[PointsChange] = field(default_factory=list)

    @property
    def new_points(self) -> Decimal:
        return sum((c.delta for c in self.new), ZERO)

    @property
    def lost_points(self) -> Decimal:
        return sum((-c.delta for c in self.lost), ZERO)

    @property
    def changed_points(self) -> Decimal:
        return sum((c.delta for c in self.changed), ZERO)


def points_changes(*, partner: Partner, start: date, end: date) -> PointsChanges:
    """New, lost and changed managed points between the credit lines of two published days."""
    runs = dict(DayResult.objects.filter(day__in=[start, end]).values_list("day", "run_id"))
    result = PointsChanges(start, end, start in runs, end in runs)
    if start not in runs or end not in runs:
        return result
    lines = CreditLine.objects.filter(run_id__in=[runs[start], runs[end]], partner=partner)
    before: dict[int, Decimal | None] = {}
    after: dict[int, Decimal | None] = {}
    clients: dict[int, ClientAccount] = {}
    for line in lines.select_related("client"):
        (before if line.run_id == runs[start] else after)[line.client_id] = line.points
        clients[line.client_id] = line.client
    for client_id in sorted(clients, key=lambda c: clients[c].hub_id):
        change = PointsChange(clients[client_id], before.get(client_id), after.get(client_id))
        if client_id not in before:
            result.new.append(change)
        elif client_id not in after:
            result.lost.append(change)
        elif change.delta:
            result.changed.append(change)
    return result


def points_series(*, partner: Partner, until: date, days: int = CHART_DAYS) -> list[Standing]:
    """The partner's standings of published days in the `days` up to `until`, oldest first."""
    published = DayResult.objects.filter(day__gt=until - timedelta(days=days), day__lte=until)
    return list(
        Standing.objects.filter(partner=partner, run_id__in=published.values("run_id")).order_by(
            "day"
        )
    )


# --- Client page ---------------------------------------------------------------------------


def client_linked_to_partner(*, client: ClientAccount, partner: Partner) -> bool:
    """Whether the client is one the partner may see (`accounts.selectors`, as in the admin)."""
    return partner_may_see_client(partner=partner, client=client)


def client_credit_lines(
    *, run_id: int, client: ClientAccount, partner: Partner | None = None
) -> list[CreditLine]:
    """Every partner's credit line for the client in a run (one partner's when given)."""
    lines = CreditLine.objects.filter(run_id=run_id, client=client)
    if partner is not None:
        lines = lines.filter(partner=partner)
    return list(
        lines.select_related("partner", "last_employee").order_by(
            "relationship_started", "partner__key"
        )
    )


def employees_with_access(
    *, client: ClientAccount, day: date, partner: Partner | None = None
) -> list[Employee]:
    """Employees assigned to or seated in the client at the end of `day`."""
    end = day_end(day)
    in_force = Q(start__lt=end) & (Q(end__isnull=True) | Q(end__gte=end))
    assignments = Assignment.objects.filter(in_force, client=client, employee=OuterRef("pk"))
    seats = Seat.objects.filter(in_force, client=client, employee=OuterRef("pk"))
    employees = Employee.objects.filter(Exists(assignments) | Exists(seats))
    if partner is not None:
        employees = employees.filter(partner=partner)
    return list(employees.select_related("partner").order_by("partner__key", "email"))


RECENT_ACTIVITIES = 50


def recent_activities(
    *, client: ClientAccount, day: date, partner: Partner | None = None
) -> list[Activity]:
    """The client's latest activities up to the end of `day` (one partner's when given)."""
    rows = Activity.objects.filter(client=client, at__lt=day_end(day))
    if partner is not None:
        rows = rows.filter(partner=partner)
    return list(
        rows.select_related("employee", "client").order_by("-at", "-pk")[:RECENT_ACTIVITIES]
    )


def missing_rate_warnings(
    *, run: RecomputeRun, partner: Partner | None = None, client: ClientAccount | None = None
) -> list[str]:
    """The missing-rate warnings of a page: the run's own for a program-wide page; for one
    partner and/or client, only about the lines (and the partner's deals) the page includes,
    naming only that partner's clients."""
    if partner is None and client is None:
        return run.warning_texts
    lines = CreditLine.objects.filter(run=run, points__isnull=True)
    if partner is not None:
        lines = lines.filter(partner=partner)
    if client is not None:
        lines = lines.filter(client=client)
    by_currency: dict[str, list[str]] = {}
    for currency, hub_id in lines.order_by("currency", "client__hub_id").values_list(
        "currency", "client__hub_id"
    ):
        by_currency.setdefault(currency, []).append(hub_id)
    warnings = []
    for currency, hub_ids in by_currency.items():
        count = len(hub_ids)
        clients = ", ".join(hub_ids[:10]) + ("…" if count > 10 else "")
        named = " " + ngettext("(client %(clients)s)", "(clients %(clients)s)", count) % {
            "clients": clients
        }
        text = ngettext(
            "No units-per-point rate for %(currency)s on %(day)s: %(count)d credit line shown "
            "here has no points%(named)s.",
            "No units-per-point rate for %(currency)s on %(day)s: %(count)d credit lines shown "
            "here have no points%(named)s.",
            count,
        )
        named_here = named if partner is not None else ""
        warnings.append(
            text % {"currency": currency, "day": run.day, "count": count, "named": named_here}
        )
    return warnings


# --- The credited tier's outlook (docs/rules.md §7) ------------------------------------------


def _day(day: date) -> str:
    """A day in the short form of the page's language (ISO in English)."""
    return formats.date_format(day, "SHORT_DATE_FORMAT")


@dataclass(frozen=True)
class TierOutlook:
    """Both tiers of a partner on a day and what it must meet to keep the one it holds."""

    held: str
    performing: str
    outlook: Outlook | None

    @property
    def headline(self) -> str:
        performing = self.performing or gettext("no tier")
        if not self.held:
            return gettext("Holds no tier; performing at %(tier)s.") % {"tier": performing}
        if self.outlook:
            return gettext("Holds %(held)s until at least %(until)s; performing at %(tier)s.") % {
                "held": self.held,
                "until": _day(self.outlook.held_until),
                "tier": performing,
            }
        return gettext("Holds %(held)s; performing at %(tier)s.") % {
            "held": self.held,
            "tier": performing,
        }

    @property
    def recalibration(self) -> date | None:
        return self.outlook.recalibration if self.outlook else None

    @property
    def keep(self) -> str:
        """What the partner must meet, on how many more days of the window, to keep its tier."""
        o = self.outlook
        if o is None or not self.held:
            return ""
        values = {
            "tier": self.held,
            "day": _day(o.recalibration),
            "met": o.days_met,
            "needed": o.days_needed,
            "short": o.days_short,
            "left": o.days_left,
            "window": gettext("the review window %(start)s … %(end)s")
            % {"start": _day(o.window_start), "end": _day(o.recalibration)},
        }
        if o.protected:
            text = gettext("%(tier)s is protected at the %(day)s recalibration: it is kept.")
        elif o.days_short == 0:
            text = gettext(
                "%(tier)s is kept: its minimums were met on %(met)s days of %(window)s "
                "(%(needed)s needed)."
            )
        elif o.days_short <= o.days_left:
            text = gettext(
                "To keep %(tier)s: meet its minimums on %(short)s more of the %(left)s days left "
                "in %(window)s."
            )
        else:
            text = gettext(
                "%(tier)s cannot be kept at %(day)s: its minimums were met on %(met)s days of "
                "%(window)s, %(needed)s are needed and %(left)s are left."
            )
        return text % values


def tier_outlooks(*, standings: Sequence[Standing], day: date) -> dict[int, TierOutlook]:
    """partner id → TierOutlook for the given standings of `day`, in two queries whatever
    their number (the same reading as `credits.tiers.keep_outlook`).
    """
    ids = [s.partner_id for s in standings]
    rules = Rules.load()
    recalibration = rules.next_recalibration(day + timedelta(days=1))
    lo, _ = rules.review_window(recalibration)
    rows = {r.partner_id: r for r in TierDay.objects.filter(partner_id__in=ids, day=day)}
    met: dict[int, int] = {}
    window = TierDay.objects.filter(partner_id__in=ids, day__gte=lo, day__lte=day)
    for partner_id, names in window.values_list("partner_id", "met").iterator(chunk_size=5000):
        row = rows.get(partner_id)
        if row is not None and row.credited and row.credited in names:
            met[partner_id] = met.get(partner_id, 0) + 1
    result = {}
    for standing in standings:
        row = rows.get(standing.partner_id)
        outlook = None
        if row is not None:
            outlook = Outlook(
                tier=row.credited,
                recalibration=recalibration,
                window_start=lo,
                protected=rules.protected(earned_on=row.earned_on, recalibration=recalibration),
                days_met=met.get(standing.partner_id, 0),
                days_needed=rules.review_min_days,
                days_left=(recalibration - max(day, lo - timedelta(days=1))).days,
            )
        held = row.credited if row is not None else getattr(standing, "credited_tier", "")
        result[standing.partner_id] = TierOutlook(held, standing.tier, outlook)
    return result
