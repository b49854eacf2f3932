"""Program rules that staff edit in the admin (SPEC §3, every number marked configurable)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from partnercredit.fields import Hundredths
from partnercredit.validators import (
    validate_currency_unit,
    validate_multiplier,
    validate_points_per_unit,
)

TOOLS = [
    "blog",
    "website_page",
    "landing_page",
    "email",
    "social",
    "workflow",
    "form",
    "list",
    "cta",
    "report",
    "dashboard",
    "sequence",
    "chatflow",
    "ads",
    "crm",
    "account",
]
ACTIONS = ["publish", "send", "create", "edit", "delete", "view", "export", "login"]


def _month_day(text: str) -> tuple[int, int]:
    month, day = (int(n) for n in text.strip().split("-"))
    date(2024, month, day)  # raises ValueError for an impossible day (Feb 29 is allowed)
    return month, day


def validate_month_days(value: str) -> None:
    try:
        days = [_month_day(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise ValidationError(
            _("Write days as MM-DD, separated by commas (e.g. 01-15,07-15).")
        ) from exc
    if not days:
        raise ValidationError(_("Name at least one recalibration day."))


class ProgramSettings(models.Model):
    """The single row of program-wide numbers."""

    grace_days = models.PositiveIntegerField(
        default=60, help_text="Days of credit after the last counted qualifying activity."
    )
    sold_window_months = models.PositiveIntegerField(
        default=12, help_text="Months a closed deal earns sold points."
    )
    # The credited tier (SPEC §3.12): the tier a partner holds.
    recalibration_days = models.CharField(
        max_length=200,
        default="01-15,07-15",
        validators=[validate_month_days],
        help_text="Days of the year (MM-DD, comma-separated) on which a credited tier may fall.",
    )
    protection_months = models.PositiveIntegerField(
        default=6,
        help_text="A tier earned less than this many months before a recalibration is kept.",
    )
    review_offset_months = models.PositiveIntegerField(
        default=1,
        help_text="The review window starts this many months after the previous recalibration day.",
    )
    review_min_days = models.PositiveIntegerField(
        default=30, help_text="Days of the review window on which a tier's minimums must be met."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = verbose_name_plural = "program settings"

    def __str__(self) -> str:
        return f"Grace {self.grace_days} days, sold window {self.sold_window_months} months"

    @classmethod
    def load(cls) -> "ProgramSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    @property
    def recalibration_month_days(self) -> list[tuple[int, int]]:
        """The recalibration days as sorted (month, day) pairs."""
        return sorted(
            _month_day(part) for part in self.recalibration_days.split(",") if part.strip()
        )


class QualifyingAction(models.Model):
    """A (tool, action) pair of the activity catalogue that qualifies."""

    tool = models.CharField(max_length=40)
    action = models.CharField(max_length=40)
    history = HistoricalRecords()

    class Meta:
        ordering = ["tool", "action"]
        constraints = [
            models.UniqueConstraint(fields=["tool", "action"], name="qualifying_action_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tool}/{self.action}"


class CurrencyUnit(models.Model):
    """How much of a currency makes one unit (one point before multipliers), from a day on."""

    currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    amount = Hundredths(help_text="Amount of this currency per unit, e.g. USD 100.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="currency_unit_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="currency_unit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount} per unit from {self.valid_from}"

    def clean(self) -> None:
        if self.amount is not None:
            validate_currency_unit(self.amount, "Amount per unit")


class PointsRate(models.Model):
    """Points per unit for one kind of credit, from a day on."""

    class Kind(models.TextChoices):
        MANAGED = "managed", "Managed"
        SOURCED = "sourced", "Sold (sourced)"
        ASSISTED = "assisted", "Sold (assisted)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    valid_from = models.DateField(default=date(2000, 1, 1))
    points_per_unit = Hundredths()
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "valid_from"], name="points_rate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.points_per_unit} per unit from {self.valid_from}"

    def clean(self) -> None:
        if self.points_per_unit is not None:
            validate_points_per_unit(self.points_per_unit, "Points per unit")


class GrowthMarket(models.Model):
    """A country whose clients earn the growth multiplier."""

    country = models.CharField(max_length=2, unique=True, help_text="ISO 3166 alpha-2")
    region = models.CharField(max_length=60, blank=True)
    multiplier = Hundredths(default=2)
    history = HistoricalRecords()

    class Meta:
        ordering = ["region", "country"]

    def __str__(self) -> str:
        return f"{self.country} ({self.region}) ×{self.multiplier}"

    def clean(self) -> None:
        if self.multiplier is not None:
            validate_multiplier(self.multiplier, "Multiplier")


class Tier(models.Model):
    """A partner tier's minimums, from a day on. Empty minimums are not required."""

    name = models.CharField(max_length=40)
    rank = models.PositiveSmallIntegerField(help_text="Higher is better.")
    valid_from = models.DateField(default=date(2000, 1, 1))
    min_total_points = Hundredths(null=True, blank=True)
    min_sold_points = Hundredths(null=True, blank=True)
    min_managed_points = Hundredths(null=True, blank=True)
    min_activities = models.PositiveIntegerField(null=True, blank=True)
    activity_window_days = models.PositiveIntegerField(default=30)
    illustrative = models.BooleanField(
        default=False, help_text="Set on the shipped defaults: illustrative, not HubSpot's numbers."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-valid_from", "rank"]
        constraints = [models.UniqueConstraint(fields=["name", "valid_from"], name="tier_unique")]

    def __str__(self) -> str:
        label = " (illustrative)" if self.illustrative else ""
        return f"{self.name}{label} from {self.valid_from}"
