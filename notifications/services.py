"""Sending the e-mail notifications due on a day, exactly once per person and period.

1. Work out who gets which e-mail for which period on the day: the weekly digest (period: the
   ISO week) to each partner admin and opted-in client access manager of their own partner;
   a notice of each credited-tier change (period: its day); to program staff, failed runs or
   stale days (period: the day) and missing currency rates (period: the day reported on).
2. For each (person, kind, period) with no log row yet: render the e-mail in the person's
   language, claim it by inserting its `SentNotification` row (committed before sending; a
   concurrent run's insert fails on the unique constraint and sends nothing), then send it.
3. A row whose send failed is claimed again by a conditional update (attempts + 1) and its
   stored e-mail sent again, up to MAX_ATTEMPTS; sent rows are never sent again.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Employee, Partner
from accounts.permissions import (
    CREDIT_REVIEWERS,
    PROGRAM_ADMINS,
    employee_of,
    is_partner_admin,
    is_program_staff,
)
from notifications import content, upstream
from notifications.models import (
    PARTNER_KINDS,
    STAFF_KINDS,
    Kind,
    NotificationPreference,
    SentNotification,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


# --- Preferences ---------------------------------------------------------------------------


def _role_kinds(user: User) -> set[str]:
    """The kinds a person gets by default: program staff the staff kinds, a partner admin the
    partner kinds, a client access manager none (they opt in)."""
    if is_program_staff(user):
        return set(STAFF_KINDS)
    if is_partner_admin(user):
        return set(PARTNER_KINDS)
    return set()


def available_kinds(*, user: User) -> list[str]:
    """The kinds this person may switch on in their settings."""
    if is_program_staff(user):
        return list(STAFF_KINDS)
    return list(PARTNER_KINDS) if employee_of(user) is not None else []


def preference_for(*, user: User) -> NotificationPreference:
    """The person's saved choices, or (unsaved) the defaults of their role."""
    try:
        return user.notification_preference
    except NotificationPreference.DoesNotExist:
        defaults = _role_kinds(user)
        return NotificationPreference(user=user, **{k: k in defaults for k in Kind.values})


def preference_update(*, user: User, language: str, **kinds: bool) -> NotificationPreference:
    """Save the person's choices: each kind on or off, and their language ('' = browser)."""
    preference = preference_for(user=user)
    for kind, on in kinds.items():
        if kind not in Kind.values:
            raise ValueError(f"Unknown notification kind {kind!r}")
        setattr(preference, kind, on)
    preference.language = language
    preference.save()
    return preference


# --- Who gets what -------------------------------------------------------------------------


@dataclass
class Outgoing:
    """One e-mail due: to whom, what kind, for which period, and how to render it."""

    user: User
    recipient: str
    kind: str
    period: str
    template: str
    context: dict

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.user.pk, self.kind, self.period)


def _partner_people(day: date) -> Iterator[tuple[Partner, list[tuple[User, str]]]]:
    """Per partner in the program on `day`, its people with a login: (user, e-mail address)."""
    employees = (
        Employee.objects.filter(
            Q(role=Employee.Role.PARTNER_ADMIN) | Q(is_client_access_manager=True),
            is_active=True,
            user__isnull=False,
            user__is_active=True,
            partner__in=Partner.objects.in_program(day),
            partner__left_at__isnull=True,
        )
        .select_related("partner", "user__notification_preference")
        .order_by("partner__key", "email")
    )
    by_partner: dict[int, tuple[Partner, list[tuple[User, str]]]] = {}
    for employee in employees:
        entry = by_partner.setdefault(employee.partner_id, (employee.partner, []))
        if employee.user is not None:  # filtered above; for the type checker
            entry[1].append((employee.user, employee.email))
    yield from by_partner.values()


def _program_staff() -> list[User]:
    """Active program staff with an e-mail address."""
    staff = User.objects.filter(
        Q(is_superuser=True) | Q(groups__name__in=[PROGRAM_ADMINS, CREDIT_REVIEWERS]),
        is_active=True,
    ).exclude(email="")
    return list(staff.distinct().select_related("notification_preference").order_by("username"))


def _wants(user: User, kind: str) -> bool:
    return preference_for(user=user).wants(kind)


def _link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _partner_link(partner: Partner, day: date) -> str:
    return _link(reverse("reports:partner", args=[partner.key]) + f"?date={day.isoformat()}")


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Plan:
    """What is due on a day, and what is held back and why."""

    outgoing: list[Outgoing] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    already: int = 0  # due, but logged already (not rendered again)


