"""The credited tier: the tier a partner holds (SPEC §3.12).

The performance tier of a day (SPEC §3.9) is the highest tier whose minimums are met that day.
The credited tier rises on the first day the performance tier is above it, and falls only on a
recalibration day, judged on its review window. It depends on every earlier day, so the engine
keeps a `TierDay` per partner and day for every day up to the latest it computed, and derives
the days it lacks itself (`history_through`) instead of trusting what was published.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.db.models import Exists, OuterRef

from credits.models import DataChange, ProgramSettings, TierDay, TierHistory
from credits.models import Tier as TierRule

Reason = TierDay.Reason


@dataclass(frozen=True)
class Rules:
    """The numbers of SPEC §3.12, from `ProgramSettings`."""

    recalibration_days: tuple[tuple[int, int], ...]  # (month, day), sorted
    protection_months: int
    review_offset_months: int
    review_min_days: int

    @classmethod
    def load(cls) -> "Rules":
        s = ProgramSettings.load()
        return cls(
            recalibration_days=tuple(s.recalibration_month_days),
            protection_months=s.protection_months,
            review_offset_months=s.review_offset_months,
            review_min_days=s.review_min_days,
        )

    def recalibrations(self, year: int) -> list[date]:
        return [_clamped(year, month, day) for month, day in self.recalibration_days]

    def is_recalibration(self, day: date) -> bool:
        return day in self.recalibrations(day.year)

    def next_recalibration(self, day: date) -> date:
        """The first recalibration day on or after `day`."""
        return min(r for y in (day.year, day.year + 1) for r in self.recalibrations(y) if r >= day)

    def previous_recalibration(self, day: date) -> date:
        """The last recalibration day strictly before `day`."""
        return max(r for y in (day.year - 1, day.year) for r in self.recalibrations(y) if r < day)

    def review_window(self, recalibration: date) -> tuple[date, date]:
        """From one month (configurable) after the previous recalibration day through this one."""
        start = self.previous_recalibration(recalibration) + relativedelta(
            months=self.review_offset_months
        )
        return start, recalibration

    def protected(self, *, earned_on: date | None, recalibration: date) -> bool:
        """Earned less than the protection months before the recalibration day."""
        if earned_on is None:
            return False
        return earned_on > recalibration - relativedelta(months=self.protection_months)


def _clamped(year: int, month: int, day: int) -> date:
    """Feb 29 in a year without one is Feb 28."""
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, 28)


@dataclass(frozen=True)
class Held:
    """A partner's credited tier at the end of a day, and when it was earned."""

    tier: str = ""
    earned_on: date | None = None


def credited_step(
    *,
    held: Held,
    day: date,
    performance: str,
    ranks: dict[str, int],
    rules: Rules,
    window_days_met: Counter[str] | None = None,
) -> tuple[Held, str]:
    """The credited tier at the end of `day` from the one held the day before (SPEC §3.12).

    On a recalibration day `window_days_met` counts, per tier, the days of the review window
    (this day included) on which its minimums were met. Returns the tier held and the reason
    of the day ('' when nothing happened).
    """
    reason = ""
    if rules.is_recalibration(day) and held.tier:
        held, reason = _recalibrate(held, day, ranks, rules, window_days_met or Counter())
    if ranks.get(performance, -1) > ranks.get(held.tier, -1):
        return Held(tier=performance, earned_on=day), Reason.EARNED
    return held, reason


def _recalibrate(
    held: Held, day: date, ranks: dict[str, int], rules: Rules, met: Counter[str]
) -> tuple[Held, str]:
    if rules.protected(earned_on=held.earned_on, recalibration=day):
        return held, Reason.PROTECTED
    if met[held.tier] >= rules.review_min_days:
        return held, Reason.WINDOW
    rank = ranks.get(held.tier, -1)
    kept = [t for t, r in ranks.items() if r <= rank and met[t] >= rules.review_min_days]
    lowered = max(kept, key=ranks.__getitem__, default="")
    return Held(tier=lowered, earned_on=held.earned_on if lowered else None), Reason.LOWERED


def tier_ranks(tiers: Iterable[TierRule]) -> dict[str, int]:
    return {t.name: t.rank for t in tiers}


# --- The stored history --------------------------------------------------------------------------


