"""Test personas (STYLE §10) and small builders.

Three personas: program staff, the partner admin of partner A, and an outsider: the partner
admin of partner B.
"""

from collections.abc import Iterator
from datetime import date
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.test import TransactionTestCase
from django.utils import translation

from accounts.models import Partner
from partnercredit.celery import app as celery_app
from tests.builders import TwoPartners, at, make_employee, make_partner, two_partners_build
from tests.workers import UNREACHABLE_BROKER


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a request in Italian (the test client runs it
    in this thread) leaves Italian active, and the next test's messages would speak it."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def load_program_defaults() -> None:
    """The data migration's defaults (groups, catalogue, rates, tiers), idempotently."""
    import_module("credits.migrations.0002_spec_defaults").load(apps, None)
    import_module("credits.migrations.0011_revision_2_rulings").load(apps, None)


@pytest.fixture(autouse=True)
def _program_defaults(request: pytest.FixtureRequest) -> None:
    """A transactional test ends with a flush that also removes the data migration's defaults:
    every test that uses the database gets them back (one query when they are there). That
    includes Django `TestCase` classes (the hypothesis property tests), which use the database
    without a marker or fixture, and may run after a flush: pytest groups the browser tests,
    which are transactional, ahead of them."""
    case = getattr(request.node, "cls", None)
    if case is not None and issubclass(case, TransactionTestCase):
        pass  # its class set the database up; what is loaded here is rolled back with it
    elif request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        request.getfixturevalue("_django_db_helper")
    else:
        return
    if not Group.objects.filter(name="program admins").exists():
        load_program_defaults()


@pytest.fixture
def staff(db) -> User:
    """Program staff: a program admin, who may do everything."""
    user = User.objects.create_user("staff", "staff@program.example", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="program admins"))
    return user


@pytest.fixture
def reviewer(db) -> User:
    """Program staff who read everything and change nothing."""
    user = User.objects.create_user("reviewer", "reviewer@program.example", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="credit reviewers"))
    return user


@pytest.fixture
def partner_a(db):
    return make_partner("1001", "Alpha Agency")


@pytest.fixture
def partner_b(db):
    return make_partner("2002", "Beta Bureau")


def _admin_user(partner, username: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    make_employee(partner, f"{username}@example.com", role="partner_admin", user=user)
    return user


@pytest.fixture
def partner_admin(partner_a) -> User:
    """The partner admin of partner A."""
    return _admin_user(partner_a, "alice")


@pytest.fixture
def outsider(partner_b) -> User:
    """The partner admin of partner B: must never see partner A's data."""
    return _admin_user(partner_b, "oscar")


@pytest.fixture
def access_manager(partner_a) -> User:
    """An employee of partner A with the client access manager permission only."""
    user = User.objects.create_user("cam", "cam@example.com", "pw", is_staff=True)
    make_employee(partner_a, "cam@example.com", is_client_access_manager=True, user=user)
    return user


@pytest.fixture
def media_in_tmp(settings, tmp_path: Path) -> None:
    """Uploaded files go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path


def _reset_producer_pool() -> None:
    # Celery's private connection caches: celery-types do not declare them.
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Point the app's Celery producer at a port where nothing listens, then restore it."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    conf.task_always_eager = False
    conf.update(broker_url=UNREACHABLE_BROKER, broker_transport_options={})
    _reset_producer_pool()
    yield
    conf.update(broker_url=saved[0], broker_transport_options=saved[1])
    _reset_producer_pool()
    conf.task_always_eager = True


@pytest.fixture
def two_partners(partner_a: Partner, partner_b: Partner) -> TwoPartners:
    """Partner A and B each with an employee, a client, activity, a deal, results and an end."""
    return two_partners_build(partner_a, partner_b)


__all__ = ["at"]


@pytest.fixture
def program_today(monkeypatch: pytest.MonkeyPatch):
    """Set the program's today, for stories about days after the real one."""

    def move(day: date) -> None:
        monkeypatch.setattr("partnercredit.days.today", lambda: day)

    return move