def _partner_mails(plan: Plan, *, day: date, within: int, done: set) -> None:
    reported = content.report_day(before=day)
    fresh_day = None
    if reported is None:
        plan.held.append(_("No digest: no day before %(day)s has been computed.") % {"day": day})
    elif upstream.is_stale(reported):
        plan.held.append(
            _("No digest: %(day)s is stale; it is sent once the day is recomputed.")
            % {"day": reported}
        )
    else:
        fresh_day = reported
    week = iso_week(day)
    for partner, people in _partner_people(day):
        wanting = [(u, a) for u, a in people if _wants(u, Kind.DIGEST)]
        due = [(u, a) for u, a in wanting if (u.pk, Kind.DIGEST, week) not in done]
        plan.already += len(wanting) - len(due)
        if fresh_day is not None and due:
            link = _partner_link(partner, fresh_day)
            by_language: dict[str, content.Digest] = {}
            for user, address in due:
                language = _language(user)
                if language not in by_language:  # the missing steps are read in a language
                    with translation.override(language):
                        by_language[language] = content.digest(
                            partner=partner, day=fresh_day, within=within
                        )
                context = {"digest": by_language[language], "link": link, "week": week}
                plan.outgoing.append(Outgoing(user, address, Kind.DIGEST, week, "digest", context))
        notified = [(u, a) for u, a in people if _wants(u, Kind.TIER_CHANGE)]
        if fresh_day is None or not notified:
            continue
        for change in content.tier_changes(partner=partner, day=day, through=fresh_day):
            link = _partner_link(partner, change.day)
            context = {"partner": partner, "change": change, "link": link}
            for user, address in notified:
                period = change.day.isoformat()
                plan.outgoing.append(
                    Outgoing(user, address, Kind.TIER_CHANGE, period, "tier_change", context)
                )


def _staff_mails(plan: Plan, *, day: date) -> None:
    staff = _program_staff()
    problems = content.run_problems(day=day)
    runs_link = _link(reverse("admin:credits_recomputerun_changelist"))
    reported = content.report_day(before=day)
    warnings = content.missing_rates(day=reported) if reported else []
    rates_link = _link(reverse("admin:credits_pointsrate_changelist"))
    for user in staff:
        if problems and _wants(user, Kind.RUN_PROBLEM):
            context = {"problems": problems, "link": runs_link}
            plan.outgoing.append(
                Outgoing(
                    user, user.email, Kind.RUN_PROBLEM, day.isoformat(), "run_problem", context
                )
            )
        if reported is not None and warnings and _wants(user, Kind.MISSING_RATES):
            context = {"day": reported, "warnings": warnings, "link": rates_link}
            plan.outgoing.append(
                Outgoing(
                    user,
                    user.email,
                    Kind.MISSING_RATES,
                    reported.isoformat(),
                    "missing_rates",
                    context,
                )
            )


def notifications_due(*, day: date, within: int | None = None, done: set | None = None) -> Plan:
    """Every e-mail due on `day` (`done`: keys already logged, not worth rendering again)."""
    plan = Plan()
    within = settings.NOTIFY_CREDIT_ENDING_DAYS if within is None else within
    _partner_mails(plan, day=day, within=within, done=done or set())
    _staff_mails(plan, day=day)
    return plan


# --- Rendering and sending -----------------------------------------------------------------


