"""What the credit engine computes and stores, per day (SPEC §3, §4)."""

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext

from accounts.models import ClientAccount, Employee, Partner
from partnercredit import days
from partnercredit.fields import Hundredths, unchecked_key


class EngineState(models.Model):
    """The single row that says which days of `CountedDay` are stale.

    Days before `dirty_from` are up to date; any change to activities, access or the catalogue
    moves `dirty_from` back to the first day it touches.
    """

    dirty_from = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Stale from {self.dirty_from}" if self.dirty_from else "Up to date"


class DataChange(models.Model):
    """A write that affects every day from `first_day` on (SPEC §3.11): published days from
    then on computed before it are stale. Written once per change (once per import)."""

    first_day = models.DateField()
    what = models.CharField(max_length=300)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["first_day", "id"], name="data_change_by_day")]

    def __str__(self) -> str:
        return f"{self.what} (affects {self.first_day} on)"


class CountedDay(models.Model):
    """Per (partner, client, day): the counted qualifying activities — a pre-aggregation.

    `starts_run` is true on the first day of a managed relationship: no counted day within
    the grace period before it, or an immediate end since the previous counted activity.
    """

    # A derived table, written only by the refresh from the rows these name: no database
    # foreign keys (three deferred checks a row at commit) and no single-column indexes (the
    # composite ones below lead with partner and with client; nothing reads by employee).
    partner = unchecked_key(Partner, on_delete=models.CASCADE)
    client = unchecked_key(ClientAccount, on_delete=models.CASCADE)
    day = models.DateField()
    activities = models.PositiveIntegerField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    last_employee = unchecked_key(Employee, on_delete=models.CASCADE)
    starts_run = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "client", "day"], name="counted_day_unique")
        ]
        indexes = [
            models.Index(fields=["day", "partner", "client"], name="counted_day_by_day"),
            models.Index(
                fields=["partner", "client", "day"],
                condition=Q(starts_run=True),
                name="counted_day_run_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}/{self.client_id} {self.day}: {self.activities}"


def warning_text(warning: dict | str) -> str:
    """A run warning in the active language: stored as a message and its values (runs from
    before revision 2 stored English text)."""
    if isinstance(warning, str):
        return warning
    return gettext(warning["message"]) % warning["values"]


class RecomputeRun(models.Model):
    """One computation of one day. At most one is queued or running per day."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PUBLISHING = "publishing", "Publishing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        TIERS = "tiers", "Tier history (not published)"

    LIVE = ("queued", "running", "publishing")

    day = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    credit_lines = models.PositiveIntegerField(default=0)
    partners = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    data_version = models.BigIntegerField(
        default=0, help_text="The latest data change this run had seen when it started."
    )
    batch = models.ForeignKey(
        "RecomputeBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["day"],
                condition=Q(status__in=["queued", "running", "publishing"]),
                name="one_live_run_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"Recompute {self.day} ({self.get_status_display()})"

    @property
    def progress(self) -> int:
        """Percent of chunks done; 100 once succeeded."""
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.chunks_total:
            return 0
        return min(99, 100 * self.chunks_done // (self.chunks_total + 1))

    @property
    def warning_texts(self) -> list[str]:
        """The run's warnings (missing rates) in the reader's language."""
        return [warning_text(w) for w in self.warnings or []]


class RecomputeBatch(models.Model):
    """Several days recomputed one after another, oldest first: the nightly catch-up of stale
    days and the new day, or a range asked for by program staff. Resumable and cancellable."""

    class Kind(models.TextChoices):
        NIGHTLY = "nightly", "Nightly"
        RANGE = "range", "Range"
        STALE = "stale", "Stale days"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    LIVE = ("queued", "running")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    days = models.JSONField(default=list, help_text="The ISO days to compute, in order.")
    done = models.PositiveIntegerField(default=0, help_text="Days of `days` computed so far.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    current_run = models.ForeignKey(
        RecomputeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "recompute batches"

    def __str__(self) -> str:
        span = f"{self.days[0]} … {self.days[-1]}" if self.days else "no day"
        return f"{self.get_kind_display()} recompute {span} ({self.get_status_display()})"

    @property
    def total(self) -> int:
        return len(self.days)

    @property
    def percent(self) -> int:
        """Days done, counting the current day's chunks as a fraction of a day."""
        if self.status == self.Status.SUCCEEDED or not self.days:
            return 100 if self.status == self.Status.SUCCEEDED else 0
        run = self.current_run
        part = run.chunks_done / (run.chunks_total + 1) if run and run.chunks_total else 0
        return min(99, int(100 * (self.done + part) / self.total))

    @property
    def seconds_left(self) -> int | None:
        """From the average time of the days done so far; None before the first day is done."""
        if not self.done or self.started_at is None or self.status not in self.LIVE:
            return None
        elapsed = ((self.heartbeat_at or self.started_at) - self.started_at).total_seconds()
        return int(elapsed / self.done * (self.total - self.done))


class RecomputeChunk(models.Model):
    """One range of client accounts of a run; done once, however often its task is delivered."""

    run = models.ForeignKey(RecomputeRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    client_lo = models.BigIntegerField()
    client_hi = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="recompute_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"Chunk {self.index} of {self.run}"


class DayResultQuerySet(models.QuerySet["DayResult"]):
    def latest_day(self) -> date | None:
        """The latest published day that has ended in the program time zone."""
        return (
            self.filter(day__lt=days.today()).order_by("-day").values_list("day", flat=True).first()
        )


class DayResult(models.Model):
    """The published run of a day: reports read only its rows."""

    day = models.DateField(primary_key=True)
    run = models.OneToOneField(RecomputeRun, on_delete=models.PROTECT, related_name="+")
    computed_at = models.DateTimeField()
    data_version = models.BigIntegerField(
        default=0, help_text="The latest data change the published run had seen."
    )

    objects = DayResultQuerySet.as_manager()

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} computed {self.computed_at:%Y-%m-%d %H:%M}"


class PublishedQuerySet(models.QuerySet):
    def published(self, day: date) -> "PublishedQuerySet":
        """The rows of the run published for `day` (none if the day was never computed)."""
        run_id = DayResult.objects.filter(day=day).values("run_id")[:1]
        return self.filter(day=day, run_id=models.Subquery(run_id))


class CreditLine(models.Model):
    """A (partner, client) relationship open on `day`, with its share and points.

    Written only by the engine, from the rows its foreign keys name, and read by run: so no
    database foreign keys (their checks were a quarter of a day's commit) and no single-column
    indexes, only the two the reads use. On PostgreSQL the table is partitioned by month of
    `day` (credits/partitions.py).
    """

    run = unchecked_key(RecomputeRun, on_delete=models.CASCADE)
    day = models.DateField()
    partner = unchecked_key(Partner, on_delete=models.PROTECT)
    client = unchecked_key(ClientAccount, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3)
    mrr = Hundredths()
    partners_sharing = models.PositiveIntegerField()
    share = Hundredths()
    points = Hundredths(null=True, blank=True, help_text="Empty: no currency rate in force.")
    relationship_started = models.DateField()
    last_qualifying_activity = models.DateField()
    last_employee = unchecked_key(Employee, on_delete=models.PROTECT, null=True)
    credit_until = models.DateField()

    objects = PublishedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["run", "partner"]),
            models.Index(fields=["run", "client"]),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.partner_id}/{self.client_id}: {self.share}"

    def days_left(self) -> int:
        return (self.credit_until - self.day).days

    def at_risk(self, within: int = 14) -> bool:
        return self.credit_until <= self.day + timedelta(days=within)


