"""The home pages where login lands (issue 14): a partner admin's morning page and program
staff's overview; "Not earning — fix these" names the missing step and links to its fix."""

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts import services as access
from accounts.models import Partner
from credits import why_no_credit
from credits.engine import recompute_day
from credits.models import RecomputeRun
from tests.builders import act, at, deal, give_access, make_client, make_employee

pytestmark = pytest.mark.django_db

D = date(2026, 3, 31)
HOME = reverse("reports:home")


@pytest.fixture
def world(partner_a: Partner, partner_b: Partner) -> dict[str, object]:
    """Partner A earns in 5001 (at risk) and EUR 5007; its employees also worked without
    earning in 5002 (no seat), 5003 (not assigned), 5004 (deactivated), 5005 (only a view)
    and 5006 (services ended). Partner B earns in its own client 6001."""
    erin = make_employee(partner_a, "erin@alpha.example")
    dan = make_employee(partner_a, "dan@alpha.example")
    fay = make_employee(partner_a, "fay@alpha.example")
    clients = {h: make_client(h) for h in ["5001", "5002", "5003", "5004", "5005", "5006"]}
    clients["5007"] = make_client("5007", "880.00", "EUR", "FR")
    give_access(erin, clients["5001"])
    act(erin, clients["5001"], "2026-02-05T10:00")  # credit until 04-06: at risk
    give_access(erin, clients["5007"])
    act(erin, clients["5007"], "2026-03-20T10:00")
    access.client_assign(employee=dan, client=clients["5002"], at=at("2026-01-01"))
    act(dan, clients["5002"], "2026-03-20T10:00")
    access.seat_add(employee=dan, client=clients["5003"], at=at("2026-01-01"))
    act(dan, clients["5003"], "2026-03-21T10:00")
    give_access(fay, clients["5004"])
    access.employee_deactivate(employee=fay, at=at("2026-03-10T00:00"))
    act(fay, clients["5004"], "2026-03-15T10:00")
    give_access(erin, clients["5005"])
    act(erin, clients["5005"], "2026-03-22T10:00", tool="blog", action="view")
    give_access(erin, clients["5006"])
    act(erin, clients["5006"], "2026-03-01T10:00")
    access.services_end(partner=partner_a, client=clients["5006"], at=at("2026-03-05T10:00"))
    deal(partner_a, clients["5001"], "2026-01-15", "4000.00", "sourced")
    bert = make_employee(partner_b, "bert@beta.example")
    other = make_client("6001", "2000.00")
    give_access(bert, other)
    act(bert, other, "2026-03-25T10:00")
    recompute_day(day=date(2026, 3, 1))
    recompute_day(day=D)
    return {"clients": clients, "dan": dan, "fay": fay}


def _html(user: User, url: str = HOME, **params: str) -> str:
    browser = Client()
    browser.force_login(user)
    response = browser.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_not_earning_groups_clients_by_the_missing_step(world, partner_a) -> None:
    rows = why_no_credit.not_earning(partner=partner_a, day=D)
    assert [(r.client.hub_id, r.missing) for r in rows] == [
        ("5004", why_no_credit.NOT_ACTIVE),
        ("5003", why_no_credit.NOT_ASSIGNED),
        ("5002", why_no_credit.NO_SEAT),
        ("5005", why_no_credit.NOT_QUALIFYING),
        ("5006", why_no_credit.ENDED),
    ]
    ended_by = rows[-1].ended_by
    assert ended_by is not None and ended_by.reason == "services_ended"


def test_the_partner_home_shows_tiers_points_mrr_risk_fixes_and_projection(
    world,
    partner_admin,
) -> None:
    html = _html(partner_admin, date="2026-03-31")
    assert "performing at" in html
    assert 'id="tier-progress-bar"' in html and "Binding minimum" in html
    assert "USD 1000.00" in html and "EUR 880.00" in html  # managed MRR per currency
    assert "2000.00" in html  # managed MRR in USD: 1000 + 880 / 88 × 100
    assert "USD 4000.00" in html  # sold MRR
    at_risk = html.split('id="at-risk"')[1].split("</table>")[0]
    assert "5001" in at_risk and "erin@alpha.example" in at_risk and "5007" not in at_risk
    assert 'id="projection"' in html and "<svg" in html and 'id="what-if"' in html


