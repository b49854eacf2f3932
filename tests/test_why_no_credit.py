"""The "why no credit?" checklist (SPEC §3.10): each step can be the first one missing."""

from datetime import date

import pytest
from django.utils import timezone

from accounts import services as access
from credits.models import CreditLine, DayResult, RecomputeRun
from credits.why_no_credit import credit_check, employee_credit_check, employee_credit_checks
from tests.builders import act, at, give_access, make_client, make_employee

DAY = date(2026, 3, 10)


@pytest.fixture
def world(partner_a):
    """Erin of partner A, assigned and seated in client C since the epoch, published on 03-01."""
    erin = make_employee(partner_a, "erin@alpha.example")
    client = make_client("9001")
    give_access(erin, client)
    act(erin, client, "2026-03-01T10:00")
    return partner_a, erin, client


def _failing(check) -> int | None:
    return check.first_failing_index


def test_an_employee_meeting_every_step_earns_credit_until_the_end_of_the_grace_period(world):
    _, erin, client = world
    check = employee_credit_check(employee=erin, client=client, day=DAY)
    assert check.earning
    assert check.first_failing_step is None
    assert check.credit_until == date(2026, 4, 30)
    assert check.last_qualifying_activity == date(2026, 3, 1)
    assert [s.label for s in check.steps][0] == "Partner is in the program"
    assert len(check.steps) == 6


def test_a_partner_that_left_fails_the_first_step(world):
    partner, erin, client = world
    access.partner_leave(partner=partner, at=at("2026-03-05"))
    check = employee_credit_check(employee=erin, client=client, day=DAY)
    assert _failing(check) == 0
    assert not check.earning
    assert credit_check(partner=partner, client=client, day=DAY).first_failing_index == 0


def test_a_deactivated_employee_fails_the_second_step_but_the_partner_still_earns(world):
    partner, erin, client = world
    access.employee_deactivate(employee=erin, at=at("2026-03-05"))
    assert _failing(employee_credit_check(employee=erin, client=client, day=DAY)) == 1
    partner_check = credit_check(partner=partner, client=client, day=DAY)
    assert partner_check.earning  # delayed end: credit runs out after the grace period
    assert partner_check.first_failing_index == 1
    assert partner_check.credit_until == date(2026, 4, 30)


def test_an_unassigned_client_fails_the_third_step(world):
    _, erin, client = world
    access.client_unassign(employee=erin, client=client, at=at("2026-03-05"))
    assert _failing(employee_credit_check(employee=erin, client=client, day=DAY)) == 2


def test_a_removed_seat_fails_the_fourth_step(world):
    _, erin, client = world
    access.seat_remove(employee=erin, client=client, at=at("2026-03-05"))
    check = employee_credit_check(employee=erin, client=client, day=DAY)
    assert _failing(check) == 3
    assert not check.steps[5].ok  # the last seat: an immediate end as well


def test_no_counted_activity_within_the_grace_period_fails_the_fifth_step(world):
    partner, erin, client = world
    late = date(2026, 5, 1)  # 61 days after the last activity
    check = employee_credit_check(employee=erin, client=client, day=late)
    assert _failing(check) == 4
    assert check.credit_until is None
    partner_check = credit_check(partner=partner, client=client, day=late)
    assert not partner_check.earning
    assert partner_check.first_failing_index == 2


def test_an_activity_that_does_not_qualify_is_not_counted(partner_a):
    erin = make_employee(partner_a, "erin@alpha.example")
    client = make_client("9001")
    give_access(erin, client)
    act(erin, client, "2026-03-01T10:00", tool="blog", action="view")
    assert _failing(employee_credit_check(employee=erin, client=client, day=DAY)) == 4


def test_an_activity_before_the_seat_was_added_is_not_counted(partner_a):
    erin = make_employee(partner_a, "erin@alpha.example")
    client = make_client("9001")
    access.client_assign(employee=erin, client=client, at=at("2026-01-01"))
    act(erin, client, "2026-03-01T10:00")
    access.seat_add(employee=erin, client=client, at=at("2026-03-02"))
    assert _failing(employee_credit_check(employee=erin, client=client, day=DAY)) == 4


def test_an_immediate_end_since_the_last_activity_fails_the_sixth_step(world):
    partner, erin, client = world
    access.client_remove_all_employees(partner=partner, client=client, at=at("2026-03-05"))
    access.seat_add(employee=erin, client=client, at=at("2026-03-06"))
    check = employee_credit_check(employee=erin, client=client, day=DAY)
    assert _failing(check) == 5
    assert "All partner employees removed" in check.steps[5].detail
    assert check.credit_until is None
    assert not credit_check(partner=partner, client=client, day=DAY).earning


