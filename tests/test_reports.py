"""The HTML reports: content, scoping by partner, downloads and query counts (issue 6)."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts import services as access
from accounts.models import ClientAccount, Partner
from credits.engine import counted_days_refresh
from credits.models import CreditLine, DayResult, RecomputeRun, Standing
from tests.builders import act, at, give_access, make_client, make_employee, make_partner

DAY = date(2026, 3, 31)
EARLIER = date(2026, 3, 1)
COMPUTED_AT = timezone.make_aware(datetime(2026, 4, 1, 2, 30))


def publish(day: date, warnings: list[str] | None = None) -> RecomputeRun:
    """A succeeded run published for `day`, as the engine leaves it."""
    run = RecomputeRun.objects.create(day=day, status="succeeded", warnings=warnings or [])
    DayResult.objects.create(day=day, run=run, computed_at=COMPUTED_AT)
    return run


def standing(run: RecomputeRun, partner: Partner, managed: str, sold: str, tier: str = "") -> None:
    Standing.objects.create(
        run=run,
        day=run.day,
        partner=partner,
        managed_points=Decimal(managed),
        sold_points=Decimal(sold),
        total_points=Decimal(managed) + Decimal(sold),
        managed_clients=1,
        qualifying_activities=3,
        tier=tier,
    )


def line(
    run: RecomputeRun,
    partner: Partner,
    client: ClientAccount,
    points: str | None,
    *,
    sharing: int = 1,
    until: date = date(2026, 5, 1),
    employee=None,
) -> CreditLine:
    return CreditLine.objects.create(
        run=run,
        day=run.day,
        partner=partner,
        client=client,
        currency="USD",
        mrr=1000,
        partners_sharing=sharing,
        share=(Decimal(1000) / sharing).quantize(Decimal("0.01")),
        points=None if points is None else Decimal(points),
        relationship_started=date(2026, 1, 5),
        last_qualifying_activity=date(2026, 3, 2),
        last_employee=employee,
        credit_until=until,
    )


@pytest.fixture
def world(partner_a, partner_b):
    """A and B share client 5001; A alone has 5002 (at risk); 5003 was A's on 03-01 only."""
    erin = make_employee(partner_a, "erin@alpha.example")
    bob = make_employee(partner_b, "bob@beta.example")
    shared, own, gone = make_client("5001"), make_client("5002"), make_client("5003")
    give_access(erin, shared)
    give_access(erin, own)
    give_access(bob, shared)
    act(erin, shared, "2026-03-02T10:00")
    act(bob, shared, "2026-03-03T10:00")
    before = publish(EARLIER)
    standing(before, partner_a, "5", "0")
    standing(before, partner_b, "5", "0")
    line(before, partner_a, gone, "7")
    line(before, partner_a, shared, "10")
    run = publish(DAY, warnings=["No currency rate for XYZ on 2026-03-31."])
    standing(run, partner_a, "90", "25", "")
    standing(run, partner_b, "300", "100", "Gold")
    line(run, partner_a, shared, "5", sharing=2, employee=erin)
    line(run, partner_a, own, "10", until=date(2026, 4, 10), employee=erin)
    line(run, partner_b, shared, "5", sharing=2, employee=bob)
    return {"erin": erin, "bob": bob, "shared": shared, "own": own, "gone": gone}


def _get(user: User | None, url: str, **params: str):
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser.get(url, params)


