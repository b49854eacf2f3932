"""What each e-mail says: named reads over the published results, materialised.

Every read is about published, fresh days only: a day whose results a later change made stale
is never reported on (SPEC §3.11) — the e-mail waits for the recompute.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.functional import lazy
from django.utils.translation import gettext

from accounts.models import Assignment, ClientAccount, Partner, Seat
from credits.models import CreditLine, DayResult, RecomputeRun, Standing
from credits.models.results import warning_text
from credits.why_no_credit import credit_check
from notifications import upstream
from partnercredit.days import day_end

TIER_NOTICE_DAYS = 7  # a credited-tier change is announced within this many days of it


def report_day(*, before: date) -> date | None:
    """The latest published day before `before` (the day that just ended, normally)."""
    return (
        DayResult.objects.filter(day__lt=before)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )


@dataclass
class NotEarning:
    client: ClientAccount
    step: str
    detail: str


@dataclass
class Digest:
    partner: Partner
    day: date
    within: int
    ending: list[CreditLine]
    not_earning: list[NotEarning]
    standing: Standing | None
    outlook: Any | None = None

    @property
    def credited_tier(self) -> str:
        return getattr(self.standing, "credited_tier", "") if self.standing else ""


def credit_ending(*, partner: Partner, day: date, within: int) -> list[CreditLine]:
    """The partner's published lines of `day` whose credit ends within `within` days."""
    return list(
        CreditLine.objects.published(day)
        .filter(partner=partner, credit_until__lte=day + timedelta(days=within))
        .select_related("client", "last_employee")
        .order_by("credit_until", "client__hub_id")
    )


def _published_standing(partner: Partner, day: date) -> Standing | None:
    return Standing.objects.published(day).filter(partner=partner).first()


def not_earning(*, partner: Partner, day: date) -> list[NotEarning]:
    """Clients the partner has access to at the end of `day` (an assignment or a seat) that
    earn no managed credit on it, each with the first missing step of SPEC §3.10."""
    end = day_end(day)
    in_force = Q(start__lt=end) & (Q(end__isnull=True) | Q(end__gte=end))
    linked = Q(employee__partner=partner, client=OuterRef("pk"))
    earning = CreditLine.objects.published(day).filter(partner=partner).values("client_id")
    clients = (
        ClientAccount.objects.filter(
            Exists(Assignment.objects.filter(in_force, linked))
            | Exists(Seat.objects.filter(in_force, linked))
        )
        .exclude(pk__in=earning)
        .order_by("hub_id")
    )
    result = []
    for client in clients:
        check = credit_check(partner=partner, client=client, day=day)
        step = check.first_failing_step
        if not check.earning and step is not None:
            result.append(NotEarning(client, gettext(step.label), step.detail))
    return result


def digest(*, partner: Partner, day: date, within: int) -> Digest:
    """Everything of the weekly digest of one partner, as published for `day`."""
    return Digest(
        partner=partner,
        day=day,
        within=within,
        ending=credit_ending(partner=partner, day=day, within=within),
        not_earning=not_earning(partner=partner, day=day),
        standing=_published_standing(partner, day),
        outlook=upstream.keep_outlook(partner.pk, day),
    )


def tier_changes(*, partner: Partner, day: date, through: date) -> list[Any]:
    """The partner's credited-tier changes (earned or lowered) of the TIER_NOTICE_DAYS before
    `day`, up to `through`: the latest published day, which the caller has found fresh (a
    change before it is then fresh too — a stale day makes every later day stale)."""
    since = day - timedelta(days=TIER_NOTICE_DAYS)
    return [
        change
        for change in upstream.credited_history(partner.pk)
        if since <= change.day <= through and change.tier_from != change.tier_to
    ]


@dataclass
class RunProblems:
    day: date
    failed: list[RecomputeRun] = field(default_factory=list)
    stale: list[date] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.failed or self.stale)


def run_problems(*, day: date) -> RunProblems:
    """On `day`, after the nightly run: the days up to yesterday whose latest run failed in the
    last two days (not since recomputed), and the published days still stale."""
    through = day - timedelta(days=1)
    recent = RecomputeRun.objects.filter(created_at__gte=day_end(day - timedelta(days=3)))
    latest = {}
    for run in recent.filter(day__lte=through).order_by("day", "pk"):
        latest[run.day] = run
    failed = [run for run in latest.values() if run.status == RecomputeRun.Status.FAILED]
    return RunProblems(day=day, failed=failed, stale=upstream.stale_days(through=through))


def missing_rates(*, day: date) -> list[str]:
    """The warnings of the run published for `day` (missing currency rates), if it is fresh:
    lazy, so that each e-mail reads them in its recipient's language."""
    result = DayResult.objects.select_related("run").filter(day=day).first()
    if result is None or upstream.is_stale(day):
        return []
    return [_warning_text(warning) for warning in result.run.warnings or []]


_warning_text = lazy(warning_text, str)
