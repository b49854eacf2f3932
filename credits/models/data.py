"""What arrives from the program: activities, sold deals, and the record of imports."""

from django.conf import settings
from django.db import models

from accounts.models import ClientAccount, Employee, Partner
from partnercredit.fields import Hundredths, unchecked_key
from partnercredit.validators import validate_amount


class Activity(models.Model):
    """Something an employee did in a client account. Stored whether or not it qualifies.

    `partner` repeats `employee.partner` (which never changes) so that the engine can group by
    it without a join; `day` is the calendar day of `at` in the program time zone.
    """

    # The activity table is the one with millions of rows, written only by the importer and
    # `activity_record` (which resolve these ids from existing rows in the same transaction)
    # and never deleted from. So: no database-level foreign-key triggers and no single-column
    # indexes — (employee, client, at) and (day) serve every read — because each costs the
    # bulk import per row.
    partner = unchecked_key(Partner, on_delete=models.PROTECT)
    employee = unchecked_key(Employee, on_delete=models.PROTECT, related_name="activities")
    client = unchecked_key(ClientAccount, on_delete=models.PROTECT, related_name="activities")
    at = models.DateTimeField()
    day = models.DateField()
    tool = models.CharField(max_length=40)
    action = models.CharField(max_length=40)
    ref = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["day"]),
            models.Index(fields=["employee", "client", "at"]),
        ]
        # What makes importing idempotent (SPEC §4): an activity is identified by its ref, or
        # without one by its whole content. The keys themselves are indexed, not a hash of
        # them: new rows then land next to each other (the end of each employee-client's
        # timeline, the next refs of the source system) instead of all over a random index,
        # which on a large table costs a page write per row.
        constraints = [
            models.UniqueConstraint(
                fields=["ref"], condition=~models.Q(ref=""), name="activity_unique_ref"
            ),
            models.UniqueConstraint(
                fields=["employee", "client", "at", "tool", "action"],
                condition=models.Q(ref=""),
                name="activity_unique_content",
            ),
        ]

    def __str__(self) -> str:
        """The title of its admin page: the client's hub id, not its database id (issue 14)."""
        return f"{self.tool}/{self.action} in {self.client.hub_id} at {self.at:%Y-%m-%d %H:%M}"


class Deal(models.Model):
    """A sold subscription: earns sold points for a window after its close date (SPEC §3.8)."""

    class Kind(models.TextChoices):
        SOURCED = "sourced", "Sourced"
        ASSISTED = "assisted", "Assisted"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="deals")
    client = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="deals")
    closed_on = models.DateField()
    amount = Hundredths(help_text="MRR sold")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    ref = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-closed_on"]
        indexes = [models.Index(fields=["closed_on"])]

    def __str__(self) -> str:
        return f"{self.kind} deal {self.currency} {self.amount} on {self.closed_on}"

    def clean(self) -> None:
        if self.amount is not None:
            validate_amount(self.amount, "Deal amount")


class ImportedEvent(models.Model):
    """The fingerprint of every applied non-activity row, so re-imports skip it."""

    fingerprint = models.UUIDField(unique=True)
    event = models.CharField(max_length=40)
    at = models.DateTimeField()
    imported_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event} at {self.at}"


class ImportJob(models.Model):
    """An uploaded events file, imported in the background."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    file = models.FileField(upload_to="imports/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Set for a partner admin's upload: only that partner's activities are accepted.",
    )
    skip_invalid = models.BooleanField(default=False)
    language = models.CharField(
        max_length=10,
        blank=True,
        help_text="The uploader's language: the report's reasons speak it.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The worker's last sign of life while it ran the job."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_applied = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.get_status_display()})"
