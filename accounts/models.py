"""Partners, their employees, client accounts and the access steps of SPEC §3.1.

Access is effective-dated: every assignment, seat and active spell of an employee is an
interval [start, end), so the state at any past moment can be recovered — the credit engine
recomputes past days. Rows with history are ended or deactivated, never deleted.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from simple_history.models import HistoricalRecords

from partnercredit.days import day_end
from partnercredit.fields import Hundredths
from partnercredit.validators import validate_amount, validate_key


class PartnerQuerySet(models.QuerySet["Partner"]):
    def in_program(self, day: date) -> "PartnerQuerySet":
        """Partners in the program at the end of `day`: a membership spell covers it (SPEC §3.3)."""
        end = day_end(day)
        spells = PartnerSpell.objects.filter(partner=OuterRef("pk"), start__lt=end).filter(
            Q(end__isnull=True) | Q(end__gte=end)
        )
        return self.filter(Exists(spells))


class Partner(models.Model):
    """A Solutions Partner. `joined_at`/`left_at` describe the latest membership spell."""

    key = models.CharField("partner key", max_length=32, unique=True, help_text="Partner portal id")
    name = models.CharField(max_length=200, blank=True)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    objects = PartnerQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name or self.key} ({self.key})"

    def clean(self) -> None:
        validate_key(self.key, "Partner key")

    @property
    def is_active(self) -> bool:
        return self.left_at is None


class PartnerSpell(models.Model):
    """An interval during which the partner was in the program: leaving ends it, rejoining
    opens another, so days before a partner left keep their results."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="spells")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["partner", "start"])]

    def __str__(self) -> str:
        return f"{self.partner} in the program {self.start:%Y-%m-%d}–{self.end or ''}"


class Employee(models.Model):
    class Role(models.TextChoices):
        EMPLOYEE = "employee", "Employee"
        PARTNER_ADMIN = "partner_admin", "Partner admin"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="employees")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.EMPLOYEE)
    is_client_access_manager = models.BooleanField(
        "client access manager", default=False, help_text="May add and remove seats."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employee",
        help_text="The login of this employee, if they use partnercredit.",
    )
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["partner__key", "email"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "email"], name="employee_unique_email")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.email} <{self.email}>"


class EmployeeSpell(models.Model):
    """An interval during which the employee was active."""

    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="spells")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["employee", "start"])]

    def __str__(self) -> str:
        return f"{self.employee} active {self.start:%Y-%m-%d}–{self.end or ''}"


class ClientAccount(models.Model):
    hub_id = models.CharField("hub id", max_length=32, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166 alpha-2")
    currency = models.CharField(max_length=3, help_text="ISO 4217 code of the current MRR")
    history = HistoricalRecords()

    class Meta:
        ordering = ["hub_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hub_id})"

    def clean(self) -> None:
        validate_key(self.hub_id, "Hub id")


class ClientMRR(models.Model):
    """The client's subscription MRR from `effective_at` until the next change."""

    client = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="mrr_history")
    effective_at = models.DateTimeField()
    amount = Hundredths()
    currency = models.CharField(max_length=3)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "client MRR"
        verbose_name_plural = "client MRR history"
        ordering = ["client", "-effective_at"]
        indexes = [models.Index(fields=["client", "effective_at"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="mrr_not_negative")]

    def __str__(self) -> str:
        return (
            f"{self.client.hub_id}: {self.currency} {self.amount} from {self.effective_at:%Y-%m-%d}"
        )

    def clean(self) -> None:
        if self.amount is not None:
            validate_amount(self.amount, "MRR")


class AccessInterval(models.Model):
    """An (employee, client) link valid on [start, end)."""

    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["-start"]

    @property
    def is_open(self) -> bool:
        return self.end is None


class Assignment(AccessInterval):
    """Step 2: the client is assigned to the employee in the partner's account."""

    history = HistoricalRecords()

    class Meta(AccessInterval.Meta):
        indexes = [models.Index(fields=["employee", "client", "start"])]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "client"],
                condition=Q(end__isnull=True),
                name="one_open_assignment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} assigned to {self.employee}"


class Seat(AccessInterval):
    """Step 3: the employee is a user in the client's HubSpot account."""

    history = HistoricalRecords()

    class Meta(AccessInterval.Meta):
        indexes = [models.Index(fields=["employee", "client", "start"])]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "client"], condition=Q(end__isnull=True), name="one_open_seat"
            )
        ]

    def __str__(self) -> str:
        return f"{self.employee} has a seat in {self.client}"


class RelationshipEnd(models.Model):
    """An action that ends a managed relationship at once (SPEC §3.3).

    `client` is empty when the partner left the program: that ends all its relationships.
    """

    class Reason(models.TextChoices):
        LAST_SEAT_REMOVED = "last_seat_removed", "Last seat removed"
        ALL_EMPLOYEES_REMOVED = "all_employees_removed", "All partner employees removed"
        SERVICES_ENDED = "services_ended", "Services ended"
        PARTNER_LEFT = "partner_left", "Partner left the program"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="relationship_ends")
    client = models.ForeignKey(
        ClientAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["partner", "client", "at"])]

    def __str__(self) -> str:
        target = self.client.hub_id if self.client else "all clients"
        return f"{self.partner.key} / {target}: {self.get_reason_display()} on {self.at:%Y-%m-%d}"


class AccessRequest(models.Model):
    """A partner asks program staff for access to a client it has no access to yet (SPEC §1).

    `hub_id` is what the partner typed; whether such a client exists is only shown to staff.
    An approved request lets the partner's admins add assignments and seats in the client.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="access_requests")
    hub_id = models.CharField("hub id", max_length=32)
    note = models.TextField(blank=True, help_text="Why the partner needs access.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["partner", "status", "hub_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "hub_id"],
                condition=Q(status="pending"),
                name="one_pending_access_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner.key} asks for {self.hub_id} ({self.get_status_display()})"
