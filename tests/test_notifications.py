"""E-mail notifications (issue 15): the digest of partner A reaches A's admin with A's clients
only, each kind can be switched off, a run sends each e-mail once (however many run at once),
and a failed send is retried and visible to program staff.

The e-mails go through a real SMTP server (aiosmtpd on 127.0.0.1) started by the test.
"""

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts import services as access
from credits import staleness
from credits.engine import recompute_day
from credits.models import RecomputeRun
from notifications import services
from notifications.models import Kind, SentNotification
from notifications.services import notifications_send, preference_for, preference_update
from notifications.tasks import send_notifications
from tests.builders import act, at, deal, give_access, make_client, make_employee

DAY = date(2026, 3, 31)  # the day that just ended: a Tuesday
TODAY = DAY + timedelta(days=1)
WEEK = "2026-W14"


class Inbox:
    """An aiosmtpd handler that keeps every message; `refuse` makes the next sends fail."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                return "451 4.3.0 Mailbox busy, try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend pointed at it."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.SITE_URL = "https://credit.example"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def world(partner_a, partner_b, partner_admin, outsider, access_manager) -> dict:
    """A's client 5001 has credit ending on DAY + 10; B's client 6001 too. Computed for DAY."""
    erin = make_employee(partner_a, "erin@alpha.example")
    bob = make_employee(partner_b, "bob@beta.example")
    ours, theirs = make_client("5001"), make_client("6001")
    ours.name, theirs.name = "Alpha Customer", "Beta Secret Customer"
    ours.save()
    theirs.save()
    give_access(erin, ours)
    give_access(bob, theirs)
    act(erin, ours, "2026-02-09T10:00")  # + 60 days of grace: credit until 2026-04-10
    act(bob, theirs, "2026-02-09T11:00")
    recompute_day(day=DAY)
    return {"erin": erin, "ours": ours, "theirs": theirs}


def _part(message: EmailMessage, kind: str) -> str:
    body = message.get_body(preferencelist=(kind,))
    assert body is not None, f"no {kind} part"
    return body.get_content()


def _text(message: EmailMessage) -> str:
    return _part(message, "plain")


def _html(message: EmailMessage) -> str:
    return _part(message, "html")


# --- the digest ---------------------------------------------------------------------------


def test_partner_admin_gets_a_digest_of_their_own_partner_only(world, smtp) -> None:
    report = notifications_send(day=TODAY)

    assert not report.failed
    [digest] = smtp.to("alice@example.com")
    text, html = _text(digest), _html(digest)
    for part in (text, html):
        assert "Alpha Customer (5001)" in part
        assert "erin@alpha.example" in part  # the last qualifying activity, and by whom
        assert "Beta Secret Customer" not in part and "6001" not in part
        assert "https://credit.example/reports/partners/1001/?date=2026-03-31" in part
    assert "April 10, 2026" in text  # credit until
    [theirs] = smtp.to("oscar@example.com")
    assert "Beta Secret Customer (6001)" in _text(theirs)
    assert "Alpha Customer" not in _text(theirs) + _html(theirs)
    assert "Alpha Agency" in digest["Subject"] and digest["X-Envelope-To"] == "alice@example.com"


def test_client_access_manager_gets_the_digest_only_after_opting_in(world, smtp) -> None:
    notifications_send(day=TODAY)
    assert smtp.to("cam@example.com") == []

    cam = User.objects.get(username="cam")
    preference_update(user=cam, language="", digest=True, tier_change=False)
    notifications_send(day=TODAY)

    [digest] = smtp.to("cam@example.com")
    assert "Alpha Customer (5001)" in _text(digest)


def test_a_partner_admin_who_switched_the_digest_off_gets_none(world, smtp) -> None:
    preference_update(user=User.objects.get(username="alice"), language="", digest=False)

    notifications_send(day=TODAY)

    assert smtp.to("alice@example.com") == []
    assert len(smtp.to("oscar@example.com")) == 1  # the outsider's own choice is untouched


def test_not_earning_clients_are_listed_with_the_missing_step(world, smtp) -> None:
    unseated = make_client("5002")
    access.client_assign(employee=world["erin"], client=unseated, at=at("2026-01-05"))
    recompute_day(day=DAY)

    notifications_send(day=TODAY)

    text = _text(smtp.to("alice@example.com")[0])
    assert "Client 5002 (5002): missing step: An employee is active, assigned and seated" in text


def test_a_rerun_of_the_same_week_sends_nothing_again(world, smtp) -> None:
    first = notifications_send(day=TODAY)
    again = notifications_send(day=TODAY + timedelta(days=2))  # later in the same ISO week

    assert len(first.sent) == 2 and again.sent == [] and again.already == 2
    assert len(smtp.messages) == 2
    row = SentNotification.objects.get(recipient="alice@example.com")
    assert (row.kind, row.period, row.status, row.attempts) == (Kind.DIGEST, WEEK, "sent", 1)


def test_nothing_is_sent_about_a_stale_day(world, smtp) -> None:
    if not hasattr(staleness, "day_freshness"):
        pytest.skip("credits.staleness.day_freshness is not on main yet")
    staleness.mark_stale(since=DAY, what="A late import")

    report = notifications_send(day=TODAY)

    assert smtp.messages == [] and not SentNotification.objects.exists()
    assert any("stale" in reason for reason in report.held)


# --- exactly once ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_digest_once(world, smtp, monkeypatch) -> None:
    """Both runs pass the "already logged?" read before either claims: the unique claim row
    decides, and the loser sends nothing."""
    if connection.vendor == "sqlite":
        print("SQLite: the two runs serialise on the database file's write lock")
    barrier = threading.Barrier(2, timeout=10)
    render = services.notification_render

    def render_in_step(*, outgoing):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return render(outgoing=outgoing)

    monkeypatch.setattr(services, "notification_render", render_in_step)
    reports, errors = [], []

    def run() -> None:
        try:
            reports.append(notifications_send(day=TODAY))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(smtp.to("alice@example.com")) == 1 and len(smtp.to("oscar@example.com")) == 1
    assert sum(len(r.sent) for r in reports) == 2 and sum(r.already for r in reports) == 2
    assert SentNotification.objects.filter(status="sent").count() == 2


def test_a_failed_send_is_visible_to_staff_and_sent_by_the_next_run(world, smtp, staff) -> None:
    smtp.refuse = 2  # both digests fail

    first = notifications_send(day=TODAY)

    assert len(first.failed) == 2 and smtp.messages == []
    row = SentNotification.objects.get(recipient="alice@example.com")
    assert row.status == "failed" and "451" in row.error and row.attempts == 1
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("admin:notifications_sentnotification_changelist"))
    assert page.status_code == 200
    assert "alice@example.com" in page.content.decode() and "Mailbox busy" in page.content.decode()

    second = notifications_send(day=TODAY)

    assert len(second.sent) == 2 and len(smtp.to("alice@example.com")) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == ("sent", 2, "")


def test_the_task_retries_a_failed_send_until_it_goes_through(world, smtp) -> None:
    smtp.refuse = 1  # the first e-mail fails once

    sent = send_notifications.delay(TODAY.isoformat()).get()  # eager: the retry runs inline

    assert len(smtp.messages) == 2
    assert sent == 1  # the retry's own count: the e-mail that had failed
    assert sorted(SentNotification.objects.values_list("attempts", flat=True)) == [1, 2]
    assert set(SentNotification.objects.values_list("status", flat=True)) == {"sent"}


def test_staff_send_a_failed_e_mail_again_from_the_admin(world, smtp, staff) -> None:
    smtp.refuse = 2
    notifications_send(day=TODAY)
    failed = SentNotification.objects.get(recipient="oscar@example.com")
    client = Client()
    client.force_login(staff)

    client.post(
        reverse("admin:notifications_sentnotification_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk]},
    )

    failed.refresh_from_db()
    assert failed.status == "sent" and len(smtp.to("oscar@example.com")) == 1


def test_partner_admins_cannot_see_the_sent_log(world, partner_admin) -> None:
    client = Client()
    client.force_login(partner_admin)

    page = client.get(reverse("admin:notifications_sentnotification_changelist"))

    assert page.status_code == 403


# --- program staff ---------------------------------------------------------------------------


def test_staff_hear_of_a_failed_nightly_run(world, smtp, staff) -> None:
    RecomputeRun.objects.create(day=DAY, status="failed", error="OperationalError('disk full')")

    notifications_send(day=TODAY)

    [alert] = smtp.to("staff@program.example")
    assert alert["Subject"].startswith("partnercredit: the nightly run needs attention")
    assert "disk full" in _text(alert)
    assert "https://credit.example/admin/credits/recomputerun/" in _text(alert)
    assert smtp.to("alice@example.com")[0]["Subject"].startswith("Weekly")  # not the alert


def test_staff_hear_of_missing_currency_rates_and_can_switch_it_off(world, smtp, staff) -> None:
    swiss = make_client("5003", currency="CHF", amount="900.00")
    give_access(world["erin"], swiss)
    act(world["erin"], swiss, "2026-03-30T10:00")
    recompute_day(day=DAY)
    reviewer_user = User.objects.create_user("rita", "rita@program.example", "pw", is_staff=True)
    reviewer_user.groups.add(Group.objects.get(name="credit reviewers"))
    preference_update(user=reviewer_user, language="", missing_rates=False, run_problem=True)

    notifications_send(day=TODAY)

    [alert] = smtp.to("staff@program.example")
    assert "CHF" in _text(alert) and "CHF" in _html(alert)
    assert smtp.to("rita@program.example") == []


def test_a_missing_rate_alert_speaks_its_readers_language(world, smtp, staff) -> None:
    swiss = make_client("5003", currency="CHF", amount="900.00")
    give_access(world["erin"], swiss)
    act(world["erin"], swiss, "2026-03-30T10:00")
    recompute_day(day=DAY)
    preference_update(user=staff, language="it")

    notifications_send(day=TODAY)

    [alert] = smtp.to("staff@program.example")
    assert "Nessun tasso unità per punto per CHF il 2026-03-31: 1 righe di credito" in _text(alert)


# --- preferences ------------------------------------------------------------------------------


def test_defaults_follow_the_role(world, staff) -> None:
    alice, cam = User.objects.get(username="alice"), User.objects.get(username="cam")
    assert preference_for(user=alice).digest is True
    assert preference_for(user=cam).digest is False  # client access managers opt in
    assert preference_for(user=staff).run_problem is True


def test_a_partner_admin_switches_the_digest_off_on_the_settings_page(world, partner_admin) -> None:
    client = Client()
    client.force_login(partner_admin)
    url = reverse("notifications:preferences")
    assert client.get(url).status_code == 200

    response = client.post(url, {"tier_change": "on", "language": ""})

    assert response.status_code == 302
    preference = preference_for(user=partner_admin)
    assert preference.digest is False and preference.tier_change is True
    assert 'name="digest"' in client.get(url).content.decode()


def test_the_reports_nav_links_to_the_settings_page(world, partner_admin) -> None:
    client = Client()
    client.force_login(partner_admin)

    page = client.get(reverse("reports:partner", args=["1001"]))

    assert reverse("notifications:preferences") in page.content.decode()


# --- the command ------------------------------------------------------------------------------


def test_send_notifications_prints_one_line_per_e_mail_and_dry_run_sends_nothing(world) -> None:
    out = StringIO()
    call_command("send_notifications", "--date", TODAY.isoformat(), "--dry-run", stdout=out)
    assert mail.outbox == [] and not SentNotification.objects.exists()
    dry = out.getvalue().splitlines()

    out = StringIO()
    call_command("send_notifications", "--date", TODAY.isoformat(), stdout=out, stderr=StringIO())

    lines = out.getvalue().splitlines()
    assert lines == dry and len(lines) == 2 and len(mail.outbox) == 2
    recipient, kind, subject = lines[0].split("\t")
    assert (recipient, kind) == ("alice@example.com", "digest")
    assert subject == "Weekly credit digest for Alpha Agency (2026-03-31)"


def test_send_notifications_refuses_a_bad_date(db) -> None:
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("send_notifications", "--date", "31/03/2026")


def test_the_demo_world_prints_a_digest_for_its_partner_admins(db, settings, capsys) -> None:
    """`make run`: seed_demo, then send_notifications through the console backend."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    call_command("seed_demo", "--days", "3", stdout=StringIO())

    call_command("send_notifications")

    printed = capsys.readouterr().out
    assert "To: ann@northwind.example" in printed and "To: sue@southpaw.example" in printed
    assert "ann@northwind.example\tdigest\tWeekly credit digest for Northwind Agency" in printed
    assert "Lumen SARL (8002)" in printed  # Northwind's client at risk


