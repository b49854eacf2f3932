"""Standings: a partner's managed, sold and total points and tier on a day (SPEC §3.7–3.9)."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext_noop

from accounts.models import Partner
from credits.models import ProgramSettings, RecomputeRun, Standing, Tier
from credits.sql import DEAL_POINTS, DEALS_WITH_RATES, fetch
from partnercredit.fields import from_hundredths


def sold_window_start(*, day: date, months: int) -> date:
    """The earliest close date whose deal still earns sold points on `day`.

    A deal closed on C counts on C … C + months − 1 day (2026-01-15 → 2027-01-14).
    """
    candidate = day - relativedelta(months=months) - timedelta(days=4)
    while candidate + relativedelta(months=months) <= day:
        candidate += timedelta(days=1)
    return candidate


_SOLD_POINTS = f"""
    SELECT d.partner_id, SUM({DEAL_POINTS}),
           SUM(CASE WHEN u.amount IS NULL OR r.points_per_unit IS NULL THEN 1 ELSE 0 END)
    FROM {DEALS_WITH_RATES}
    WHERE d.closed_on BETWEEN %(sold_lo)s AND %(day)s
    GROUP BY d.partner_id
"""

_MANAGED_POINTS = """
    SELECT partner_id, SUM(points), COUNT(*), SUM(CASE WHEN points IS NULL THEN 1 ELSE 0 END)
    FROM credits_creditline WHERE run_id = %(run)s AND day = %(day)s GROUP BY partner_id
"""

_ACTIVITY_COUNT = """
    SELECT partner_id, SUM(activities) FROM credits_countedday
    WHERE day BETWEEN %(lo)s AND %(day)s GROUP BY partner_id
"""


@dataclass(frozen=True)
class Totals:
    managed: Decimal
    sold: Decimal
    activities: dict[int, int]  # window days → counted qualifying activities

    @property
    def total(self) -> Decimal:
        return self.managed + self.sold


def tiers_in_force(day: date) -> list[Tier]:
    """Each tier's definition in force on `day` (its latest `valid_from`), lowest rank first."""
    latest: dict[str, Tier] = {}
    for tier in Tier.objects.filter(valid_from__lte=day).order_by("valid_from"):
        latest[tier.name] = tier
    return sorted(latest.values(), key=lambda t: t.rank)


def tier_minimums_met(tier: Tier, totals: Totals) -> bool:
    checks = [
        (tier.min_total_points, totals.total),
        (tier.min_sold_points, totals.sold),
        (tier.min_managed_points, totals.managed),
    ]
    if any(minimum is not None and value < minimum for minimum, value in checks):
        return False
    if tier.min_activities is not None:
        return totals.activities.get(tier.activity_window_days, 0) >= tier.min_activities
    return True


def tier_for(totals: Totals, tiers: list[Tier]) -> str:
    """The highest tier whose every set minimum is met; '' when none is."""
    return next((t.name for t in reversed(tiers) if tier_minimums_met(t, totals)), "")


def _activity_counts(day: date, windows: set[int]) -> dict[int, dict[int, int]]:
    """Per window length: partner id → counted qualifying activities on days D−W+1 … D."""
    return {
        w: dict(fetch(_ACTIVITY_COUNT, {"lo": day - timedelta(days=w - 1), "day": day}))
        for w in windows
    }


NO_UNIT = gettext_noop(
    "No units-per-point rate for %(currency)s on %(day)s: %(count)d credit line(s) have no points."
)
DEALS_NO_RATE = gettext_noop("%(count)d deal(s) have no rate in force on their close date.")


def _missing_rate_warnings(run: RecomputeRun, sold_missing: int) -> list[dict]:
    """Stored as a message and its values (`RecomputeRun.warning_texts` reads them in the
    reader's language)."""
    day = run.day.isoformat()
    warnings = [
        {"message": NO_UNIT, "values": {"currency": currency, "day": day, "count": n}}
        for currency, n in fetch(
            "SELECT currency, COUNT(*) FROM credits_creditline"
            " WHERE run_id = %(run)s AND day = %(day)s AND points IS NULL"
            " GROUP BY currency ORDER BY currency",
            {"run": run.pk, "day": run.day},
        )
    ]
    if sold_missing:
        warnings.append({"message": DEALS_NO_RATE, "values": {"count": sold_missing}})
    return warnings


@dataclass
class DayStandings:
    standings: list[Standing]
    met: dict[int, list[str]]  # partner id → names of the tiers whose minimums it met
    tiers: list[Tier]  # in force on the day, lowest rank first
    warnings: list[dict]


def standings_compute(*, run: RecomputeRun) -> DayStandings:
    """Standings of every partner in the program on the run's day (from the run's credit
    lines, the deals in their sold window and the counted activities), the tiers each met,
    and the warnings. The credited tier is left for the engine to derive."""
    day = run.day
    tiers = tiers_in_force(day)
    windows = {30} | {t.activity_window_days for t in tiers if t.min_activities is not None}
    managed = {
        p: (m, n, missing)
        for p, m, n, missing in fetch(_MANAGED_POINTS, {"run": run.pk, "day": day})
    }
    sold_lo = sold_window_start(day=day, months=ProgramSettings.load().sold_window_months)
    sold = {
        p: (s, missing) for p, s, missing in fetch(_SOLD_POINTS, {"sold_lo": sold_lo, "day": day})
    }
    activities = _activity_counts(day, windows)
    partners = Partner.objects.in_program(day)
    standings, met = [], {}
    for partner_id in partners.values_list("pk", flat=True):
        managed_h, lines, missing = managed.get(partner_id, (0, 0, 0))
        sold_h = sold.get(partner_id, (0, 0))[0] or 0
        totals = Totals(
            managed=from_hundredths(managed_h or 0),
            sold=from_hundredths(sold_h),
            activities={w: counts.get(partner_id, 0) for w, counts in activities.items()},
        )
        met[partner_id] = [t.name for t in tiers if tier_minimums_met(t, totals)]
        standings.append(
            Standing(
                run=run,
                day=day,
                partner_id=partner_id,
                managed_points=totals.managed,
                sold_points=totals.sold,
                total_points=totals.total,
                managed_clients=lines,
                qualifying_activities=totals.activities[30],
                activities_by_window={str(w): n for w, n in totals.activities.items()},
                tier=tier_for(totals, tiers),
                missing_rate=bool(missing),
            )
        )
    warnings = _missing_rate_warnings(run, sum(m for _, m in sold.values()))
    return DayStandings(standings=standings, met=met, tiers=tiers, warnings=warnings)