def _html(user: User, url: str, **params: str) -> str:
    response = _get(user, url, **params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


STANDINGS = reverse("reports:standings")
PARTNER_A = reverse("reports:partner", args=["1001"])
CLIENT_SHARED = reverse("reports:client", args=["5001"])
WHY = reverse("reports:why")


# --- Login and scoping -----------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(world) -> None:
    response = _get(None, STANDINGS)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_login_with_neither_program_role_nor_partner_is_refused(world) -> None:
    stranger = User.objects.create_user("nobody", "n@example.com", "pw", is_staff=True)
    assert _get(stranger, STANDINGS).status_code == 403


def test_outsider_standings_do_not_include_partner_a(world, outsider) -> None:
    html = _html(outsider, STANDINGS)
    assert "2002" in html
    assert "Alpha Agency" not in html
    assert 'href="/reports/partners/1001/' not in html


@pytest.mark.parametrize(
    "url,params",
    [
        (PARTNER_A, {}),
        (reverse("reports:client", args=["5002"]), {}),
    ],
)
def test_outsider_cannot_see_partner_a_pages(world, outsider, url: str, params: dict) -> None:
    assert _get(outsider, url, **params).status_code == 404


def _why_answer(user: User, **params: str) -> str:
    """The why page's answer without the echoed form values."""
    html = _html(user, WHY, **params)
    assert 'id="checklist"' not in html
    return html.split('id="why-errors"')[1].split("</ul>")[0]


@pytest.mark.parametrize(
    "params,made_up",
    [
        ({"partner": "1001", "client": "5001"}, {"partner": "1999", "client": "5001"}),
        (
            {"partner": "1001", "client": "5002", "employee": "erin@alpha.example"},
            {"partner": "1999", "client": "5002", "employee": "erin@alpha.example"},
        ),
        ({"partner": "2002", "client": "5002"}, {"partner": "2002", "client": "5999"}),
    ],
)
def test_outsider_asking_why_about_partner_a_gets_the_answer_of_a_made_up_key(
    world, outsider, params: dict, made_up: dict
) -> None:
    answer = _why_answer(outsider, **params)
    assert "Alpha" not in answer and "erin" not in answer
    assert answer.replace("1001", "X").replace("5002", "X") == _why_answer(
        outsider, **made_up
    ).replace("1999", "X").replace("5999", "X")


def test_a_mistyped_key_on_the_why_form_is_a_form_error_not_a_404(world, staff) -> None:
    response = _get(staff, WHY, partner="10O1", client="5001")
    assert response.status_code == 200
    assert "No partner with key 10O1" in response.content.decode()
    response = _get(staff, WHY, partner="1001", client="50O1")
    assert response.status_code == 200
    assert "No client account with hub id 50O1" in response.content.decode()
    response = _get(staff, WHY, partner="1001", client="5001", employee="eirn@alpha.example")
    assert "1001 has no employee eirn@alpha.example" in response.content.decode()


@pytest.mark.parametrize("name", ["reports:standings_csv", "reports:standings_xlsx"])
def test_outsider_downloads_do_not_include_partner_a(world, outsider, name: str) -> None:
    response = _get(outsider, reverse(name))
    assert response.status_code == 200
    assert b"1001" not in response.content
    assert b"Alpha" not in response.content


def test_reports_index_sends_a_partner_admin_to_their_home_page(world, partner_admin) -> None:
    response = _get(partner_admin, reverse("reports:index"))
    assert response["Location"] == reverse("reports:home")


# --- The day shown ---------------------------------------------------------------------------


def test_every_page_says_which_day_it_shows_when_it_was_computed_and_its_warnings(
    world,
    staff,
) -> None:
    for url, params in [
        (STANDINGS, {}),
        (PARTNER_A, {}),
        (CLIENT_SHARED, {}),
        (WHY, {"partner": "1001", "client": "5001"}),
    ]:
        html = _html(staff, url, **params)
        assert "Showing <strong>2026-03-31</strong>, computed 2026-04-01 02:30" in html, url
    assert "No currency rate for XYZ on 2026-03-31." in _html(staff, STANDINGS)


def test_a_missing_rate_warning_is_shown_only_with_an_affected_line_of_ones_own(
    world,
    staff,
    partner_admin,
    outsider,
) -> None:
    run = DayResult.objects.get(day=DAY).run
    secret = make_client("6001")
    line(run, Partner.objects.get(key="2002"), secret, None)
    line(run, Partner.objects.get(key="2002"), world["shared"], None)
    warning = "No units-per-point rate for USD on 2026-03-31"
    partner_b = reverse("reports:partner", args=["2002"])
    assert warning not in _html(staff, PARTNER_A)
    assert warning in _html(staff, partner_b) and "6001" in _html(staff, partner_b)
    for url, params in [
        (PARTNER_A, {}),
        (STANDINGS, {}),
        (CLIENT_SHARED, {}),
        (WHY, {"partner": "1001", "client": "5001"}),
        (reverse("reports:home"), {}),
    ]:
        html = _html(partner_admin, url, **params)
        assert warning not in html and "XYZ" not in html and "6001" not in html, url
    html = _html(outsider, reverse("reports:home"))
    assert warning in html and "(clients 5001, 6001)" in html
    assert warning in _html(outsider, CLIENT_SHARED)


def test_a_day_never_computed_says_so_instead_of_showing_zeros(world, staff) -> None:
    for url in [STANDINGS, PARTNER_A, CLIENT_SHARED]:
        html = _html(staff, url, date="2026-03-15")
        assert "2026-03-15 has never been computed" in html, url
        assert "0.00" not in html, url


def test_with_nothing_computed_the_standings_say_no_day_has_been_computed(staff, partner_a) -> None:
    html = _html(staff, STANDINGS)
    assert "No day has been computed yet" in html


def test_a_day_never_computed_has_no_download(world, staff) -> None:
    assert _get(staff, reverse("reports:standings_csv"), date="2026-03-15").status_code == 404


# --- Program standings -----------------------------------------------------------------------


def test_staff_see_every_partner_with_points_tier_next_tier_and_change(world, reviewer) -> None:
    html = _html(reviewer, STANDINGS)
    assert "Alpha Agency" in html and "Beta Bureau" in html
    assert 'href="/reports/partners/1001/?date=2026-03-31"' in html
    assert "+110.00" in html  # A: 115 total now, 5 thirty days earlier


def test_points_to_the_next_tier_and_the_binding_minimum(world, staff) -> None:
    rows = list(
        csv.DictReader(io.StringIO(_get(staff, reverse("reports:standings_csv")).content.decode()))
    )
    a = next(r for r in rows if r["partner"] == "1001")
    assert (a["tier"], a["next_tier"]) == ("", "Gold")
    assert a["total_points"] == "115.00"
    assert a["points_to_next_tier"] == "0.00"  # 115 ≥ 100 total, 25 ≥ 20 sold
    b = next(r for r in rows if r["partner"] == "2002")
    assert b["next_tier"] == "Platinum"
    assert b["points_to_next_tier"] == "0.00"
    assert b["binding_minimum"] == ""


def test_the_binding_minimum_is_the_largest_gap(world, staff) -> None:
    Standing.objects.filter(partner__key="1001", day=DAY).update(
        managed_points=Decimal(90), sold_points=Decimal(5), total_points=Decimal(95)
    )  # against Gold's 100 total / 20 sold
    rows = list(
        csv.DictReader(io.StringIO(_get(staff, reverse("reports:standings_csv")).content.decode()))
    )
    a = next(r for r in rows if r["partner"] == "1001")
    assert a["points_to_next_tier"] == "15.00"
    assert a["binding_minimum"] == "sold points"


def test_standings_filter_by_tier_and_search(world, staff) -> None:
    gold = _html(staff, STANDINGS, tier="Gold")
    assert "Beta Bureau" in gold and "Alpha Agency" not in gold
    untiered = _html(staff, STANDINGS, tier="-")
    assert "Alpha Agency" in untiered and "Beta Bureau" not in untiered
    found = _html(staff, STANDINGS, q="alpha")
    assert "Alpha Agency" in found and "Beta Bureau" not in found


def test_standings_sort_by_total_points_descending(world, staff) -> None:
    html = _html(staff, STANDINGS, sort="-total")
    assert html.index("Beta Bureau") < html.index("Alpha Agency")
    html = _html(staff, STANDINGS, sort="total")
    assert html.index("Alpha Agency") < html.index("Beta Bureau")


def test_standings_show_fifty_rows_a_page(staff, db) -> None:
    run = publish(DAY)
    for i in range(60):
        standing(run, make_partner(f"{3000 + i}"), "1", "0")
    first = _html(staff, STANDINGS)
    assert first.count('href="/reports/partners/') == 50
    assert "Page 1 of 2" in first
    second = _html(staff, STANDINGS, page="2")
    assert second.count('href="/reports/partners/') == 10


def test_the_csv_download_has_the_filtered_rows_and_neutralised_formulas(world, staff) -> None:
    Partner.objects.filter(key="2002").update(name="=HYPERLINK(1)")
    response = _get(staff, reverse("reports:standings_csv"), tier="Gold")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == [
        "date",
        "partner",
        "name",
        "managed_points",
        "sold_points",
        "total_points",
    ]
    assert len(rows) == 2
    assert rows[1][:7] == [
        "2026-03-31",
        "2002",
        "'=HYPERLINK(1)",
        "300.00",
        "100.00",
        "400.00",
        "Gold",
    ]


def test_the_xlsx_download_has_the_filtered_rows_and_neutralised_formulas(world, staff) -> None:
    Partner.objects.filter(key="1001").update(name="@SUM(A1)")
    response = _get(staff, reverse("reports:standings_xlsx"), q="1001")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][1:3] == ("1001", "@SUM(A1)")  # as typed: no visible apostrophe (issue 18)
    assert sheet.cell(row=2, column=3).data_type == "s"  # text, never a formula
    assert rows[1][5] == 115