def test_each_fix_links_to_the_admin_page_that_fixes_it(world, partner_admin) -> None:
    html = _html(partner_admin, date="2026-03-31")
    fixes = html.split('id="not-earning"')[1].split('id="home-projection"')[0]
    dan, fay = world["dan"], world["fay"]
    seat = reverse("admin:accounts_seat_add")
    assign = reverse("admin:accounts_assignment_add")
    assert f'href="{seat}?employee={dan.pk}&amp;client_hub_id=5002' in fixes
    assert f'href="{assign}?employee={dan.pk}&amp;client_hub_id=5003' in fixes
    assert f'href="{reverse("admin:accounts_employee_change", args=[fay.pk])}"' in fixes
    for step in [
        "Not active",
        "Not assigned",
        "No seat",
        "Not a qualifying action",
        "Relationship ended",
    ]:
        assert step in fixes
    assert "6001" not in html and "bert@" not in html


def test_a_fix_link_prefills_the_seat_form(world, partner_admin) -> None:
    dan = world["dan"]
    html = _html(
        partner_admin,
        reverse("admin:accounts_seat_add"),
        employee=str(dan.pk),
        client_hub_id="5002",
    )
    assert 'value="5002"' in html


def test_the_what_if_removes_the_chosen_client_from_the_projection(world, partner_admin) -> None:
    normal = _html(partner_admin, date="2026-03-31")
    without = _html(partner_admin, date="2026-03-31", without="5007")
    assert "What-if: without 5007" in without and "What-if" not in normal
    assert 'value="5007" checked' in without


def test_a_client_access_manager_gets_the_partner_home_of_their_partner(
    world,
    access_manager,
) -> None:
    html = _html(access_manager, date="2026-03-31")
    assert "Not earning — fix these" in html and "6001" not in html


def test_the_outsider_home_shows_only_partner_b(world, outsider) -> None:
    html = _html(outsider, date="2026-03-31")
    assert "6001" not in html or "Beta" in html
    for hub_id in ["5001", "5002", "5003", "5004", "5005", "5006", "5007"]:
        assert hub_id not in html
    assert "alpha.example" not in html


def test_the_staff_home_shows_tiers_last_run_warnings_and_movers(world, staff) -> None:
    RecomputeRun.objects.filter(day=D).update(
        warnings=["No units-per-point rate for NOK on 2026-03-31."]
    )
    html = _html(staff, date="2026-03-31")
    assert 'id="tier-counts"' in html and "No tier" in html
    assert "Last nightly run" in html and "Succeeded" in html
    assert "No units-per-point rate for NOK" in html
    movers = html.split('id="movers"')[1].split("</table>")[0]
    assert "Alpha Agency" in movers and "Beta Bureau" in movers


def test_the_reports_index_and_the_site_root_lead_home(world, staff) -> None:
    browser = Client()
    browser.force_login(staff)
    assert browser.get(reverse("reports:index"))["Location"] == HOME
    assert browser.get("/")["Location"] == HOME


def test_login_without_next_lands_on_the_home_page(world, partner_admin) -> None:
    partner_admin.set_password("pw")
    partner_admin.save()
    response = Client().post(reverse("admin:login"), {"username": "alice", "password": "pw"})
    assert response.status_code == 302
    assert response["Location"] == HOME
    response = Client().post(
        reverse("admin:login") + "?next=/admin/",
        {"username": "alice", "password": "pw", "next": "/admin/"},
    )
    assert response["Location"] == "/admin/"


def test_home_with_nothing_computed_says_so(partner_admin) -> None:
    html = _html(partner_admin)
    assert "No day has been computed yet" in html


def test_the_partner_page_lists_the_deals_behind_the_sold_number(world, partner_admin) -> None:
    html = _html(partner_admin, reverse("reports:partner", args=["1001"]), date="2026-03-31")
    deals = html.split('id="deals"')[1].split("</table>")[0]
    assert "2026-01-15" in deals and "Sourced" in deals and "200.00" in deals
    assert "2027-01-14" in deals  # the last day it counts


def test_the_client_page_shows_whether_each_activity_counted(world, partner_admin) -> None:
    html = _html(partner_admin, reverse("reports:client", args=["5002"]), date="2026-03-31")
    activities = html.split('id="activities"')[1].split("</table>")[0]
    assert "no seat" in activities and "dan@alpha.example" in activities
    html = _html(partner_admin, reverse("reports:client", args=["5001"]), date="2026-03-31")
    assert "counted" in html.split('id="activities"')[1].split("</table>")[0]


