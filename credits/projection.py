"""The projection of a partner's points and tiers after a computed day (docs/rules.md §10).

Day D + k of the projection is what the engine would publish for D + k if no event arrived
after D. Everything the engine would read for those days is known on D:

1. Credit lines: the relationships open on D (the published lines of D, every partner's, of
   the clients this partner shares) stay open through their `credit_until`. The MRR in force
   on D is split again each day among those still open, in cents, the remainder by start day
   then numeric key order — as `credits.engine` does.
2. Rates: the units per point, the managed points per unit and the tiers in force on D + k
   (the tables are effective-dated, so a change already entered for a later day applies).
3. Deals: each counts until the last day of its window (`credits.standings.sold_window_start`),
   at its close-date rates.
4. Activities: no new ones; the trailing windows of the activity minimums lose their oldest
   days as the days pass.
5. Tiers: the performance tier from `credits.standings.tier_for`, the credited tier stepped
   one day at a time from D's by `credits.tiers` when it provides the stepping rule.

The arithmetic is in integer hundredths, with the engine's rounding, so every number equals a
recompute of that day.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext

from accounts.models import ClientAccount, Partner
from credits import tiers as rules_of
from credits.models import (
    CountedDay,
    CreditLine,
    CurrencyUnit,
    DayResult,
    Deal,
    GrowthMarket,
    PointsRate,
    ProgramSettings,
    Standing,
    Tier,
    TierDay,
)
from credits.sql import DEAL_POINTS, DEALS_WITH_RATES, fetch, points_hundredths
from credits.standings import (
    Totals,
    sold_window_start,
    tier_for,
    tier_minimums_met,
)
from partnercredit.fields import from_hundredths, to_hundredths

DEFAULT_DAYS = 90
NO_MULTIPLIER = 100  # hundredths: × 1


class ProjectionError(Exception):
    """The projection cannot be made (unknown partner or client, day never computed)."""


@dataclass(frozen=True)
class ProjectedDay:
    day: date
    managed_points: Decimal
    sold_points: Decimal
    total_points: Decimal
    tier: str
    credited_tier: str
    managed_clients: int
    activities: dict[int, int]


@dataclass(frozen=True)
class EndingCredit:
    """One of the partner's relationships open on D and the last day it earns without activity."""

    client: ClientAccount
    credit_until: date
    points: Decimal | None


@dataclass(frozen=True)
class SoldDeal:
    """A deal counting towards the sold points of a day."""

    client: ClientAccount
    closed_on: date
    kind: str
    amount: Decimal
    currency: str
    points: Decimal | None  # None: no rate in force on the close date
    last_day: date

    @property
    def kind_label(self) -> str:
        """ "Sourced" or "Assisted", in the language of the page."""
        return gettext(Deal.Kind(self.kind).label)


@dataclass
class Projection:
    partner: Partner
    day: date
    current: Standing | None
    days: list[ProjectedDay]
    ending: list[EndingCredit]
    without: list[ClientAccount] = field(default_factory=list)

    @cached_property
    def first_drop(self) -> ProjectedDay | None:
        """The first projected day whose performance tier is below the tier held on D."""
        if self.current is None or not self.current.tier:
            return None
        ranks = {t.name: t.rank for t in Tier.objects.all()}
        current = ranks.get(self.current.tier, 0)
        return next((d for d in self.days if ranks.get(d.tier, 0) < current), None)


# --- Inputs known on D ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    partner_id: int
    key: str
    client_id: int
    started: date
    credit_until: date
    mrr: int  # hundredths, in force on D
    currency: str
    country: str


def _published_run_id(day: date) -> int | None:
    return DayResult.objects.filter(day=day).values_list("run_id", flat=True).first()


def _lines(run_id: int, partner_id: int) -> list[_Line]:
    """Every partner's credit lines of D in the clients where `partner_id` has one."""
    clients = CreditLine.objects.filter(run_id=run_id, partner_id=partner_id).values("client_id")
    rows = (
        CreditLine.objects.filter(run_id=run_id, client_id__in=clients)
        .select_related("partner", "client")
        .only(
            "partner__key",
            "client__country",
            "client_id",
            "partner_id",
            "relationship_started",
            "credit_until",
            "mrr",
            "currency",
        )
    )
    return [
        _Line(
            x.partner_id,
            x.partner.key,
            x.client_id,
            x.relationship_started,
            x.credit_until,
            to_hundredths(x.mrr),
            x.currency,
            x.client.country,
        )
        for x in rows
    ]


class _Dated:
    """An effective-dated value per key: the row with the latest `valid_from` ≤ the day."""

    def __init__(self, rows: Iterable[tuple[str, date, int]]) -> None:
        self.rows: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for key, valid_from, value in rows:
            self.rows[key].append((valid_from, value))
        for values in self.rows.values():
            values.sort()

    def on(self, key: str, day: date) -> int | None:
        found = None
        for valid_from, value in self.rows.get(key, []):
            if valid_from > day:
                break
            found = value
        return found