def test_a_partner_admin_sees_only_their_own_standing(world, partner_admin) -> None:
    html = _html(partner_admin, STANDINGS)
    assert "Alpha Agency" in html
    assert "Beta Bureau" not in html


# --- Partner page ----------------------------------------------------------------------------


def test_partner_page_lists_clients_with_share_points_and_last_activity(
    world, partner_admin
) -> None:
    html = _html(partner_admin, PARTNER_A)
    assert "Client 5001" in html and "Client 5002" in html
    assert "500.00" in html  # the shared client's share
    assert "erin@alpha.example" in html
    assert "2026-05-01" in html  # credit until
    assert 'href="/reports/clients/5001/?date=2026-03-31"' in html
    assert "/reports/why/?partner=1001&amp;client=5001" in html


def test_partner_page_lists_at_risk_clients_whose_credit_ends_within_14_days(world, staff) -> None:
    html = _html(staff, PARTNER_A)
    at_risk = html[html.index('id="at-risk"') : html.index("New and lost")]
    assert "Client 5002" in at_risk
    assert "Client 5001" not in at_risk


def test_partner_page_shows_new_and_lost_points_with_their_clients(world, staff) -> None:
    html = _html(staff, PARTNER_A, **{"from": "2026-03-01", "to": "2026-03-31"})
    section = html[html.index('id="points-changes"') :]
    assert "new <strong>+10.00</strong>, lost <strong>−7.00</strong>" in html
    assert "Client 5002" in section and "Client 5003" in section
    assert "−5.00" in section  # 5001: 10 → 5 once shared


