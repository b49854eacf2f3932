"""Reports say when their day was computed and, when a later change made it stale, say so
plainly: which change, when, and when it will be recomputed (issue 12 point 4)."""

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from credits.engine import recompute_day
from credits.models import DayResult
from tests.builders import act, give_access, make_client, make_employee

pytestmark = pytest.mark.django_db

D = date(2026, 3, 8)


@pytest.fixture
def world(partner_a):
    erin = make_employee(partner_a, "erin@alpha.example")
    client = make_client("9001")
    give_access(erin, client)
    act(erin, client, "2026-03-02T10:00")
    recompute_day(day=date(2026, 3, 5))
    recompute_day(day=D)
    return erin, client


def _browser(user: User) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


PAGES = [
    ("reports:home", [], {}),
    ("reports:standings", [], {}),
    ("reports:partner", ["1001"], {}),
    ("reports:client", ["9001"], {}),
    ("reports:why", [], {"partner": "1001", "client": "9001"}),
    ("reports:projection", ["1001"], {}),
]


@pytest.mark.parametrize(("name", "args", "params"), PAGES)
def test_a_fresh_day_says_when_it_was_computed_and_has_no_banner(
    world, staff, name: str, args: list, params: dict
) -> None:
    html = _browser(staff).get(reverse(name, args=args), params).content.decode()
    computed = DayResult.objects.get(day=D).computed_at
    assert f"Showing <strong>{D}</strong>, computed {computed:%Y-%m-%d %H:%M}" in html
    assert 'id="stale-banner"' not in html


@pytest.mark.parametrize(("name", "args", "params"), PAGES)
def test_a_stale_day_says_which_change_and_that_it_is_recomputed_tonight(
    partner_admin, world, name: str, args: list, params: dict
) -> None:
    erin, client = world
    act(erin, client, "2026-03-06T09:00")  # backdated: 03-06 on are stale
    response = _browser(partner_admin).get(reverse(name, args=args), {"date": str(D), **params})
    html = response.content.decode()
    banner = html.split('id="stale-banner"')[1].split("</div>")[0]
    assert "Out of date" in banner and "affects 2026-03-06 on" in banner
    assert "recomputed tonight" in banner and "Recompute now" not in banner
    # 03-05 is before the change: still fresh
    fresh = _browser(partner_admin).get(reverse(name, args=args), {"date": "2026-03-05", **params})
    assert 'id="stale-banner"' not in fresh.content.decode()


def test_program_admins_recompute_a_stale_day_from_its_banner(
    staff, world, django_capture_on_commit_callbacks
) -> None:
    erin, client = world
    act(erin, client, "2026-03-06T09:00")
    page = reverse("reports:partner", args=["1001"]) + f"?date={D}"
    browser = _browser(staff)
    assert 'value="Recompute now"' in browser.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("reports:recompute"), {"date": str(D), "next": page})
    assert response.status_code == 302 and response["Location"] == page
    html = browser.get(page).content.decode()
    assert 'id="stale-banner"' not in html
    assert f"Recompute of {D} queued" in html


def test_credit_reviewers_and_partner_admins_cannot_recompute(
    world, reviewer, partner_admin
) -> None:
    for user in (reviewer, partner_admin):
        response = _browser(user).post(reverse("reports:recompute"), {"date": str(D)})
        assert response.status_code == 403


def test_reports_open_on_the_latest_published_ended_day(world, staff, program_today) -> None:
    program_today(D)  # 03-08 is today: published earlier, but not ended
    html = _browser(staff).get(reverse("reports:standings")).content.decode()
    assert "Showing <strong>2026-03-05</strong>" in html


def test_the_403_page_is_styled_and_offers_a_way_back(db) -> None:
    stranger = User.objects.create_user("nobody", "n@example.com", "pw", is_staff=True)
    response = _browser(stranger).get(reverse("reports:home"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "You may not see this page" in html
    assert f'href="{reverse("admin:index")}"' in html and "Log out" in html
    assert 'id="header"' in html  # the admin's look