def _units() -> _Dated:
    return _Dated(
        (c, v, to_hundredths(a))
        for c, v, a in CurrencyUnit.objects.values_list("currency", "valid_from", "amount")
    )


def _rates() -> _Dated:
    return _Dated(
        (k, v, to_hundredths(p))
        for k, v, p in PointsRate.objects.values_list("kind", "valid_from", "points_per_unit")
    )


def _multipliers() -> dict[str, int]:
    return {
        c: to_hundredths(m) for c, m in GrowthMarket.objects.values_list("country", "multiplier")
    }


def _key_order(key: str) -> tuple[int, str]:
    return (len(key), key)


def _points(share: int, unit: int | None, per_unit: int, multiplier: int) -> int | None:
    """Hundredths of points, rounded half-up as the engine's SQL does (all integers)."""
    if unit is None:
        return None
    return points_hundredths(amount=share, per_unit=per_unit, multiplier=multiplier, unit=unit)


def _shares(open_lines: list[_Line]) -> dict[int, int]:
    """partner id → share in hundredths of one client's MRR among the open lines."""
    ordered = sorted(open_lines, key=lambda x: (x.started, *_key_order(x.key)))
    mrr, sharing = ordered[0].mrr, len(ordered)
    base, remainder = divmod(mrr, sharing)
    return {x.partner_id: base + (1 if place < remainder else 0) for place, x in enumerate(ordered)}


# --- Sold points -----------------------------------------------------------------------------

_DEAL_POINTS = f"""
    SELECT d.id, {DEAL_POINTS}
    FROM {DEALS_WITH_RATES}
    WHERE d.partner_id = %(partner)s AND d.closed_on BETWEEN %(lo)s AND %(day)s
"""


def deals_counting(*, partner_id: int, day: date, through: date | None = None) -> list[SoldDeal]:
    """The partner's deals that earn sold points on `day` (or on any day up to `through`),
    with their points (the engine's formula, at close-date rates) and the last day each counts,
    latest close first."""
    months = ProgramSettings.load().sold_window_months
    lo = sold_window_start(day=day, months=months)
    points = dict(fetch(_DEAL_POINTS, {"partner": partner_id, "lo": lo, "day": through or day}))
    deals = Deal.objects.filter(pk__in=points).select_related("client").order_by("-closed_on", "pk")
    return [
        SoldDeal(
            client=d.client,
            closed_on=d.closed_on,
            kind=d.kind,
            amount=d.amount,
            currency=d.currency,
            points=None if points[d.pk] is None else from_hundredths(points[d.pk]),
            last_day=d.closed_on + relativedelta(months=months) - timedelta(days=1),
        )
        for d in deals
    ]


# --- The projection ----------------------------------------------------------------------------


def _activity_windows(
    partner_id: int, day: date, windows: set[int], days: int
) -> dict[date, dict[int, int]]:
    """Per projected day: window length → counted activities on its days up to D."""
    widest = max(windows)
    counts = _counted_per_day(partner_id, day - timedelta(days=widest - 1), day)
    result = {}
    for k in range(1, days + 1):
        target = day + timedelta(days=k)
        result[target] = {
            w: sum(n for d, n in counts.items() if target - timedelta(days=w - 1) <= d <= day)
            for w in windows
        }
    return result


def _counted_per_day(partner_id: int, lo: date, hi: date) -> dict[date, int]:
    totals: dict[date, int] = defaultdict(int)
    for counted_day, activities in CountedDay.objects.filter(
        partner_id=partner_id, day__gte=lo, day__lte=hi
    ).values_list("day", "activities"):
        totals[counted_day] += activities
    return totals


def _tiers_by_day(day: date, days: int) -> dict[date, list[Tier]]:
    """`tiers_in_force` of each projected day, from one read of the tier table."""
    rows = list(Tier.objects.order_by("valid_from"))
    result = {}
    for k in range(1, days + 1):
        target = day + timedelta(days=k)
        latest: dict[str, Tier] = {}
        for tier in rows:
            if tier.valid_from <= target:
                latest[tier.name] = tier
        result[target] = sorted(latest.values(), key=lambda t: t.rank)
    return result


