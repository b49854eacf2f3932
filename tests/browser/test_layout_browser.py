"""Changelists in a 1366 px window (a common laptop): every key column — hub id, partner key,
status, and the dates (start, end, at, day, closed on) — is in view without scrolling sideways
and on one line, with partner, employee and client names long enough to push it out."""

from datetime import date

import pytest
from django.contrib import admin
from django.urls import reverse
from playwright.sync_api import Page

from accounts import services
from credits.engine import recompute_day
from tests.builders import act, at, deal, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH, HEIGHT = 1366, 768
KEY_COLUMNS = ("hub_id", "key", "status", "start", "end", "at", "day", "closed_on")
LONG = "Consulenza Strategica Internazionale per la Crescita Digitale delle Imprese"


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


@pytest.fixture
def squeezed_world(partner_a):
    """Long partner, employee and client names on every kind of row a changelist shows."""
    other = make_partner("1002003004", LONG)
    for n, partner in enumerate((partner_a, other)):
        employee = make_employee(
            partner, f"francesca.bianchi-lombardi.{n}@consulenza-strategica.example"
        )
        client = make_client(f"90{n}1234567", added="2025-01-01")
        client.name = f"{LONG} {n}"
        client.save()
        give_access(employee, client, when="2026-01-02T09:30")
        act(employee, client, "2026-03-05T10:00")
        deal(partner, client, "2026-01-20", "2000.00")
        services.seat_remove(employee=employee, client=client, at=at("2026-03-06T11:45"))
    recompute_day(day=date(2026, 3, 10))


def _changelists(staff_view: bool) -> list[str]:
    urls = []
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    return urls if staff_view else [u for u in urls if u.startswith("/admin/accounts/")]


def _misplaced_key_cells(page: Page) -> list[str]:
    """The key-column cells past the window's right edge, or drawn on more than one line."""
    return page.evaluate(
        """([columns, width]) => {
          const bad = [];
          for (const col of columns) {
            for (const cell of document.querySelectorAll(
                `#result_list td.field-${col}, #result_list th.field-${col}`)) {
              if (!cell.innerText.trim()) continue;
              const range = document.createRange();
              range.selectNodeContents(cell);
              const rects = [...range.getClientRects()];
              const lines = new Set(rects.map(r => Math.round(r.top)));
              const right = Math.max(...rects.map(r => r.right));
              if (lines.size > 1) bad.push(`${col} wraps: ${cell.innerText.trim()}`);
              if (right > width) bad.push(`${col} ends at ${Math.round(right)} px`);
            }
          }
          return bad;
        }""",
        [list(KEY_COLUMNS), WIDTH],
    )


@pytest.mark.parametrize("who", ["staff", "partner_admin"])
def test_changelists_keep_their_key_columns_on_one_line_at_1366_px(
    page: Page, live_server, request: pytest.FixtureRequest, squeezed_world, who: str
) -> None:
    user = request.getfixturevalue(who)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    log_in(page, live_server.url, user.username)
    checked = 0
    for url in _changelists(staff_view=who == "staff"):
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None
        if response.status in (403, 404):
            continue  # not this person's list (scoping is tested elsewhere)
        assert response.status == 200, url
        if not page.locator("#result_list tbody tr").count():
            continue
        checked += 1
        misplaced = _misplaced_key_cells(page)
        assert not misplaced, f"{url}: {misplaced}"
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= WIDTH, f"{url}: the page is {overflow} px wide"
    assert checked >= (8 if who == "staff" else 4), checked