def test_the_partner_check_reads_the_published_credit_line_of_a_computed_day(world):
    partner, erin, client = world
    _publish_line(partner, erin, client, until=date(2026, 4, 30))
    check = credit_check(partner=partner, client=client, day=DAY)
    assert check.published
    assert check.earning
    assert check.credit_until == date(2026, 4, 30)
    assert check.last_employee == erin
    assert "Published result" in check.steps[-1].detail


def test_a_computed_day_without_a_credit_line_is_not_earning(world):
    partner, _, client = world
    run = RecomputeRun.objects.create(day=DAY, status="succeeded")
    DayResult.objects.create(day=DAY, run=run, computed_at=timezone.now())
    check = credit_check(partner=partner, client=client, day=DAY)
    assert not check.earning
    assert check.first_failing_index == 4


@pytest.mark.parametrize("size", [2, 12])
def test_checking_many_employees_takes_a_fixed_number_of_queries(
    partner_a,
    size: int,
    django_assert_max_num_queries,
) -> None:
    client = make_client("9001")
    employees = []
    for i in range(size):
        employee = make_employee(partner_a, f"e{i}@alpha.example")
        give_access(employee, client)
        act(employee, client, f"2026-03-0{1 + i % 9}T10:00")
        employees.append(employee)
    for employee in employees:
        employee.partner = partner_a
    with django_assert_max_num_queries(8):
        checks = employee_credit_checks(employees=employees, client=client, day=DAY)
    assert all(check.earning for check in checks.values())


# --- One answer: the headline names the real cause (issue 12 point 4) -----------------------


def _publish_line(partner, erin, client, until: date) -> None:
    run = RecomputeRun.objects.create(day=DAY, status="succeeded")
    DayResult.objects.create(day=DAY, run=run, computed_at=timezone.now())
    CreditLine.objects.create(
        run=run,
        day=DAY,
        partner=partner,
        client=client,
        currency="USD",
        mrr=1000,
        partners_sharing=1,
        share=1000,
        points=10,
        relationship_started=date(2026, 3, 1),
        last_qualifying_activity=date(2026, 3, 1),
        last_employee=erin,
        credit_until=until,
    )


def test_all_employees_removed_is_named_as_the_cause_not_a_missing_step(world):
    partner, _, client = world
    access.client_remove_all_employees(partner=partner, client=client, at=at("2026-03-05"))
    kind, headline = credit_check(partner=partner, client=client, day=DAY).verdict
    assert kind == "error"
    assert "All partner employees removed on 2026-03-05" in headline
    assert "active, assigned and seated" not in headline


def test_services_ended_after_the_published_day_was_computed_is_the_headline(world):
    partner, erin, client = world
    _publish_line(partner, erin, client, date(2026, 4, 30))
    access.services_end(partner=partner, client=client, at=at("2026-03-08"))
    kind, headline = credit_check(partner=partner, client=client, day=DAY).verdict
    assert kind == "error" and "Services ended on 2026-03-08" in headline


def test_a_partner_that_left_is_named_as_the_cause(world):
    partner, _, client = world
    access.partner_leave(partner=partner, at=at("2026-03-05"))
    kind, headline = credit_check(partner=partner, client=client, day=DAY).verdict
    assert kind == "error" and "left on 2026-03-05" in headline


def test_no_earning_headline_over_a_red_step(world):
    partner, erin, client = world
    _publish_line(partner, erin, client, date(2026, 4, 30))
    access.employee_deactivate(employee=erin, at=at("2026-03-05"))
    check = credit_check(partner=partner, client=client, day=DAY)
    kind, headline = check.verdict
    assert check.earning and kind == "warning"
    assert "An employee is active, assigned and seated" in check.cause.label
    assert headline.startswith("Earning managed credit, but an employee is active")


def test_the_why_page_labels_live_checks_and_published_numbers_and_shows_one_credit_until(
    world,
    staff,
) -> None:
    from django.test import Client

    partner, erin, client = world
    _publish_line(partner, erin, client, date(2026, 4, 30))
    act(erin, client, "2026-03-08T10:00")  # a later activity: the live L + 60 is 2026-05-07
    browser = Client()
    browser.force_login(staff)
    html = browser.get(
        "/reports/why/", {"partner": partner.key, "client": client.hub_id, "date": str(DAY)}
    ).content.decode()
    assert "Live checks" in html and "Published numbers" in html
    assert html.count("2026-04-30") + html.count("2026-05-07") == 1
    assert 'class="success verdict"' in html