def test_at_risk_days_are_configurable(world, partner_admin, settings) -> None:
    settings.AT_RISK_DAYS = 60
    at_risk = _html(partner_admin, date="2026-03-31").split('id="at-risk"')[1].split("</table>")[0]
    assert "5007" in at_risk


def test_bench_times_both_home_pages_and_the_projection(db) -> None:
    from io import StringIO

    from django.core.management import call_command

    from tests.test_seed_scale import seed

    seed(end_date="2026-05-10")
    out = StringIO()
    call_command("bench", requests=2, backfill_days=2, no_import=True, in_process=True, stdout=out)
    text = out.getvalue()
    for name in ["staff home page p95", "partner home page (", "projection page ("]:
        assert name in text, text


def test_pages_show_both_tiers_the_next_recalibration_and_what_keeps_the_tier(
    staff,
) -> None:
    """Gold earned on 2026-01-01 and met through 02-27 only: on 03-31 it is held until the
    07-15 recalibration, and 13 of the 30 days needed in its review window are met (02-15 …
    02-27: the deal closed 12-29 counts through the day before 12-29 + 2 months = 02-28)."""
    from credits.models import ProgramSettings
    from tests.builders import make_partner

    partner = make_partner("4004", "Delta Digital", joined="2026-01-01")
    employee = make_employee(partner, "e@4004.example")
    client = make_client("R", "8000.00")
    give_access(employee, client)
    act(employee, client, "2026-01-01T10:00")
    act(employee, client, "2026-02-25T10:00")
    ProgramSettings.objects.update_or_create(pk=1, defaults={"sold_window_months": 2})
    deal(partner, client, "2025-12-29", "400.00", "sourced")
    recompute_day(day=D)
    headline = "Holds Gold until at least 2026-07-15; performing at no tier."
    keep = (
        "To keep Gold: meet its minimums on 17 more of the 106 days left in the review window "
        "2026-02-15 … 2026-07-15."
    )
    for url in (reverse("reports:partner", args=["4004"]), reverse("reports:standings")):
        html = _html(staff, url, date=str(D))
        assert headline in html or ("Gold" in html and "until at least 2026-07-15" in html), url
        assert "2026-07-15" in html and keep in html, url
    assert headline in _html(staff, reverse("reports:partner", args=["4004"]), date=str(D))
    due = _html(staff, HOME, date=str(D)).split('id="recalibration-due"')[1].split("</table>")[0]
    assert "Delta Digital" in due and keep in due


def test_the_partner_page_uses_the_configured_at_risk_days(world, partner_admin, settings) -> None:
    settings.AT_RISK_DAYS = 60
    html = _html(partner_admin, reverse("reports:partner", args=["1001"]), date="2026-03-31")
    assert "credit ends within 60 days" in html
    assert "5007" in html.split('id="at-risk"')[1].split("</table>")[0]


def test_the_staff_home_counts_the_days_computed_and_the_stale_days_left(world, staff) -> None:
    html = _html(staff, date="2026-03-31")
    nightly = html.split('id="nightly"')[1].split("</table>")[0]
    assert "Days computed in the 24 hours up to it</th><td>2<" in nightly
    assert 'id="stale-days">0<' in nightly
    act(world["dan"], world["clients"]["5002"], "2026-03-02T11:00")  # backdated: 03-02 on
    nightly = _html(staff, date="2026-03-31").split('id="nightly"')[1].split("</table>")[0]
    assert 'id="stale-days">1<' in nightly  # 2026-03-31 (03-01 is before the change)


@pytest.mark.parametrize("size", [2, 12])
def test_the_home_pages_take_a_fixed_number_of_queries(
    world, partner_admin, staff, size: int, django_assert_max_num_queries
) -> None:
    """More clients not earning (each by another employee) cost no query more."""
    partner = Partner.objects.get(key="1001")
    for i in range(size):
        employee = make_employee(partner, f"n{i}@alpha.example")
        client = make_client(f"80{i:02d}")
        access.client_assign(employee=employee, client=client, at=at("2026-01-01"))
        act(employee, client, "2026-03-20T10:00")
    recompute_day(day=D)
    # The partner's: + 7 with the credited tier (its outlook, and its projection's steps).
    for user, limit in ((partner_admin, 56), (staff, 25)):
        browser = Client()
        browser.force_login(user)
        with django_assert_max_num_queries(limit):
            assert browser.get(HOME, {"date": str(D)}).status_code == 200