def _credited_tiers(
    *,
    partner_id: int,
    day: date,
    performance: list[tuple[date, str, list[str]]],
    tiers_by_day: dict[date, list[Tier]],
) -> list[str]:
    """The credited tier of each projected day, stepped one day at a time from the one held
    at the end of D by the rule the engine uses (`credits.tiers.credited_step`); on a
    recalibration day the review window counts D's stored days and the projected ones."""
    rules = rules_of.Rules.load()
    row = TierDay.objects.filter(partner_id=partner_id, day=day).first()
    held = rules_of.Held(row.credited, row.earned_on) if row else rules_of.Held()
    recalibrations = [t for t, _, _ in performance if rules.is_recalibration(t)]
    lo = min((rules.review_window(r)[0] for r in recalibrations), default=day)
    met_by_day: dict[date, list[str]] = dict(
        TierDay.objects.filter(partner_id=partner_id, day__gte=lo, day__lte=day).values_list(
            "day", "met"
        )
    )
    credited = []
    for target, tier, met in performance:
        met_by_day[target] = met
        window = None
        if rules.is_recalibration(target):
            first, _ = rules.review_window(target)
            window = Counter(
                name for d, names in met_by_day.items() if first <= d <= target for name in names
            )
        ranks = rules_of.tier_ranks(tiers_by_day[target])
        held, _ = rules_of.credited_step(
            held=held,
            day=target,
            performance=tier,
            ranks=ranks,
            rules=rules,
            window_days_met=window,
        )
        credited.append(held.tier)
    return credited


def projection_compute(
    *, partner_id: int, day: date, days: int = DEFAULT_DAYS, without: Iterable[int] = ()
) -> Projection:
    """The partner's projection for D + 1 … D + `days` from the published day `day`.

    `without`: client ids whose relationships with the partner end on `day` (the what-if).
    Raises ProjectionError when `day` was never computed.
    """
    partner = Partner.objects.get(pk=partner_id)
    run_id = _published_run_id(day)
    if run_id is None:
        raise ProjectionError(f"{day} has not been computed.")
    removed = set(without)
    lines = [
        x
        for x in _lines(run_id, partner_id)
        if not (x.partner_id == partner_id and x.client_id in removed)
    ]
    by_client: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_client[line.client_id].append(line)
    own = [x for x in lines if x.partner_id == partner_id]
    units, rates, multipliers = _units(), _rates(), _multipliers()
    current = Standing.objects.filter(run_id=run_id, partner_id=partner_id).first()
    months = ProgramSettings.load().sold_window_months
    deals = deals_counting(partner_id=partner_id, day=day + timedelta(days=1), through=day)
    tiers_by_day = _tiers_by_day(day, days)
    windows = {30} | {
        t.activity_window_days for ts in tiers_by_day.values() for t in ts if t.min_activities
    }
    activity = _activity_windows(partner_id, day, windows, days)

    projected: list[tuple[date, int, int, int, dict[int, int]]] = []
    split: dict[tuple[_Line, ...], dict[int, int]] = {}
    for k in range(1, days + 1):
        target = day + timedelta(days=k)
        per_unit = rates.on(PointsRate.Kind.MANAGED, target) or 0
        managed, clients = 0, 0
        for line in own:
            if line.credit_until < target:
                continue
            still_open = tuple(x for x in by_client[line.client_id] if x.credit_until >= target)
            if still_open not in split:  # the shares change only when a line ends
                split[still_open] = _shares(list(still_open))
            share = split[still_open][partner_id]
            points = _points(
                share,
                units.on(line.currency, target),
                per_unit,
                multipliers.get(line.country, NO_MULTIPLIER),
            )
            managed += points or 0
            clients += 1
        sold_lo = sold_window_start(day=target, months=months)
        sold = sum(
            to_hundredths(d.points)
            for d in deals
            if d.points is not None and d.closed_on >= sold_lo
        )
        projected.append((target, managed, sold, clients, activity[target]))

    performance = []
    for target, managed, sold, _, counts in projected:
        totals = Totals(from_hundredths(managed), from_hundredths(sold), counts)
        in_force = tiers_by_day[target] if current else []
        met = [t.name for t in in_force if tier_minimums_met(t, totals)]
        performance.append((target, tier_for(totals, in_force), met))
    credited = _credited_tiers(
        partner_id=partner_id, day=day, performance=performance, tiers_by_day=tiers_by_day
    )
    result_days = [
        ProjectedDay(
            day=target,
            managed_points=from_hundredths(managed),
            sold_points=from_hundredths(sold),
            total_points=from_hundredths(managed + sold),
            tier=tier,
            credited_tier=held,
            managed_clients=clients,
            activities=counts,
        )
        for (target, managed, sold, clients, counts), (_, tier, _), held in zip(
            projected, performance, credited, strict=True
        )
    ]
    clients_by_id = ClientAccount.objects.in_bulk({x.client_id for x in own} | removed)
    points_on_d = dict(
        CreditLine.objects.filter(run_id=run_id, partner_id=partner_id).values_list(
            "client_id", "points"
        )
    )
    ending = sorted(
        (
            EndingCredit(clients_by_id[x.client_id], x.credit_until, points_on_d.get(x.client_id))
            for x in own
        ),
        key=lambda e: (e.credit_until, e.client.hub_id),
    )
    return Projection(
        partner=partner,
        day=day,
        current=current,
        days=result_days,
        ending=ending,
        without=[clients_by_id[c] for c in sorted(removed) if c in clients_by_id],
    )