def _day(day: date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _name(partner: Partner) -> str:
    return partner.name or partner.key


def _subject(kind: str, c: dict) -> str:
    if kind == Kind.DIGEST:
        digest = c["digest"]
        return _("Weekly credit digest for %(partner)s (%(day)s)") % {
            "partner": _name(digest.partner),
            "day": _day(digest.day),
        }
    if kind == Kind.TIER_CHANGE:
        change = c["change"]
        return _("%(partner)s: credited tier %(tier_from)s → %(tier_to)s") % {
            "partner": _name(c["partner"]),
            "tier_from": change.tier_from or _("none"),
            "tier_to": change.tier_to or _("none"),
        }
    if kind == Kind.RUN_PROBLEM:
        return _("partnercredit: the nightly run needs attention (%(day)s)") % {
            "day": _day(c["problems"].day)
        }
    return _("partnercredit: missing currency rates on %(day)s") % {"day": _day(c["day"])}


def _language(user: User) -> str:
    chosen = preference_for(user=user).language
    return chosen or settings.LANGUAGE_CODE


def notification_render(*, outgoing: Outgoing) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the e-mail, in the recipient's language."""
    with translation.override(_language(outgoing.user)):
        context = {
            **outgoing.context,
            "user": outgoing.user,
            "kind": outgoing.kind,
            "settings_link": _link(reverse("notifications:preferences")),
        }
        subject = _subject(outgoing.kind, context)
        text = render_to_string(f"notifications/{outgoing.template}.txt", context)
        html = render_to_string(f"notifications/{outgoing.template}.html", context)
    return " ".join(subject.split()), text, html


def _claim_new(outgoing: Outgoing) -> SentNotification | None:
    """Insert the log row before sending; None when another run holds it already."""
    subject, text, html = notification_render(outgoing=outgoing)
    try:
        with transaction.atomic():
            return SentNotification.objects.create(
                user=outgoing.user,
                kind=outgoing.kind,
                period=outgoing.period,
                recipient=outgoing.recipient,
                subject=subject,
                body_text=text,
                body_html=html,
                attempted_at=timezone.now(),
            )
    except IntegrityError:
        return None


def _claim_again(row: SentNotification) -> bool:
    """Claim a failed row for another attempt; False when another run got it first."""
    if row.status != SentNotification.Status.FAILED or row.attempts >= MAX_ATTEMPTS:
        return False
    claimed = SentNotification.objects.filter(
        pk=row.pk, status=SentNotification.Status.FAILED, attempts=row.attempts
    ).update(
        status=SentNotification.Status.SENDING,
        attempts=F("attempts") + 1,
        attempted_at=timezone.now(),
    )
    if claimed:
        row.refresh_from_db()
    return bool(claimed)


def notification_deliver(*, row: SentNotification) -> bool:
    """Send a claimed row's e-mail; record sent, or failed with the error. True when sent."""
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient],
    )
    message.attach_alternative(row.body_html, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # any transport error: kept on the row, retried later
        log.warning("notification %s to %s failed: %r", row.pk, row.recipient, exc)
        SentNotification.objects.filter(pk=row.pk).update(
            status=SentNotification.Status.FAILED, error=repr(exc)[:2000]
        )
        row.status, row.error = SentNotification.Status.FAILED, repr(exc)[:2000]
        return False
    now = timezone.now()
    SentNotification.objects.filter(pk=row.pk).update(
        status=SentNotification.Status.SENT, sent_at=now, error=""
    )
    row.status, row.sent_at, row.error = SentNotification.Status.SENT, now, ""
    return True


@dataclass(frozen=True)
class Line:
    """One e-mail as the command prints it."""

    recipient: str
    kind: str
    subject: str

    @classmethod
    def of(cls, row: SentNotification) -> "Line":
        return cls(row.recipient, row.kind, row.subject)


@dataclass
class SendReport:
    sent: list[Line] = field(default_factory=list)
    failed: list[Line] = field(default_factory=list)
    would_send: list[Line] = field(default_factory=list)
    already: int = 0
    held: list[str] = field(default_factory=list)


def _existing(day: date) -> dict[tuple[int, str, str], SentNotification]:
    """Log rows that may collide with what is due on `day` (periods of the last weeks)."""
    rows = SentNotification.objects.filter(created_at__gte=timezone.now() - timedelta(days=60))
    periods = {iso_week(day)} | {
        (day - timedelta(days=n)).isoformat() for n in range(content.TIER_NOTICE_DAYS + 2)
    }
    return {(r.user_id, r.kind, r.period): r for r in rows.filter(period__in=periods)}


def notifications_send(*, day: date, dry_run: bool = False) -> SendReport:
    """Send every e-mail due on `day` that was not sent yet (see the module docstring).
    With `dry_run`, render and list them, claiming and sending nothing."""
    existing = _existing(day)
    done = {key for key, row in existing.items() if row.status != SentNotification.Status.FAILED}
    plan = notifications_due(day=day, done=done)
    report = SendReport(held=plan.held, already=plan.already)
    for outgoing in plan.outgoing:
        row = existing.get(outgoing.key)
        if row is not None and row.status != SentNotification.Status.FAILED:
            report.already += 1
            continue
        if dry_run:
            subject = row.subject if row else notification_render(outgoing=outgoing)[0]
            report.would_send.append(Line(outgoing.recipient, outgoing.kind, subject))
            continue
        if row is not None:
            if not _claim_again(row):
                report.already += 1
                continue
        else:
            row = _claim_new(outgoing)
            if row is None:
                report.already += 1
                continue
        (report.sent if notification_deliver(row=row) else report.failed).append(Line.of(row))
    return report


def notifications_retry(*, ids: list[int]) -> int:
    """Staff's "send again": each failed row of `ids` is claimed and sent; the count sent."""
    sent = 0
    for row in SentNotification.objects.filter(pk__in=ids, status=SentNotification.Status.FAILED):
        row.attempts = min(row.attempts, MAX_ATTEMPTS - 1)  # staff may go beyond the limit
        SentNotification.objects.filter(pk=row.pk).update(attempts=row.attempts)
        if _claim_again(row) and notification_deliver(row=row):
            sent += 1
    return sent
