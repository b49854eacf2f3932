"""The home pages in a real browser: a partner admin logs in, lands on their home page, follows
"Not earning — fix these" to the fix, and asks the projection a what-if; program staff land on
the program's overview. Every report and home page passes axe-core without a serious or
critical violation."""

import json
import re
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from accounts import services
from accounts.models import Seat
from credits.engine import recompute_day
from tests.builders import act, at, deal, give_access, make_client, make_employee

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 3, 10)
AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"


def log_in(page: Page, base: str, username: str) -> None:
    """Through the real login form, without a `next`: where login lands."""
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


def assert_accessible(page: Page) -> None:
    """axe-core on the page as shown: no serious or critical violation. The script is served
    from the page's own origin (a routed URL), so the app's Content-Security-Policy, which
    allows scripts from 'self' only, stays in force while axe runs."""
    found = re.match(r"https?://[^/]+", page.url)
    assert found is not None, page.url
    origin = found.group(0)
    page.route(
        f"{origin}/__axe__.js",
        lambda route: route.fulfill(body=AXE.read_bytes(), content_type="text/javascript"),
    )
    page.add_script_tag(url=f"{origin}/__axe__.js")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:160] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: {json.dumps(bad, indent=1)}"


@pytest.fixture
def world(partner_a, partner_b) -> dict:
    """DAY computed: Eve of partner A earns in 9001 (at risk) and 9003; she worked in 9002
    without a seat. Bert of partner B earns in 9100."""
    eve = make_employee(partner_a, "eve@alpha.example")
    earning, no_seat, other = make_client("9001"), make_client("9002"), make_client("9003")
    give_access(eve, earning)
    act(eve, earning, "2026-01-15T10:00")  # credit until 03-16: at risk on DAY
    give_access(eve, other)
    act(eve, other, "2026-03-05T10:00")
    services.client_assign(employee=eve, client=no_seat, at=at("2026-01-01"))
    act(eve, no_seat, "2026-03-02T10:00")
    deal(partner_a, earning, "2026-01-20", "2000.00")
    bert = make_employee(partner_b, "bert@beta.example")
    theirs = make_client("9100")
    give_access(bert, theirs)
    act(bert, theirs, "2026-03-03T10:00")
    recompute_day(day=date(2026, 2, 8))
    recompute_day(day=DAY)
    return {"eve": eve, "no_seat": no_seat}


def test_a_partner_admin_lands_home_and_follows_a_fix_to_the_seat_form(
    page: Page,
    live_server,
    partner_admin: User,
    world: dict,
) -> None:
    base = live_server.url
    log_in(page, base, "alice")
    expect(page).to_have_url(re.compile(r"/reports/home/$"))
    expect(page.locator("#home-tier")).to_contain_text("performing at")
    expect(page.locator("#at-risk")).to_contain_text("9001")
    expect(page.locator("#home-points")).to_contain_text("USD 2000.00")  # sold MRR
    assert_accessible(page)

    fixes = page.locator("#not-earning")
    expect(fixes.get_by_role("heading", name=re.compile("No seat"))).to_be_visible()
    expect(fixes).not_to_contain_text("9100")
    fixes.get_by_role("link", name="Add a seat for eve@alpha.example in 9002").click()
    expect(page).to_have_url(re.compile(r"/admin/accounts/seat/add/"))
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    assert Seat.objects.filter(employee=world["eve"], client=world["no_seat"], end=None).exists()


def test_the_projection_answers_a_what_if(
    page: Page, live_server, partner_admin: User, world
) -> None:
    base = live_server.url
    log_in(page, base, "alice")
    projection = page.locator("#projection")
    expect(projection.locator("svg.projection-chart")).to_be_visible()
    before = projection.locator("#projection-table tbody tr").first.inner_text()
    page.locator("#what-if").get_by_label(re.compile("9003")).check()
    page.locator("#what-if").get_by_role("button", name="Project").click()
    expect(page.locator("#projection")).to_contain_text("What-if: without 9003")
    expect(page.locator("#what-if input[value='9003']")).to_be_checked()
    page.locator("#projection-table summary").click()
    after = page.locator("#projection-table tbody tr").first.inner_text()
    assert before != after  # 9003's points are gone from D+1
    assert_accessible(page)


def test_program_staff_land_on_the_overview_and_every_report_is_accessible(
    page: Page,
    live_server,
    staff: User,
    world,
) -> None:
    base = live_server.url
    log_in(page, base, "staff")
    expect(page).to_have_url(re.compile(r"/reports/home/$"))
    expect(page.locator("#tier-counts")).to_be_visible()
    expect(page.locator("#last-run")).to_contain_text("Succeeded")
    assert_accessible(page)
    for path in (
        "/reports/standings/",
        "/reports/partners/1001/",
        "/reports/partners/1001/projection/",
        "/reports/clients/9002/",
        "/reports/why/?partner=1001&client=9002",
        "/reports/why/?partner=1001&client=9OO2",
    ):
        page.goto(base + path)
        expect(page.locator(".day-shown")).to_be_visible()
        assert_accessible(page)


def test_a_partner_admin_report_pages_are_accessible(
    page: Page, live_server, partner_admin: User, world
) -> None:
    base = live_server.url
    log_in(page, base, "alice")
    for path in (
        "/reports/standings/",
        "/reports/partners/1001/",
        "/reports/clients/9001/",
        "/reports/why/?client=9002",
    ):
        page.goto(base + path)
        assert_accessible(page)
