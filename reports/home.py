"""The home pages where login lands: a partner's morning page and program staff's overview.

A partner admin or client access manager sees their own partner only: the tiers held and
performed, progress to the next tier, points and MRR, what is at risk, what is not earning and
how to fix it, and the 90-day projection with a what-if. Program staff see the program.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, Count, F, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import ClientAccount, Partner
from credits import why_no_credit
from credits.models import CreditLine, CurrencyUnit, DayResult, RecomputeRun, Standing
from credits.projection import Projection, deals_counting, projection_compute
from credits.staleness import stale_days
from credits.standings import tiers_in_force
from partnercredit.days import yesterday
from reports import charts, queries

HISTORY_DAYS = 183  # six months of published history before the day
NOT_EARNING_DAYS = 60
MOVERS = 5


def at_risk_days() -> int:
    return getattr(settings, "AT_RISK_DAYS", queries.AT_RISK_DAYS)


# --- Money ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    currency: str
    amount: Decimal
    usd: Decimal | None  # through the units-per-point table of the day; None without a unit


def _units(day: date) -> dict[str, Decimal]:
    """Currency → units-per-point amount in force on `day`, in one query."""
    units: dict[str, Decimal] = {}
    rows = CurrencyUnit.objects.filter(valid_from__lte=day).order_by("currency", "valid_from")
    for currency, amount in rows.values_list("currency", "amount"):
        units[currency] = amount  # the latest valid_from wins
    return units


def _money(totals: dict[str, Decimal], day: date) -> list[Money]:
    units = _units(day)
    usd = units.get("USD")
    rows = []
    for currency in sorted(totals):
        unit = units.get(currency)
        in_usd = None if unit is None or usd is None else totals[currency] / unit * usd
        rows.append(
            Money(
                currency,
                totals[currency],
                None if in_usd is None else in_usd.quantize(Decimal("0.01")),
            )
        )
    return rows


def money_total_usd(rows: list[Money]) -> Decimal | None:
    amounts = [m.usd for m in rows]
    if any(a is None for a in amounts):
        return None
    return sum((a for a in amounts if a is not None), Decimal("0.00"))


def managed_mrr(lines: list[CreditLine], day: date) -> list[Money]:
    """The partner's shares of its clients' MRR on the day, per currency."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.currency] += line.share
    return _money(totals, day)


