"""A partner admin switches the app to Italian in a real browser, and back to English."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils.translation import trans_real
from playwright.sync_api import Page, expect

from notifications.services import preference_for
from tests.browser.test_browser import log_in
from tests.test_i18n import MO, PO

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _compiled() -> None:
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        call_command("compilemessages", "--ignore=var", "--ignore=.venv", verbosity=0)
    # A private cache that django-stubs do not declare.
    trans_real._translations.clear()  # type: ignore[attr-defined]


def _saved_language(user: User) -> str:
    return preference_for(user=User.objects.get(pk=user.pk)).language


def test_a_partner_admin_switches_to_italian_and_back(
    page: Page,
    live_server,
    partner_admin: User,
) -> None:
    base = live_server.url
    log_in(page, base, "alice")
    page.goto(f"{base}/notifications/settings/")
    expect(page.locator("h1")).to_have_text("Notification settings")

    page.click("#language-switch button[value=it]")

    expect(page).to_have_url(re.compile(r"/notifications/settings/$"))
    expect(page.locator("h1")).to_have_text("Impostazioni di notifica")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.locator("#notification-settings")).to_contain_text("Riepilogo settimanale")
    assert _saved_language(partner_admin) == "it"

    page.goto(f"{base}/admin/")  # the choice follows the person through the app
    expect(page.locator("html")).to_have_attribute("lang", "it")

    page.click("#language-switch button[value=en]")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{base}/notifications/settings/")
    expect(page.locator("h1")).to_have_text("Notification settings")
    assert _saved_language(partner_admin) == "en"
