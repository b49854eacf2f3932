"""Who wants which e-mail, and the log that makes each e-mail go out exactly once.

A `SentNotification` row is claimed (inserted as *sending*) before the e-mail is handed to the
mail server; its unique (user, kind, period) means two beats, a retry or a rerun find the row
and send nothing. A failed send stays on the row (status, error, attempts) for staff to see,
and is tried again by the next run or the task's retry with the same stored content.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    DIGEST = "digest", _("Weekly digest")
    TIER_CHANGE = "tier_change", _("Credited tier earned or lowered")
    RUN_PROBLEM = "run_problem", _("Nightly run failed or left stale days")
    MISSING_RATES = "missing_rates", _("Missing currency rates")


PARTNER_KINDS = (Kind.DIGEST, Kind.TIER_CHANGE)
STAFF_KINDS = (Kind.RUN_PROBLEM, Kind.MISSING_RATES)


class NotificationPreference(models.Model):
    """One person's choices. Without a row the defaults of their role apply (see services)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("user"),
    )
    digest = models.BooleanField(
        _("weekly digest"),
        default=True,
        help_text=_("Credit ending soon, clients not earning, and the tier outlook, each Monday."),
    )
    tier_change = models.BooleanField(
        _("credited tier earned or lowered"),
        default=True,
        help_text=_("A notice on the day your partner's credited tier changes."),
    )
    run_problem = models.BooleanField(
        _("nightly run failed or left stale days"),
        default=True,
        help_text=_("Program staff only."),
    )
    missing_rates = models.BooleanField(
        _("missing currency rates"), default=True, help_text=_("Program staff only.")
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: the language of your browser."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))


class SentNotification(models.Model):
    """One e-mail to one person for one period, claimed before it is sent."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    period = models.CharField(
        _("period"),
        max_length=40,
        help_text=_("The week, day or event this e-mail is about: one e-mail per period."),
    )
    recipient = models.EmailField(_("recipient"))
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField(_("plain text"))
    body_html = models.TextField(_("HTML"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    attempted_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sent notification")
        verbose_name_plural = _("sent notifications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "period"], name="one_notification_per_period"
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period} → {self.recipient}"