class Standing(models.Model):
    """A partner's points and tier on `day`."""

    run = models.ForeignKey(RecomputeRun, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    managed_points = Hundredths()
    sold_points = Hundredths()
    total_points = Hundredths()
    managed_clients = models.PositiveIntegerField()
    qualifying_activities = models.PositiveIntegerField()
    activities_by_window = models.JSONField(
        default=dict,
        blank=True,
        help_text="Counted qualifying activities per tier window in days, as the tiers used them.",
    )
    tier = models.CharField(
        max_length=40, blank=True, help_text="The performance tier (SPEC §3.9)."
    )
    credited_tier = models.CharField(
        max_length=40, blank=True, help_text="The tier the partner holds (SPEC §3.12)."
    )
    missing_rate = models.BooleanField(
        default=False, help_text="Some credit line has no currency rate: its points are missing."
    )

    objects = PublishedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["run", "partner"])]

    def __str__(self) -> str:
        return f"{self.day} {self.partner_id}: {self.total_points} ({self.tier or 'no tier'})"

    def activities_in(self, window_days: int) -> int:
        """Counted qualifying activities on the `window_days` days ending on `day`."""
        if window_days == 30:
            return self.qualifying_activities
        return self.activities_by_window.get(str(window_days), 0)


class TierDay(models.Model):
    """Per partner in the program and day: the tiers whose minimums it met, its performance
    tier, and the credited tier it held at the end of the day (SPEC §3.12).

    Derived by the engine for every day up to the latest one computed, published or not: a
    day's credited tier depends on every earlier day. `reason` is set on the days the credited
    tier was earned, lowered or kept at a recalibration.
    """

    class Reason(models.TextChoices):
        EARNED = "earned", "Earned"
        PROTECTED = "protected", "Kept by protection"
        WINDOW = "window", "Kept by the review window"
        LOWERED = "lowered", "Lowered"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    met = models.JSONField(default=list, help_text="Names of the tiers whose minimums were met.")
    performance = models.CharField(max_length=40, blank=True)
    credited = models.CharField(max_length=40, blank=True)
    credited_before = models.CharField(max_length=40, blank=True)
    earned_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=10, choices=Reason.choices, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "day"], name="tier_day_unique")]
        indexes = [
            models.Index(fields=["day"]),
            models.Index(fields=["partner", "day"], condition=~Q(reason=""), name="tier_changes"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.partner_id}: holds {self.credited or 'no tier'}"


class TierHistory(models.Model):
    """The days whose `TierDay` rows are complete, and the data they were derived from."""

    day = models.DateField(primary_key=True)
    data_version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"Tiers of {self.day}"


def day_result(day: date) -> DayResult | None:
    return DayResult.objects.select_related("run").filter(day=day).first()
