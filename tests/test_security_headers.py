"""Headers, sessions and refusals (issue 18 finding 8, issue 18 must-have 4)."""

import logging
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.builders import make_employee

pytestmark = pytest.mark.django_db


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_page_has_a_content_security_policy_without_inline_scripts(staff) -> None:
    response = _logged_in(staff).get(reverse("reports:standings"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    scripts = re.search(r"script-src[^;]*", policy)
    assert scripts is not None and "unsafe-inline" not in scripts.group(0)
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/login/", "/reports/standings/", "/reports/why/"]
)
def test_our_pages_have_no_inline_script_and_style_blocks_carry_the_nonce(url: str, staff) -> None:
    response = _logged_in(staff).get(url, follow=True)
    html = response.content.decode()
    found = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    nonce = found.group(1) if found else "(none in the policy)"
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script at {url}: {tag}"
    assert not re.search(r"\son[a-z]+=", html), f"inline event handler at {url}"
    for tag in re.findall(r"<style\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag, f"a <style> without the nonce at {url}"


@pytest.mark.parametrize(
    "url",
    [
        "/reports/standings/",
        "/reports/standings.csv?date=2026-01-05",
        "/reports/standings.xlsx?date=2026-01-05",
        "/reports/partners/1001/",
        "/admin/accounts/clientaccount/",
    ],
)
def test_reports_exports_and_admin_pages_are_never_stored(url: str, staff, two_partners) -> None:
    response = _logged_in(staff).get(url)
    assert response.status_code == 200, url
    assert "no-store" in response["Cache-Control"]


def test_sessions_last_a_working_day_by_default() -> None:
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


def test_a_plain_employee_with_a_login_reads_no_report(two_partners) -> None:
    user = User.objects.create_user("eve", "eve@alpha.example", "pw", is_staff=True)
    make_employee(two_partners.partner_a, "eve@alpha.example", user=user)
    client = _logged_in(user)
    for url in (
        "/reports/",
        "/reports/standings/",
        "/reports/partners/1001/",
        "/reports/clients/777001/",
        "/reports/why/",
        "/reports/standings.csv",
    ):
        assert client.get(url).status_code == 403, url
    assert client.get("/admin/accounts/seat/").status_code == 403


def test_a_client_access_manager_reads_the_reports_of_her_partner(
    access_manager, two_partners
) -> None:
    client = _logged_in(access_manager)
    assert client.get("/reports/partners/1001/").status_code == 200
    assert client.get("/reports/partners/2002/").status_code == 404


def test_a_403_is_logged_as_one_line_without_a_traceback(two_partners, caplog) -> None:
    user = User.objects.create_user("eve", "eve@alpha.example", "pw", is_staff=True)
    make_employee(two_partners.partner_a, "eve@alpha.example", user=user)
    from partnercredit.middleware import ForbiddenWithoutTraceback

    logging.getLogger("django.request").addFilter(ForbiddenWithoutTraceback())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert _logged_in(user).get("/reports/standings/").status_code == 403
    forbidden = [r for r in caplog.records if getattr(r, "status_code", None) == 403]
    assert forbidden
    assert all(r.exc_info is None for r in forbidden)
    assert "Traceback" not in caplog.text


def test_the_logging_settings_install_the_filter() -> None:
    logging_config: dict = settings.LOGGING
    assert "forbidden_plain" in logging_config["loggers"]["django.request"]["filters"]
