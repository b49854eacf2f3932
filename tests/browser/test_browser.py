"""A person in a real browser: the partner admin manages access, the outsider is kept out, and
program staff read the reports and recompute a day."""

import csv
import re
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from accounts import services
from accounts.models import Assignment, ClientAccount, Employee, Seat
from credits.engine import recompute_day
from credits.models import DayResult, RecomputeRun
from tests.builders import act, at, give_access, make_client, make_employee

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 3, 10)


def log_in(page: Page, base: str, username: str, password: str = "pw") -> None:
    """Through the real login form, as a person does (django-axes sees it)."""
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def success_message(page: Page) -> str:
    return page.locator("ul.messagelist li.success").inner_text()


@pytest.fixture
def client_9001(partner_a) -> ClientAccount:
    """Partner A's client account: a colleague of Alice already works in it."""
    client = make_client("9001")
    give_access(make_employee(partner_a, "bob@alpha.example"), client)
    return client


def test_a_partner_admin_manages_employees_and_client_access_in_the_browser(
    page: Page,
    live_server,
    settings,
    partner_admin: User,
    client_9001: ClientAccount,
) -> None:
    settings.AXES_ENABLED = True  # the login form works with throttling on
    base = live_server.url
    log_in(page, base, "alice")

    # Add an employee.
    page.goto(f"{base}/admin/accounts/employee/add/")
    page.fill("#id_email", "nina@alpha.example")
    page.fill("#id_name", "Nina")
    page.click("input[name=_save]")
    assert "nina@alpha.example" in success_message(page)
    nina = Employee.objects.get(email="nina@alpha.example")
    assert nina.partner.key == "1001"

    # Assign the client to her (step 2), then give her a seat in it (step 3).
    for model in ("assignment", "seat"):
        page.goto(f"{base}/admin/accounts/{model}/add/")
        page.select_option("#id_employee", label=str(nina))
        page.fill("#id_client_hub_id", "9001")
        page.click("input[name=_save]")
        expect(page.locator("ul.messagelist li.success")).to_be_visible()
    assert Assignment.objects.filter(employee=nina, client=client_9001, end=None).exists()
    assert Seat.objects.filter(employee=nina, client=client_9001, end=None).exists()

    # The client's page lists both employees; remove them all, with the typed confirmation.
    page.goto(f"{base}/admin/accounts/clientaccount/{client_9001.pk}/change/")
    expect(page.get_by_text("nina@alpha.example")).to_be_visible()
    page.get_by_role("link", name="Remove all partner employees from this client account").click()
    page.fill("#id_confirmation", "9002")
    page.fill("#id_reason", "Contract ended")
    page.click("input[type=submit][value=Confirm]")
    expect(page.locator(".errorlist")).to_contain_text("9001")
    assert Seat.objects.filter(client=client_9001, end=None).count() == 2  # nothing happened

    page.fill("#id_confirmation", "9001")
    page.fill("#id_reason", "Contract ended")
    page.click("input[type=submit][value=Confirm]")
    expect(page.locator("ul.messagelist li.success")).to_contain_text("2 seats ended")
    assert Seat.objects.filter(client=client_9001, end=None).count() == 0


def test_an_outsider_partner_admin_cannot_reach_partner_a_pages(
    page: Page,
    live_server,
    partner_admin: User,
    outsider: User,
    client_9001: ClientAccount,
) -> None:
    base = live_server.url
    bob = Employee.objects.get(email="bob@alpha.example")
    log_in(page, base, "oscar")

    page.goto(f"{base}/admin/accounts/employee/")
    expect(page.locator("#result_list, .paginator").first).to_be_visible()
    expect(page.get_by_text("bob@alpha.example")).to_have_count(0)

    for path in (
        f"/admin/accounts/employee/{bob.pk}/change/",
        f"/admin/accounts/clientaccount/{client_9001.pk}/change/",
        f"/admin/accounts/clientaccount/{client_9001.pk}/remove-all-employees/",
    ):
        response = page.goto(base + path)
        assert response is not None
        # The admin answers a missing object by going home with a message, or with 403/404.
        refused = response.status in (403, 404) or (
            page.url.rstrip("/").endswith("/admin")
            and "doesn’t exist" in page.locator(".messagelist").inner_text()
        )
        assert refused, (path, response.status, page.url)
        expect(page.get_by_text("bob@alpha.example")).to_have_count(0)

    for path in ("/reports/partners/1001/", "/reports/clients/9001/"):
        response = page.goto(base + path)
        assert response is not None and response.status == 404, path


@pytest.fixture
def computed_world(partner_a, partner_b) -> None:
    """DAY computed: partner A manages 9001; its employee lacks the seat in 9002."""
    eve = make_employee(partner_a, "eve@alpha.example")
    earning, no_seat = make_client("9001"), make_client("9002")
    give_access(eve, earning)
    act(eve, earning, "2026-03-01T10:00")
    services.client_assign(employee=eve, client=no_seat, at=at("2026-01-01"))
    act(eve, no_seat, "2026-03-02T10:00")
    recompute_day(day=DAY)


def test_program_staff_review_the_reports_download_the_csv_and_recompute_a_day(
    page: Page,
    live_server,
    staff: User,
    computed_world: None,
) -> None:
    base = live_server.url
    log_in(page, base, "staff")

    page.goto(f"{base}/reports/standings/?date={DAY}")
    expect(page.locator("h1")).to_contain_text("Program standings")
    expect(page.get_by_role("link", name="1001")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    rows = list(csv.DictReader(StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert {row["partner"] for row in rows} == {"1001", "2002"}
    alpha = next(row for row in rows if row["partner"] == "1001")
    assert alpha["date"] == str(DAY)
    assert float(alpha["managed_points"]) == 10.0  # USD 1,000 → 10 points

    page.get_by_role("link", name="1001").click()
    expect(page.locator("h1")).to_contain_text("Partner")
    expect(page.locator("#credit-lines")).to_contain_text("9001")

    page.goto(f"{base}/reports/why/?date={DAY}")
    page.fill("#id_partner", "1001")
    page.fill("#id_client", "9002")
    page.click("input[type=submit][value=Check]")
    expect(page.locator(".verdict")).to_contain_text("Not earning managed credit")
    expect(page.locator("tr.first-failing")).to_contain_text("seat", ignore_case=True)

    # Recompute now: Celery is eager here, so the run is done when the page comes back.
    previous = DayResult.objects.get(day=DAY).run_id
    page.goto(f"{base}/admin/credits/recomputerun/")
    page.get_by_role("link", name="Recompute now").click()
    page.fill("#id_first", str(DAY))
    page.click("input[type=submit][value=Recompute]")
    expect(page.locator("ul.messagelist li.success, ul.messagelist li.info").first).to_contain_text(
        f"Recompute of {DAY} queued"
    )
    expect(page.locator("div.field-status")).to_contain_text("Succeeded")
    run = RecomputeRun.objects.latest("pk")
    assert run.status == RecomputeRun.Status.SUCCEEDED and run.requested_by == staff
    assert DayResult.objects.get(day=DAY).run_id == run.pk != previous
