"""Keys and amounts are validated by one definition at every entry point (issue 18, 2 / 6 / 8)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts import services as access
from accounts.models import ClientAccount, Partner
from credits.models import GrowthMarket, PointsRate
from credits.services import deal_record
from partnercredit.validators import (
    MAX_AMOUNT,
    MAX_MULTIPLIER,
    MAX_POINTS_PER_UNIT,
    validate_amount,
    validate_key,
)
from tests.builders import at, make_client, make_partner

pytestmark = pytest.mark.django_db

BAD_KEYS = [
    "",
    "a/b",
    "../7001",
    "70\x0001",
    "70\n01",
    "70\t01",
    " 7001",
    "=SUM(9+9)",
    "+7001",
    "-7001",
    "@7001",
    "x" * 33,
    "７００１",  # full-width digits
    "70 01",
]


@pytest.mark.parametrize("value", BAD_KEYS)
def test_a_key_outside_the_pattern_is_refused_with_the_field_named(value: str) -> None:
    with pytest.raises(ValidationError, match="Hub id"):
        validate_key(value, "Hub id")


@pytest.mark.parametrize("value", ["7001", "8003", "a", "agency-1.eu_2", "x" * 32])
def test_ordinary_keys_pass(value: str) -> None:
    assert validate_key(value, "key") == value


@pytest.mark.parametrize(
    "value",
    ["-1", "1.001", "１２３", "1e3", "NaN", "Infinity", "999999999999999.99", "1,000", ""],
)
def test_an_amount_that_is_negative_unbounded_or_not_ascii_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_amount(value, "MRR")


def test_amounts_up_to_the_maximum_pass() -> None:
    assert validate_amount("0", "MRR") == Decimal("0.00")
    assert validate_amount(" 1250.5 ", "MRR") == Decimal("1250.50")
    assert validate_amount(MAX_AMOUNT, "MRR") == MAX_AMOUNT
    with pytest.raises(ValidationError, match="too large"):
        validate_amount(MAX_AMOUNT + Decimal("0.01"), "MRR")


def test_the_services_refuse_bad_hub_ids_partner_keys_and_amounts() -> None:
    with pytest.raises(ValidationError, match="Partner key"):
        access.partner_join(key="70/02", at=at("2026-01-01"))
    with pytest.raises(ValidationError, match="Hub id"):
        make_client("80\x0703")
    with pytest.raises(ValidationError, match="too large"):
        make_client("8003", amount="999999999999999.99")
    client = make_client("8003")
    with pytest.raises(ValidationError, match="too large"):
        access.client_mrr_change(client=client, amount=Decimal("1000000000"), at=at("2026-02-01"))
    partner = make_partner("7002")
    with pytest.raises(ValidationError, match="Deal amount"):
        deal_record(
            partner=partner,
            client=client,
            closed_on=date(2026, 2, 1),
            amount=Decimal("999999999999999.99"),
            currency="USD",
            kind="sourced",
        )
    assert not Partner.objects.filter(key="70/02").exists()
    assert not ClientAccount.objects.filter(hub_id="80\x0703").exists()


def test_the_rules_that_multiply_money_are_bounded_so_the_engine_cannot_overflow() -> None:
    """2 × share × points-per-unit × multiplier, in hundredths, stays inside a bigint."""
    worst = 2 * int(MAX_AMOUNT * 100) * int(MAX_POINTS_PER_UNIT * 100) * int(MAX_MULTIPLIER * 100)
    assert worst < 2**63 - 1
    with pytest.raises(ValidationError, match="Points per unit"):
        PointsRate(kind="managed", points_per_unit=Decimal("100.01")).full_clean()
    with pytest.raises(ValidationError, match="Multiplier"):
        GrowthMarket(country="PK", multiplier=Decimal("10.01")).full_clean()


def test_the_admin_refuses_full_width_digits_and_huge_mrr(client, staff) -> None:
    client.force_login(staff)
    url = "/admin/accounts/clientaccount/add/"
    form = {"hub_id": "8009", "name": "Nine", "country": "US", "currency": "USD"}
    for amount in ["１２３", "999999999999999.99"]:
        response = client.post(url, {**form, "amount": amount})
        assert response.status_code == 200
        assert not ClientAccount.objects.filter(hub_id="8009").exists()
    response = client.post(url, {**form, "hub_id": "80/09", "amount": "10"})
    assert response.status_code == 200
    assert not ClientAccount.objects.filter(hub_id="80/09").exists()
    response = client.post(url, {**form, "amount": "10.00"})
    assert response.status_code == 302
    assert ClientAccount.objects.filter(hub_id="8009").exists()