def test_the_beat_sends_the_notifications_every_morning() -> None:
    from partnercredit.celery import app

    entry = app.conf.beat_schedule["send-notifications"]
    assert entry["task"] == send_notifications.name
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}


# --- the credited tier ---------------------------------------------------------------------------


@pytest.fixture
def gold_on_day(partner_a, partner_admin, outsider) -> None:
    """Partner A reaches Gold (100 total, 20 sold) on 2026-03-28, its first managed day."""
    erin = make_employee(partner_a, "erin@alpha.example")
    client = make_client("5001", amount="8000.00")
    give_access(erin, client)
    act(erin, client, "2026-03-28T10:00")
    deal(partner_a, client, "2026-03-01", "400.00")
    recompute_day(day=DAY)


def test_partner_admin_hears_that_the_credited_tier_was_earned(gold_on_day, smtp) -> None:
    notifications_send(day=TODAY)

    [notice] = [m for m in smtp.to("alice@example.com") if "credited tier" in m["Subject"]]
    assert notice["Subject"] == "Alpha Agency: credited tier none → Gold"
    assert "On March 28, 2026 Alpha Agency earned the credited tier Gold" in _text(notice)
    assert "https://credit.example/reports/partners/1001/?date=2026-03-28" in _html(notice)
    assert not [m for m in smtp.to("oscar@example.com") if "credited tier" in m["Subject"]]
    row = SentNotification.objects.get(kind=Kind.TIER_CHANGE)
    assert (row.recipient, row.period) == ("alice@example.com", "2026-03-28")

    notifications_send(day=TODAY + timedelta(days=1))  # the next morning: not again
    assert SentNotification.objects.filter(kind=Kind.TIER_CHANGE).count() == 1


def test_the_digest_gives_the_credited_tier_outlook(gold_on_day, smtp) -> None:
    notifications_send(day=TODAY)

    [digest] = [m for m in smtp.to("alice@example.com") if m["Subject"].startswith("Weekly")]
    text = _text(digest)
    assert "Credited tier: Gold; performance tier: Gold." in text
    assert "Gold is kept at the recalibration of July 15, 2026" in text


def test_a_tier_change_is_not_announced_from_a_stale_day(gold_on_day, smtp) -> None:
    staleness.mark_stale(since=date(2026, 3, 29), what="A late import")

    notifications_send(day=TODAY)

    assert smtp.messages == []