def sold_mrr(deals: list, day: date) -> list[Money]:
    """The MRR of the deals earning sold points on the day, per currency."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for deal in deals:
        totals[deal.currency] += deal.amount
    return _money(totals, day)


# --- Tier progress ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    next: queries.NextTier
    percent: int  # of the least-met minimum of the next tier
    minimums: list[queries.Minimum]


def tier_progress(standing: Standing, day: date) -> Progress:
    tiers = tiers_in_force(day)
    upcoming = queries.next_tier(tiers, standing)
    if upcoming.tier is None:
        return Progress(upcoming, 100, [])
    minimums = queries.tier_minimums(upcoming.tier, standing)
    ratios = [
        min(Decimal(1), Decimal(m.actual) / Decimal(m.required)) for m in minimums if m.required
    ]
    percent = int(min(ratios, default=Decimal(1)) * 100)
    return Progress(upcoming, percent, minimums)


# --- "Not earning — fix these" ---------------------------------------------------------------


@dataclass(frozen=True)
class Fix:
    row: why_no_credit.NotEarning
    label: str
    url: str


def _fix(row: why_no_credit.NotEarning, day: date, partner: Partner) -> Fix:
    employee, client = row.activity.employee, row.client
    prefill = f"?employee={employee.pk}&client_hub_id={client.hub_id}&client={client.pk}"
    why = (
        f"{reverse('reports:why')}?partner={partner.key}&client={client.hub_id}&date={day:%Y-%m-%d}"
    )
    if row.missing == why_no_credit.NOT_ACTIVE:
        url = reverse("admin:accounts_employee_change", args=[employee.pk])
        return Fix(row, _("Reactivate %(email)s") % {"email": employee.email}, url)
    if row.missing == why_no_credit.NOT_ASSIGNED:
        url = reverse("admin:accounts_assignment_add") + prefill
        label = _("Assign %(client)s to %(email)s") % {
            "client": client.hub_id,
            "email": employee.email,
        }
        return Fix(row, label, url)
    if row.missing == why_no_credit.NO_SEAT:
        url = reverse("admin:accounts_seat_add") + prefill
        label = _("Add a seat for %(email)s in %(client)s") % {
            "email": employee.email,
            "client": client.hub_id,
        }
        return Fix(row, label, url)
    if row.missing == why_no_credit.NOT_QUALIFYING:
        return Fix(row, _("See which actions qualify"), why)
    return Fix(row, _("See why"), why)


def fixes_by_step(*, partner: Partner, day: date) -> list[tuple[str, list[Fix]]]:
    grouped: dict[str, list[Fix]] = defaultdict(list)
    for row in why_no_credit.not_earning(partner=partner, day=day, days=NOT_EARNING_DAYS):
        grouped[row.missing].append(_fix(row, day, partner))
    return [(step, grouped[step]) for step in why_no_credit.MISSING_STEPS if grouped.get(step)]


# --- Projection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionView:
    projection: Projection
    chart: str
    candidates: list[ClientAccount]


def projection_view(*, partner: Partner, day: date, without_hub_ids: list[str]) -> ProjectionView:
    """The projection from `day` with the chosen clients removed, its chart over six months
    of history, and the clients a what-if may remove (the partner's lines of the day)."""
    own = list(
        CreditLine.objects.filter(run_id=queries_run_id(day), partner=partner)
        .select_related("client")
        .order_by("credit_until", "client__hub_id")
    )
    candidates = [line.client for line in own]
    chosen = [c.pk for c in candidates if c.hub_id in set(without_hub_ids)]
    projection = projection_compute(partner_id=partner.pk, day=day, without=chosen)
    history = queries.points_series(partner=partner, until=day, days=HISTORY_DAYS)
    ahead_day = projection.days[-1].day if projection.days else day
    chart = charts.projection_chart(history, projection.days, tiers_in_force(ahead_day), day)
    return ProjectionView(projection, chart, candidates)


def queries_run_id(day: date) -> int | None:
    return DayResult.objects.filter(day=day).values_list("run_id", flat=True).first()


# --- The partner's home ------------------------------------------------------------------------


def partner_home(*, partner: Partner, day: date, run_id: int, without: list[str]) -> dict:
    """Everything of the partner home page for a published day."""
    standing = Standing.objects.filter(run_id=run_id, partner=partner).first()
    lines = queries.partner_credit_lines(run_id=run_id, partner=partner)
    deals = deals_counting(partner_id=partner.pk, day=day)
    managed = managed_mrr(lines, day)
    sold = sold_mrr(deals, day)
    outlooks = queries.tier_outlooks(standings=[standing], day=day) if standing else {}
    return {
        "standing": standing,
        "outlook": outlooks.get(partner.pk),
        "progress": tier_progress(standing, day) if standing else None,
        "managed_mrr": managed,
        "managed_mrr_usd": money_total_usd(managed),
        "sold_mrr": sold,
        "sold_mrr_usd": money_total_usd(sold),
        "at_risk": queries.at_risk(lines, at_risk_days()),
        "at_risk_days": at_risk_days(),
        "fixes": fixes_by_step(partner=partner, day=day),
        "not_earning_days": NOT_EARNING_DAYS,
        "projection": projection_view(partner=partner, day=day, without_hub_ids=without),
        "without": without,
    }


# --- Program staff's home ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mover:
    partner: Partner
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before


def tier_counts(run_id: int, field: str) -> list[tuple[str, int]]:
    """(tier, partners) of a run's standings, by `field` (tier or credited_tier)."""
    rows = dict(
        Standing.objects.filter(run_id=run_id).values_list(field).annotate(n=Count("pk")).order_by()
    )
    ranked = [t.name for t in reversed(tiers_in_force(date.max))]
    return [(name, rows.get(name, 0)) for name in ranked] + [("", rows.get("", 0))]


def biggest_movers(*, day: date, run_id: int, days: int = 30, count: int = MOVERS) -> list[Mover]:
    """The partners whose total points changed most since `days` earlier (both ways)."""
    earlier = queries_run_id(day - timedelta(days=days))
    if earlier is None:
        return []
    before = dict(Standing.objects.filter(run_id=earlier).values_list("partner_id", "total_points"))
    after = dict(Standing.objects.filter(run_id=run_id).values_list("partner_id", "total_points"))
    zero = Decimal("0.00")
    changes = {p: after.get(p, zero) - before.get(p, zero) for p in set(before) | set(after)}
    chosen = sorted(changes, key=lambda p: (-abs(changes[p]), p))[:count]
    partners = Partner.objects.in_bulk(chosen)
    return [Mover(partners[p], before.get(p, zero), after.get(p, zero)) for p in chosen]


def last_nightly_run() -> RecomputeRun | None:
    return (
        RecomputeRun.objects.exclude(status__in=RecomputeRun.LIVE).order_by("-created_at").first()
    )


@dataclass(frozen=True)
class NightlyRun:
    run: RecomputeRun
    days_computed: int  # distinct days published in the 24 hours up to this run's end
    stale_days: int  # published ended days a later change made stale, still to recompute

    @property
    def duration(self) -> timedelta | None:
        if self.run.started_at and self.run.finished_at:
            return self.run.finished_at - self.run.started_at
        return None


def nightly_status() -> NightlyRun | None:
    """The latest finished run, how many days were computed around it, and the stale days
    left (`credits.staleness.stale_days`)."""
    run = last_nightly_run()
    if run is None:
        return None
    end = run.finished_at or run.created_at
    computed = (
        RecomputeRun.objects.filter(
            status=RecomputeRun.Status.SUCCEEDED,
            finished_at__gt=end - timedelta(hours=24),
            finished_at__lte=end,
        )
        .values("day")
        .distinct()
        .count()
    )
    return NightlyRun(run, computed, len(stale_days(through=yesterday())))


def staff_home(*, day: date, run_id: int) -> dict:
    return {
        "nightly": nightly_status(),
        "performance_counts": tier_counts(run_id, "tier"),
        "credited_counts": tier_counts(run_id, "credited_tier"),
        "movers": biggest_movers(day=day, run_id=run_id),
        "recalibration": recalibration_changes(day=day, run_id=run_id),
    }


RECALIBRATION_ROWS = 100


@dataclass(frozen=True)
class DueChange:
    partner: Partner
    outlook: queries.TierOutlook

    @property
    def falls(self) -> bool:
        """Whether the tier can no longer be kept: too few days left in the window."""
        o = self.outlook.outlook
        return o is not None and not o.secure and o.days_short > o.days_left


def recalibration_changes(*, day: date, run_id: int) -> dict:
    """Partners holding a tier above the one they perform at whose tier is not yet kept at the
    next recalibration (`credits.tiers`), those that can no longer keep it first."""
    tiers = tiers_in_force(day)
    ranks = {t.name: t.rank for t in tiers}

    def rank(field: str) -> Case:
        return Case(
            *[When(**{field: name}, then=Value(r)) for name, r in ranks.items()], default=Value(0)
        )

    standings = list(
        Standing.objects.filter(run_id=run_id)
        .exclude(credited_tier="")
        .annotate(held_rank=rank("credited_tier"), performing_rank=rank("tier"))
        .filter(held_rank__gt=F("performing_rank"))
        .select_related("partner")
        .order_by("partner__key")[: RECALIBRATION_ROWS * 4]
    )
    outlooks = queries.tier_outlooks(standings=standings, day=day)
    due = []
    for standing in standings:
        seen = outlooks.get(standing.partner_id)
        if seen is not None and seen.outlook is not None and not seen.outlook.secure:
            due.append(DueChange(standing.partner, seen))
    due.sort(key=lambda c: (not c.falls, c.partner.key))
    recalibration = next(iter(outlooks.values())).recalibration if outlooks else None
    return {"day": recalibration, "changes": due[:RECALIBRATION_ROWS]}
