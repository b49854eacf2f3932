"""SPEC §3, rule by rule, with its edges. Each test builds a small world through the services
and computes the days it asserts on."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts import services as access
from credits.engine import recompute_day
from credits.models import CreditLine, CurrencyUnit, PointsRate, QualifyingAction, Standing, Tier
from tests.builders import act, at, deal, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db

D = date.fromisoformat


def lines(day: str) -> dict[tuple[str, str], CreditLine]:
    recompute_day(day=D(day))
    return {
        (c.partner.key, c.client.hub_id): c
        for c in CreditLine.objects.published(D(day)).select_related("partner", "client")
    }


def standing(day: str, key: str) -> Standing:
    return Standing.objects.published(D(day)).get(partner__key=key)


@pytest.fixture
def world():
    """Partner P with employee e, fully set up on client C (USD 1,000)."""
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500", "1000.00", "USD", "US")
    give_access(e, c, "2026-01-01")
    return p, e, c


def test_seed_example_usd_1000_with_one_partner_gives_1000_credit_and_10_points(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    line = lines("2026-03-01")[("100", "500")]
    assert (line.mrr, line.share, line.points, line.partners_sharing) == (
        Decimal("1000.00"),
        Decimal("1000.00"),
        Decimal("10.00"),
        1,
    )
    assert standing("2026-03-01", "100").managed_points == Decimal("10.00")


def test_an_activity_missing_any_step_earns_nothing(world) -> None:
    p, e, c = world
    other = make_client("501")
    act(e, other, "2026-03-01T10:00")  # no assignment, no seat
    act(e, c, "2026-03-01T10:00", "blog", "view")  # not qualifying
    assert lines("2026-03-01") == {}


@pytest.mark.parametrize("missing", ["assignment", "seat", "active"])
def test_each_step_is_required_at_the_time_of_the_activity(missing: str) -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500")
    if missing != "assignment":
        access.client_assign(employee=e, client=c, at=at("2026-01-01"))
    if missing != "seat":
        access.seat_add(employee=e, client=c, at=at("2026-01-01"))
    if missing == "active":
        access.employee_deactivate(employee=e, at=at("2026-02-01"))
    act(e, c, "2026-03-01T10:00")
    assert lines("2026-03-01") == {}


def test_three_partners_on_one_client_split_remainder_cents_by_start_then_key() -> None:
    c = make_client("500", "100.00")
    for key, when in [
        ("300", "2026-03-01T09:00"),
        ("200", "2026-03-02T09:00"),
        ("100", "2026-03-02T10:00"),
    ]:
        p = make_partner(key)
        e = make_employee(p, f"e@{key}.example")
        give_access(e, c)
        act(e, c, when)
    got = lines("2026-03-02")
    shares = {k[0]: v.share for k, v in got.items()}
    # 100.00 / 3 = 33.33 remainder 1 cent: to the earliest start (300), then key order 100, 200.
    assert shares == {"300": Decimal("33.34"), "100": Decimal("33.33"), "200": Decimal("33.33")}
    assert sum(shares.values()) == Decimal("100.00")
    assert {v.partners_sharing for v in got.values()} == {3}


def test_two_remainder_cents_go_to_the_first_two_in_start_then_partner_key_order() -> None:
    c = make_client("500", "0.05")
    for key in ["20", "3"]:  # same start day: key order is numeric, 3 before 20
        p = make_partner(key)
        e = make_employee(p, f"e@{key}.example")
        give_access(e, c)
        act(e, c, "2026-03-02T10:00")
    p = make_partner("1")
    e = make_employee(p, "e@1.example")
    give_access(e, c)
    act(e, c, "2026-03-03T10:00")
    shares = {k[0]: v.share for k, v in lines("2026-03-03").items()}
    assert shares == {"3": Decimal("0.02"), "20": Decimal("0.02"), "1": Decimal("0.01")}


def test_day_l_plus_60_is_credited_and_l_plus_61_is_not(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T23:59")
    last = D("2026-03-01") + timedelta(days=60)
    line = lines(last.isoformat())[("100", "500")]
    assert line.credit_until == last
    assert line.relationship_started == D("2026-03-01")
    assert lines((last + timedelta(days=1)).isoformat()) == {}


def test_grace_period_is_configurable(world) -> None:
    from credits.models import ProgramSettings

    ProgramSettings.objects.filter(pk=1).update(grace_days=10)
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    assert lines("2026-03-11")[("100", "500")].credit_until == D("2026-03-11")
    assert lines("2026-03-12") == {}


@pytest.mark.parametrize(
    "end",
    [
        lambda p, e, c, t: access.client_remove_all_employees(partner=p, client=c, at=t),
        lambda p, e, c, t: access.services_end(partner=p, client=c, at=t),
        lambda p, e, c, t: access.partner_leave(partner=p, at=t),
        lambda p, e, c, t: access.seat_remove(employee=e, client=c, at=t),  # the last seat
    ],
    ids=["all_employees_removed", "services_ended", "partner_left", "last_seat_removed"],
)
def test_each_immediate_end_stops_credit_from_that_day(world, end) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    assert ("100", "500") in lines("2026-03-09")
    end(p, e, c, at("2026-03-10T08:00"))
    assert lines("2026-03-10") == {}
    assert lines("2026-03-11") == {}


@pytest.mark.parametrize(
    "change",
    [
        lambda p, e, c, e2, t: access.employee_deactivate(employee=e, at=t),
        lambda p, e, c, e2, t: access.client_unassign(employee=e, client=c, at=t),
        lambda p, e, c, e2, t: access.seat_remove(employee=e, client=c, at=t),  # e2 keeps one
    ],
    ids=["employee_deactivated", "client_unassigned", "one_of_two_seats_removed"],
)
def test_each_delayed_end_lets_credit_run_out_after_the_grace_period(world, change) -> None:
    p, e, c = world
    e2 = make_employee(p, "e2@p.example")
    give_access(e2, c)
    act(e, c, "2026-03-01T10:00")
    change(p, e, c, e2, at("2026-03-02T08:00"))
    act(e, c, "2026-03-05T10:00")  # no longer counts
    line = lines("2026-04-30")[("100", "500")]
    assert line.last_qualifying_activity == D("2026-03-01")
    assert line.credit_until == D("2026-04-30")
    assert lines("2026-05-01") == {}


def test_a_relationship_reopens_after_an_immediate_end(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    access.client_remove_all_employees(partner=p, client=c, at=at("2026-03-10T08:00"))
    access.seat_add(employee=e, client=c, at=at("2026-03-20T08:00"))
    act(e, c, "2026-03-20T10:00")
    assert lines("2026-03-19") == {}
    line = lines("2026-03-20")[("100", "500")]
    assert line.relationship_started == D("2026-03-20")


def test_a_relationship_reopens_after_running_out(world) -> None:
    p, e, c = world
    act(e, c, "2026-01-10T10:00")
    act(e, c, "2026-03-11T10:00")  # 60 days later: same relationship
    act(e, c, "2026-05-11T10:00")  # 61 days later: a new one
    assert lines("2026-03-11")[("100", "500")].relationship_started == D("2026-01-10")
    assert lines("2026-05-11")[("100", "500")].relationship_started == D("2026-05-11")


def test_same_day_end_then_new_activity_reopens_that_day(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    access.client_remove_all_employees(partner=p, client=c, at=at("2026-03-05T09:00"))
    access.seat_add(employee=e, client=c, at=at("2026-03-05T12:00"))
    act(e, c, "2026-03-05T13:00")
    line = lines("2026-03-05")[("100", "500")]
    assert line.relationship_started == D("2026-03-05")


def test_mrr_in_force_on_the_day_is_split(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    access.client_mrr_change(client=c, amount=Decimal("2500.00"), at=at("2026-03-05T15:00"))
    assert lines("2026-03-04")[("100", "500")].mrr == Decimal("1000.00")
    assert lines("2026-03-05")[("100", "500")].points == Decimal("25.00")


def test_rate_change_applies_from_its_effective_date() -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example", added="2025-01-01")
    c = make_client("500", "880.00", "EUR", "FR", added="2025-01-01")
    give_access(e, c, "2025-01-01")
    act(e, c, "2025-07-14T10:00")
    # EUR 75 per unit before 2025-07-15, EUR 88 from it: 880/75 = 11.7333 → 11.73; 880/88 = 10
    assert lines("2025-07-14")[("100", "500")].points == Decimal("11.73")
    assert lines("2025-07-15")[("100", "500")].points == Decimal("10.00")


def test_points_round_half_up_per_credit_line() -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500", "0.50", "USD", "US")  # 0.005 points → 0.01
    give_access(e, c)
    act(e, c, "2026-03-01T10:00")
    assert lines("2026-03-01")[("100", "500")].points == Decimal("0.01")


def test_missing_rate_gives_a_line_without_points_and_a_warning() -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500", "1000.00", "CHF", "CH")
    give_access(e, c)
    act(e, c, "2026-03-01T10:00")
    line = lines("2026-03-01")[("100", "500")]
    assert line.points is None and line.share == Decimal("1000.00")
    run = recompute_day(day=D("2026-03-01"))
    assert any("CHF" in w for w in run.warning_texts)
    assert standing("2026-03-01", "100").missing_rate is True


def test_growth_market_clients_double_the_points() -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500", "1000.00", "USD", "IN")
    give_access(e, c)
    act(e, c, "2026-03-01T10:00")
    assert lines("2026-03-01")[("100", "500")].points == Decimal("20.00")


def test_managed_points_per_unit_is_effective_dated(world) -> None:
    PointsRate.objects.create(
        kind="managed", valid_from=D("2026-03-02"), points_per_unit=Decimal("1.5")
    )
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    assert lines("2026-03-01")[("100", "500")].points == Decimal("10.00")
    assert lines("2026-03-02")[("100", "500")].points == Decimal("15.00")


def test_sold_credit_counts_for_twelve_months_from_close_and_is_not_split(
    world, program_today
) -> None:
    program_today(D("2027-02-01"))
    p, e, c = world
    deal(p, c, "2026-01-15", "1000.00", "sourced")
    deal(p, c, "2026-01-15", "1000.00", "assisted")
    recompute_day(day=D("2027-01-14"))
    assert standing("2027-01-14", "100").sold_points == Decimal("80.00")  # 10×5 + 10×3
    recompute_day(day=D("2027-01-15"))
    assert standing("2027-01-15", "100").sold_points == Decimal("0.00")
    recompute_day(day=D("2026-01-14"))
    assert standing("2026-01-14", "100").sold_points == Decimal("0.00")


def test_sourced_points_were_3_before_2024_02_27() -> None:
    p = make_partner("100", joined="2023-01-01")
    c = make_client("500", "100.00", added="2023-01-01")
    deal(p, c, "2024-02-26", "1000.00", "sourced")
    deal(p, c, "2024-02-27", "1000.00", "sourced")
    recompute_day(day=D("2024-03-01"))
    assert standing("2024-03-01", "100").sold_points == Decimal("80.00")  # 30 + 50


def test_sold_points_use_growth_multiplier_and_close_date_rates() -> None:
    p = make_partner("100", joined="2025-01-01")
    c = make_client("500", "100.00", "EUR", "BR", added="2025-01-01")
    deal(p, c, "2025-07-14", "750.00", "assisted", currency="EUR")  # 10 units × 3 × 2
    recompute_day(day=D("2025-08-01"))
    assert standing("2025-08-01", "100").sold_points == Decimal("60.00")


@pytest.mark.parametrize(
    ("sold", "managed_usd", "activities", "tier"),
    [
        ("0", "9900.00", 0, ""),  # 99 total
        ("0", "10000.00", 0, ""),  # 100 total but sold < 20
        ("400.00", "8000.00", 0, "Gold"),  # 20 sold + 80 managed = 100
        ("1200.00", "34000.00", 0, "Platinum"),  # 60 + 340 = 400
        ("4000.00", "130000.00", 49, "Platinum"),  # Diamond points, 49 activities
        ("4000.00", "130000.00", 50, "Diamond"),
    ],
)
def test_tier_is_the_highest_whose_every_minimum_is_met(
    sold, managed_usd, activities, tier
) -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500", managed_usd)
    give_access(e, c)
    for i in range(max(activities, 1)):
        act(e, c, f"2026-03-{1 + i % 28:02d}T{10 + i // 28:02d}:00")
    if sold != "0":
        deal(p, c, "2026-03-01", sold, "sourced")
    recompute_day(day=D("2026-03-28"))
    s = standing("2026-03-28", "100")
    assert s.qualifying_activities == max(activities, 1)
    assert s.tier == tier


def test_a_tier_minimum_on_managed_points_is_honoured(world) -> None:
    Tier.objects.create(name="Managed star", rank=9, min_managed_points=Decimal("10.00"))
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    recompute_day(day=D("2026-03-01"))
    assert standing("2026-03-01", "100").tier == "Managed star"
    Tier.objects.filter(name="Managed star").update(min_managed_points=1001)
    recompute_day(day=D("2026-03-01"))
    assert standing("2026-03-01", "100").tier == ""


def test_catalogue_changes_apply_on_recompute(world) -> None:
    from credits.staleness import mark_stale

    p, e, c = world
    act(e, c, "2026-03-01T10:00", "blog", "view")
    assert lines("2026-03-01") == {}
    QualifyingAction.objects.create(tool="blog", action="view")
    mark_stale(since=D("2026-03-01"))
    assert ("100", "500") in lines("2026-03-01")


def test_rerunning_a_day_replaces_its_rows_exactly(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    first = lines("2026-03-01")
    second = lines("2026-03-01")
    fields = ["share", "points", "mrr", "relationship_started", "credit_until"]
    assert [[getattr(x, f) for f in fields] for x in first.values()] == [
        [getattr(x, f) for f in fields] for x in second.values()
    ]
    from credits.models import CreditLine, Standing

    assert CreditLine.objects.filter(day=D("2026-03-01")).count() == 1
    assert Standing.objects.filter(day=D("2026-03-01")).count() == 1


def test_partners_appear_in_standings_only_between_joining_and_leaving(world) -> None:
    p, e, c = world
    make_partner("200", joined="2026-03-05")
    recompute_day(day=D("2026-03-04"))
    assert set(
        Standing.objects.published(D("2026-03-04")).values_list("partner__key", flat=True)
    ) == {"100"}
    access.partner_leave(partner=p, at=at("2026-03-06T12:00"))
    recompute_day(day=D("2026-03-06"))
    assert set(
        Standing.objects.published(D("2026-03-06")).values_list("partner__key", flat=True)
    ) == {"200"}


def test_currency_unit_defaults_match_the_spec() -> None:
    def unit(cur: str, day: str) -> Decimal:
        return (
            CurrencyUnit.objects.filter(currency=cur, valid_from__lte=D(day))
            .order_by("-valid_from")[0]
            .amount
        )

    assert unit("GBP", "2025-07-14") == Decimal("62.50")
    assert unit("COP", "2025-07-15") == Decimal("408000.00")
    assert unit("USD", "2026-01-01") == Decimal("100.00")


def test_changing_the_grace_period_in_the_admin_applies_on_recompute(world, client, staff) -> None:
    p, e, c = world
    act(e, c, "2026-03-01T10:00")
    act(e, c, "2026-03-20T10:00")  # 19 days later: one relationship with grace 60
    assert lines("2026-03-20")[("100", "500")].relationship_started == D("2026-03-01")
    client.force_login(staff)
    response = client.post(
        "/admin/credits/programsettings/1/change/",
        {
            "grace_days": 10,
            "sold_window_months": 12,
            "recalibration_days": "01-15,07-15",
            "protection_months": 6,
            "review_offset_months": 1,
            "review_min_days": 30,
        },
    )
    assert response.status_code == 302
    # With grace 10 the 19-day gap ends the first relationship: a new one starts on 03-20.
    assert lines("2026-03-20")[("100", "500")].relationship_started == D("2026-03-20")