def test_partner_page_says_a_range_day_was_never_computed(world, staff) -> None:
    html = _html(staff, PARTNER_A, **{"from": "2026-02-01", "to": "2026-03-31"})
    assert "Cannot compare: 2026-02-01 never computed." in html


def test_partner_page_shows_tier_progress_against_each_minimum(world, staff) -> None:
    html = _html(staff, PARTNER_A)
    progress = html[html.index('id="tier-progress"') :]
    assert "Diamond" in progress and "qualifying activities in 30 days" in progress


def test_partner_page_shows_ended_relationships_with_their_reason(world, staff) -> None:
    ended_client = make_client("5004")
    give_access(world["erin"], ended_client)
    act(world["erin"], ended_client, "2026-03-02T10:00")
    access.services_end(partner=world["erin"].partner, client=ended_client, at=at("2026-03-07"))
    counted_days_refresh(through=DAY)
    html = _html(staff, PARTNER_A)
    ended = html[html.index('id="ended"') :]
    assert "Client 5004" in ended and "Services ended" in ended
    assert "2026-03-07" in ended


def test_partner_page_draws_points_over_time_with_tier_lines_as_inline_svg(world, staff) -> None:
    html = _html(staff, PARTNER_A)
    assert "<svg" in html and 'class="series-total_points"' in html
    assert 'class="tier-line"' in html
    assert "cdn" not in html.lower() and '<script src="http' not in html


