"""SPEC revision 2 rulings, each at its edges: case-insensitive tools, actions and e-mails
(§2); numeric key order for remainder cents (§3.6); growth markets by ISO code (§3.7); the
deal window clamped to the month's end (§3.8); an activity at the instant of a change (§4)."""

from datetime import date
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from accounts import services as access
from credits.engine import recompute_day
from credits.models import CreditLine, DataChange, GrowthMarket, QualifyingAction, Standing
from credits.standings import sold_window_start
from tests.builders import act, at, deal, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db
D = date.fromisoformat


@pytest.fixture
def world():
    p = make_partner("100")
    e = make_employee(p, "ann@p.example")
    c = make_client("500", "1000.00")
    return p, e, c


def shares(day: str) -> dict[str, Decimal]:
    recompute_day(day=D(day))
    return {
        line.partner.key: line.share
        for line in CreditLine.objects.published(D(day)).select_related("partner")
    }


def test_tools_and_actions_compare_case_insensitively(world) -> None:
    p, e, c = world
    give_access(e, c)
    act(e, c, "2026-03-01T10:00", tool="Blog", action="PUBLISH")
    assert shares("2026-03-01") == {"100": Decimal("1000.00")}


def test_a_catalogue_entry_typed_in_capitals_is_stored_lower_case(staff, client) -> None:
    client.force_login(staff)
    response = client.post(
        "/admin/credits/qualifyingaction/add/", {"tool": " Account ", "action": "LOGIN"}
    )
    assert response.status_code == 302
    assert QualifyingAction.objects.filter(tool="account", action="login").exists()


def test_an_email_in_capitals_is_the_same_employee(world) -> None:
    p, e, c = world
    with pytest.raises(ValidationError, match="already exists"):
        access.employee_add(partner=p, email="Ann@P.Example", at=at("2026-01-02"))


def test_remainder_cents_follow_start_day_then_numeric_key_order() -> None:
    c = make_client("500", "0.02")  # 2 cents among 3 partners who started the same day
    for key in ["100", "20", "3"]:
        p = make_partner(key)
        e = make_employee(p, f"e@{key}.example")
        give_access(e, c)
        act(e, c, "2026-03-02T10:00")
    assert shares("2026-03-02") == {
        "3": Decimal("0.01"),
        "20": Decimal("0.01"),
        "100": Decimal("0.00"),
    }


def test_the_growth_market_list_has_every_country_hubspot_lists() -> None:
    spec = "IN CN MN KR BD BN KH HK ID LA MY MV MM NP PK PH LK SG TW TH TL VN AR BO BR CL CO CR CU DO EC SV GT HT HN MX NI PA PY PE PR UY VE"
    assert set(GrowthMarket.objects.values_list("country", flat=True)) == set(spec.split())


def test_the_growth_market_migration_adds_the_missing_countries_and_marks_days_stale(world) -> None:
    p, e, c = world
    give_access(e, c)
    act(e, c, "2026-03-01T10:00")
    GrowthMarket.objects.filter(country__in=["PK", "TW"]).delete()
    before = DataChange.objects.count()
    import_module("credits.migrations.0011_revision_2_rulings").load(apps, None)
    assert GrowthMarket.objects.filter(country__in=["PK", "TW"]).count() == 2
    change = DataChange.objects.latest("pk")
    assert DataChange.objects.count() == before + 1
    assert change.first_day == D("2026-03-01") and "PK TW" in change.what


def test_a_growth_market_client_of_revision_2_doubles_its_points(world) -> None:
    p, e, _ = world
    c = make_client("501", "1000.00", country="PK")
    give_access(e, c)
    act(e, c, "2026-03-01T10:00")
    recompute_day(day=D("2026-03-01"))
    assert Standing.objects.published(D("2026-03-01")).get(partner=p).managed_points == Decimal(
        "20.00"
    )


@pytest.mark.parametrize(
    ("closed", "last_day"),
    [
        ("2026-01-15", "2027-01-14"),
        ("2024-02-29", "2025-02-27"),
        ("2025-01-31", "2026-01-30"),
        ("2025-03-31", "2026-03-30"),
    ],
)
def test_a_deal_counts_through_the_day_before_the_same_date_a_year_later_clamped(
    closed: str, last_day: str
) -> None:
    last = D(last_day)
    assert sold_window_start(day=last, months=12) <= D(closed)
    assert sold_window_start(day=date.fromordinal(last.toordinal() + 1), months=12) > D(closed)


def test_a_deal_closed_on_feb_29_earns_through_feb_27() -> None:
    p = make_partner("100", joined="2024-01-01")
    c = make_client("500", "1000.00", added="2024-01-01")
    deal(p, c, "2024-02-29", "1000.00")
    recompute_day(day=D("2025-02-27"))
    recompute_day(day=D("2025-02-28"))
    sold = lambda day: Standing.objects.published(D(day)).get(partner=p).sold_points  # noqa: E731
    assert (sold("2025-02-27"), sold("2025-02-28")) == (Decimal("50.00"), Decimal("0.00"))


def test_an_activity_at_the_instant_a_seat_is_added_counts(world) -> None:
    p, e, c = world
    access.client_assign(employee=e, client=c, at=at("2026-03-01T09:00"))
    access.seat_add(employee=e, client=c, at=at("2026-03-01T10:00"))
    act(e, c, "2026-03-01T10:00")
    assert shares("2026-03-01") == {"100": Decimal("1000.00")}


def test_an_activity_at_the_instant_a_seat_is_removed_does_not_count(world) -> None:
    p, e, c = world
    give_access(e, c)
    other = make_employee(p, "bob@p.example")
    give_access(other, c)  # the partner keeps a seat: a delayed end, not an immediate one
    access.seat_remove(employee=e, client=c, at=at("2026-03-01T10:00"))
    act(e, c, "2026-03-01T10:00")
    assert shares("2026-03-01") == {}