def tiers_derive(
    *,
    day: date,
    performance: dict[int, str],
    met: dict[int, list[str]],
    version: int,
    ranks: dict[str, int],
) -> dict[int, str]:
    """Store the `TierDay` rows of `day` from its performance and the day before's credited
    tiers; return partner id → credited tier. Needs the rows of `day − 1` (and, on a
    recalibration day, of its review window) to be current."""
    rules = Rules.load()
    before = {
        p: Held(tier, earned)
        for p, tier, earned in TierDay.objects.filter(day=day - timedelta(days=1)).values_list(
            "partner_id", "credited", "earned_on"
        )
    }
    window = _window_days_met(day, rules, met) if rules.is_recalibration(day) else {}
    rows, credited = [], {}
    for partner_id, tier in performance.items():
        held = before.get(partner_id, Held())
        new, reason = credited_step(
            held=held,
            day=day,
            performance=tier,
            ranks=ranks,
            rules=rules,
            window_days_met=window.get(partner_id),
        )
        credited[partner_id] = new.tier
        rows.append(
            TierDay(
                partner_id=partner_id,
                day=day,
                met=met.get(partner_id, []),
                performance=tier,
                credited=new.tier,
                credited_before=held.tier,
                earned_on=new.earned_on,
                reason=reason,
            )
        )
    TierDay.objects.filter(day=day).delete()
    TierDay.objects.bulk_create(rows, batch_size=2000)
    TierHistory.objects.update_or_create(day=day, defaults={"data_version": version})
    return credited


def _window_days_met(
    day: date, rules: Rules, today: dict[int, list[str]]
) -> dict[int, Counter[str]]:
    """Per partner: on how many days of `day`'s review window each tier's minimums were met."""
    lo, _ = rules.review_window(day)
    counts: dict[int, Counter[str]] = {p: Counter(names) for p, names in today.items()}
    rows = TierDay.objects.filter(day__gte=lo, day__lt=day).values_list("partner_id", "met")
    for partner_id, names in rows.iterator(chunk_size=10_000):
        counts.setdefault(partner_id, Counter()).update(names)
    return counts


def first_underived_day(*, first: date, last: date) -> date | None:
    """The first day of `first` … `last` whose tier rows are missing or were derived before a
    change that affects them."""
    if last < first:
        return None
    marks = TierHistory.objects.filter(day__range=(first, last))
    later = DataChange.objects.filter(
        pk__gt=OuterRef("data_version"), first_day__lte=OuterRef("day")
    )
    stale = marks.filter(Exists(later)).order_by("day").values_list("day", flat=True).first()
    derived = set(marks.values_list("day", flat=True))
    missing = next(
        (
            first + timedelta(days=n)
            for n in range((last - first).days + 1)
            if first + timedelta(days=n) not in derived
        ),
        None,
    )
    return min((d for d in (stale, missing) if d is not None), default=None)


# --- Reads for the reports and notifications ---------------------------------------------------


def next_recalibration(day: date) -> date:
    """The first recalibration day after `day`."""
    return Rules.load().next_recalibration(day + timedelta(days=1))


@dataclass(frozen=True)
class TierChange:
    day: date
    tier_from: str
    tier_to: str
    reason: str

    @property
    def reason_label(self) -> str:
        return Reason(self.reason).label


def credited_history(partner_id: int, *, through: date | None = None) -> list[TierChange]:
    """Every day the partner's credited tier was earned, kept at a recalibration or lowered."""
    rows = TierDay.objects.filter(partner_id=partner_id).exclude(reason="").order_by("day")
    if through is not None:
        rows = rows.filter(day__lte=through)
    return [
        TierChange(day=r.day, tier_from=r.credited_before, tier_to=r.credited, reason=r.reason)
        for r in rows
    ]


@dataclass(frozen=True)
class Outlook:
    """What a partner must do to keep its credited tier at the next recalibration."""

    tier: str
    recalibration: date
    window_start: date
    protected: bool  # earned recently enough to be kept whatever the window says
    days_met: int  # days of the window so far on which the tier's minimums were met
    days_needed: int
    days_left: int  # days of the window still to come after `day`

    @property
    def days_short(self) -> int:
        return max(self.days_needed - self.days_met, 0)

    @property
    def secure(self) -> bool:
        return not self.tier or self.protected or self.days_short == 0

    @property
    def held_until(self) -> date:
        """The credited tier is held at least until this day."""
        if self.secure:
            return Rules.load().next_recalibration(self.recalibration + timedelta(days=1))
        return self.recalibration


def keep_outlook(partner_id: int, day: date) -> Outlook | None:
    """The partner's outlook at the next recalibration, from its tier rows through `day`."""
    row = TierDay.objects.filter(partner_id=partner_id, day=day).first()
    if row is None:
        return None
    rules = Rules.load()
    recalibration = rules.next_recalibration(day + timedelta(days=1))
    lo, _ = rules.review_window(recalibration)
    met = 0
    if row.credited:
        window = TierDay.objects.filter(partner_id=partner_id, day__gte=lo, day__lte=day)
        met = sum(1 for names in window.values_list("met", flat=True) if row.credited in names)
    return Outlook(
        tier=row.credited,
        recalibration=recalibration,
        window_start=lo,
        protected=rules.protected(earned_on=row.earned_on, recalibration=recalibration),
        days_met=met,
        days_needed=rules.review_min_days,
        days_left=(recalibration - max(day, lo - timedelta(days=1))).days,
    )