# --- Client page and "why no credit?" ----------------------------------------------------------


def test_client_page_lists_every_partner_servicing_it_for_staff(world, staff) -> None:
    html = _html(staff, CLIENT_SHARED)
    partners = html[html.index('id="client-partners"') : html.index('id="client-employees"')]
    assert "Alpha Agency" in partners and "Beta Bureau" in partners
    assert "erin@alpha.example" in html and "bob@beta.example" in html


def test_client_page_shows_a_partner_admin_only_their_own_part(world, partner_admin) -> None:
    html = _html(partner_admin, CLIENT_SHARED)
    assert "Alpha Agency" in html
    assert "Beta Bureau" not in html and "bob@beta.example" not in html


def test_outsider_sees_only_their_own_part_of_a_shared_client(world, outsider) -> None:
    html = _html(outsider, CLIENT_SHARED)
    assert "Beta Bureau" in html and "bob@beta.example" in html
    assert "Alpha Agency" not in html and "erin@alpha.example" not in html


def test_client_page_shows_whether_each_employee_meets_each_step(world, staff) -> None:
    html = _html(staff, CLIENT_SHARED)
    employees = html[html.index('id="client-employees"') :]
    assert "Employee holds a seat in the client account" in employees
    assert "step-first-fail" not in employees
    assert "/reports/why/?partner=1001&amp;client=5001&amp;employee=erin%40alpha.example" in html


def test_why_page_highlights_the_first_failing_step(world, partner_admin) -> None:
    html = _html(partner_admin, WHY, partner="1001", client="5001", date="2026-06-30")
    assert "Not earning managed credit" in html
    first = html[html.index("first-failing") :]
    assert first.index("Counted qualifying activity within the grace period") < first.index("</tr>")


def test_why_page_says_until_which_day_credit_runs_without_new_activity(world, staff) -> None:
    html = _html(staff, WHY, partner="1001", client="5001", employee="erin@alpha.example")
    assert "Earning managed credit" in html
    assert "<strong>2026-05-01</strong>" in html  # 2026-03-02 + 60 days


def test_why_page_defaults_to_a_partner_admins_own_partner(world, partner_admin) -> None:
    html = _html(partner_admin, WHY, client="5002")
    assert 'id="checklist"' in html


# --- Query counts ----------------------------------------------------------------------------


def _grow(world: dict, size: int) -> None:
    """`size` more partners with standings and lines in the shared client, `size` employees."""
    run = RecomputeRun.objects.get(day=DAY)
    partner_a = world["erin"].partner
    for i in range(size):
        partner = make_partner(f"{4000 + i}")
        standing(run, partner, str(i), "1", "Gold" if i % 2 else "")
        line(run, partner, world["shared"], "1", sharing=size)
        client = make_client(f"{6000 + i}")
        line(run, partner_a, client, "2", employee=world["erin"])
        employee = make_employee(partner, f"x{i}@example.com")
        give_access(employee, world["shared"])
        act(employee, world["shared"], "2026-03-20T10:00")


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize(
    "url,params,limit",
    [
        # + 2 everywhere: the day's freshness (and the scoped missing-rate warnings);
        # + 3 with the credited tier: the rules, the day's tier rows, the review window's
        (STANDINGS, {}, 18),
        (STANDINGS, {"sort": "-total", "tier": "Gold"}, 18),
        (reverse("reports:standings_csv"), {}, 10),
        (PARTNER_A, {}, 29),  # + the deals behind the sold points
        (CLIENT_SHARED, {}, 27),  # + the latest activities and their verdicts
        (WHY, {"partner": "1001", "client": "5001"}, 22),
    ],
)
def test_the_number_of_queries_does_not_grow_with_the_rows(
    world,
    staff,
    size: int,
    url: str,
    params: dict,
    limit: int,
    django_assert_max_num_queries,
) -> None:
    _grow(world, size)
    browser = Client()
    browser.force_login(staff)
    with django_assert_max_num_queries(limit):
        assert browser.get(url, params).status_code == 200


def test_pages_read_a_day_computed_by_the_engine(partner_a, staff) -> None:
    from credits.engine import recompute_day

    erin = make_employee(partner_a, "erin@alpha.example")
    client = make_client("7001")
    give_access(erin, client)
    act(erin, client, "2026-03-02T10:00")
    recompute_day(day=DAY)
    assert "Alpha Agency" in _html(staff, STANDINGS)
    html = _html(staff, PARTNER_A)
    assert "Client 7001" in html and "erin@alpha.example" in html
    assert "10.00" in html  # USD 1,000 with one partner: 10 points
    assert "Earning managed credit" in _html(staff, WHY, partner="1001", client="7001")


def test_no_minus_zero_anywhere(world, staff) -> None:
    """A lost line of 0.00 points and a zero change read 0.00, never −0.00."""
    earlier = DayResult.objects.get(day=EARLIER).run
    CreditLine.objects.filter(run=earlier).update(points=0)
    Standing.objects.filter(run=earlier, partner__key="1001").update(total_points=Decimal("115"))
    html = _html(staff, PARTNER_A, **{"from": "2026-03-01", "to": "2026-03-31"})
    assert "lost <strong>0.00</strong>" in html
    assert "−0.00" not in html and "-0.00" not in html
    html = _html(staff, STANDINGS)
    assert "−0.00" not in html and "-0.00" not in html


def test_signed_numbers_use_a_real_minus_and_no_negative_zero() -> None:
    from reports.templatetags.report_format import amount, loss, signed

    assert signed(Decimal("-0.00")) == "0.00" and amount(Decimal("-0.00")) == "0.00"
    assert signed(Decimal("1.5")) == "+1.50" and signed(Decimal("-2")) == "−2.00"
    assert loss(Decimal("0")) == "0.00" and loss(Decimal("7")) == "−7.00"


def test_run_warnings_read_as_text_on_the_run_page(world, staff) -> None:
    run = DayResult.objects.get(day=DAY).run
    html = _html(staff, reverse("admin:credits_recomputerun_change", args=[run.pk]))
    assert '<p class="run-warning">No currency rate for XYZ on 2026-03-31.</p>' in html
    assert "[&quot;No currency rate" not in html and '["No currency rate' not in html


@pytest.mark.parametrize(
    "url,params",
    [
        (STANDINGS, {}),
        (PARTNER_A, {}),
        (CLIENT_SHARED, {}),
        (WHY, {"partner": "1001", "client": "5001"}),
        (reverse("reports:home"), {}),
    ],
)
def test_report_dates_and_date_pickers_are_iso(world, staff, url: str, params: dict) -> None:
    import re

    html = _html(staff, url, **params)
    assert 'type="date"' not in html
    months = r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}"
    assert not re.search(months, html)
    for picker in re.findall(r'<input type="text" id="id_(?:day|from|to)"[^>]*>', html):
        assert 'placeholder="YYYY-MM-DD"' in picker
        assert re.search(r'value="(\d{4}-\d{2}-\d{2})?"', picker)
