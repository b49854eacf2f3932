"""The projection (docs/rules.md §10): day D + k is what a recompute of D + k publishes when no
event arrives after D — across relationship ends, share changes, a rate change, a deal leaving
its window and activity windows emptying — and `export_projection` prints it."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ClientAccount, Partner
from credits.engine import recompute_day
from credits.models import CurrencyUnit, ProgramSettings, Standing
from credits.projection import deals_counting, projection_compute
from tests.builders import act, deal, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db

D = date(2026, 3, 31)
DATA = Path(__file__).parent / "data" / "example"


@pytest.fixture
def world() -> dict[str, object]:
    """Partner 1001 at Platinum on D: three partners share client S (remainder cents, keys 3 <
    1001 < 2002), a EUR client whose unit changes on 04-20, a growth-market client, a client in
    a currency without a unit, and a big deal whose window ends on 04-09."""
    a, b, c = make_partner("1001"), make_partner("2002"), make_partner("3")
    ea, eb, ec = (make_employee(p, f"e@{p.key}.example") for p in (a, b, c))
    shared = make_client("S", "30000.02", "USD", "US")
    eur = make_client("E", "5000.00", "EUR", "FR")
    india = make_client("G", "3000.00", "USD", "IN")
    nok = make_client("N", "1000.00", "NOK", "NO")
    for employee in (ea, eb, ec):
        give_access(employee, shared)
    for client in (eur, india, nok):
        give_access(ea, client)
    act(ea, shared, "2026-02-01T10:00")  # credit until 04-02
    act(eb, shared, "2026-03-10T10:00")  # until 05-09
    act(ec, shared, "2026-03-20T10:00")  # until 05-19
    act(ea, eur, "2026-03-25T10:00")
    act(ea, india, "2026-03-30T10:00")
    act(ea, nok, "2026-03-05T10:00")
    for n in range(6):
        act(ea, india, f"2026-03-{10 + n}T12:00", tool="form", action="create")
    CurrencyUnit.objects.create(currency="EUR", valid_from=date(2026, 4, 20), amount=Decimal("90"))
    # A two-month sold window keeps the history short (the credited tier derives every day
    # from the first deal on): closed 02-10, the big deal counts through 04-09.
    ProgramSettings.objects.update_or_create(pk=1, defaults={"sold_window_months": 2})
    deal(a, shared, "2026-02-10", "6000.00", "sourced")
    deal(a, india, "2026-03-15", "1000.00", "assisted")  # through 05-14
    recompute_day(day=D)
    return {"a": a, "b": b, "c": c, "shared": shared, "eur": eur}


def _recomputed(day: date, partner: Partner) -> tuple:
    recompute_day(day=day)
    return _published(day, partner)


def _published(day: date, partner: Partner) -> tuple:
    s = Standing.objects.published(day).get(partner=partner)
    return (
        s.managed_points,
        s.sold_points,
        s.total_points,
        s.tier,
        s.managed_clients,
        s.qualifying_activities,
        getattr(s, "credited_tier", ""),
    )


def _projected(row) -> tuple:
    return (
        row.managed_points,
        row.sold_points,
        row.total_points,
        row.tier,
        row.managed_clients,
        row.activities[30],
        row.credited_tier,
    )


# k: 1; 2/3 around A's end in S (shares of B and C grow); 9/10 around the deal's window end;
# 19/20 around the EUR unit change; 39/40/49/50 around B's and C's ends; 60 after all.
DAYS_AHEAD = [1, 2, 3, 9, 10, 19, 20, 39, 40, 49, 50, 55, 56, 60]


def test_each_projected_day_equals_the_recompute_of_that_day_without_later_events(
    world,
) -> None:
    partners = [world[who] for who in ("a", "b", "c")]
    projections = {p.pk: projection_compute(partner_id=p.pk, day=D, days=60) for p in partners}
    for projection in projections.values():
        assert [r.day for r in projection.days] == [D + timedelta(days=k) for k in range(1, 61)]
    for k in DAYS_AHEAD:
        recompute_day(day=D + timedelta(days=k))
        for partner in partners:
            row = projections[partner.pk].days[k - 1]
            assert _projected(row) == _published(row.day, partner), f"{partner.key} D+{k}"


def test_the_projection_names_the_first_tier_drop_and_the_soonest_ends(world) -> None:
    projection = projection_compute(partner_id=world["a"].pk, day=D)
    assert projection.current is not None and projection.current.tier == "Platinum"
    drop = projection.first_drop
    assert drop is not None
    assert drop.day == date(2026, 4, 10)  # the deal's window ended on 04-09
    assert drop.tier == "Gold"
    ending = [(e.client.hub_id, e.credit_until) for e in projection.ending]
    assert ending[0] == ("S", date(2026, 4, 2))
    assert ending[1] == ("N", date(2026, 5, 4))


def test_what_if_ends_the_partners_relationship_on_d_and_the_others_shares_grow(world) -> None:
    a, b, shared = world["a"], world["b"], world["shared"]
    without = projection_compute(partner_id=a.pk, day=D, days=5, without=[shared.pk])
    normal = projection_compute(partner_id=a.pk, day=D, days=5)
    assert without.days[0].managed_clients == normal.days[0].managed_clients - 1
    # B's projection knows nothing of A's what-if: it is the plain projection of B ...
    plain_b = projection_compute(partner_id=b.pk, day=D, days=1).days[0]
    # ... and on D+3, after A's credit ran out, B's share is a half of S less the remainder.
    assert plain_b.managed_points == Decimal(
        "100.00"
    )  # 30000.02 / 3: A and B, the first two to start, get the cents
    assert _projected(projection_compute(partner_id=b.pk, day=D, days=3).days[2]) == _recomputed(
        D + timedelta(days=3), b
    )


def test_deals_behind_the_sold_number_with_the_last_day_each_counts(world) -> None:
    deals = deals_counting(partner_id=world["a"].pk, day=D)
    assert [(d.closed_on, d.kind, d.points, d.last_day) for d in deals] == [
        (date(2026, 3, 15), "assisted", Decimal("60.00"), date(2026, 5, 14)),
        (date(2026, 2, 10), "sourced", Decimal("300.00"), date(2026, 4, 9)),
    ]


def test_the_imported_example_world_projects_what_its_later_days_recompute_to() -> None:
    call_command("import_events", str(DATA / "example-world.csv"), stdout=io.StringIO())
    day = date(2026, 5, 15)
    recompute_day(day=day)
    for partner in Partner.objects.all():
        projection = projection_compute(partner_id=partner.pk, day=day, days=70)
        for k in (1, 15, 30, 45, 60, 61, 70):
            row = projection.days[k - 1]
            assert _projected(row) == _recomputed(row.day, partner), f"{partner.key} D+{k}"


def _export(*args: str) -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("export_projection", *args, stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_export_projection_prints_one_row_per_day_ahead(world) -> None:
    rows = _export("--date", "2026-03-31", "--partner", "1001", "--days", "12")
    assert list(rows[0]) == [
        "date",
        "partner",
        "managed_points",
        "sold_points",
        "total_points",
        "tier",
        "credited_tier",
    ]
    assert [r["date"] for r in rows] == [str(D + timedelta(days=k)) for k in range(1, 13)]
    assert rows[9]["tier"] == "Gold" and rows[8]["tier"] == "Platinum"
    assert rows[0]["sold_points"] == "360.00"
    with_out = _export("--date", "2026-03-31", "--partner", "1001", "--without", "E", "G")
    assert Decimal(with_out[0]["managed_points"]) < Decimal(rows[0]["managed_points"])
    assert len(with_out) == 90


ERRORS = [
    (["--date", "2026-03-31", "--partner", "9999"], "no partner with key '9999'"),
    (["--date", "2026-03-30", "--partner", "1001"], "2026-03-30 has not been computed"),
    (["--date", "31/03/2026", "--partner", "1001"], "is not an ISO date"),
    (["--date", "2026-03-31", "--partner", "1001", "--without", "nope"], "hub id nope"),
    (["--date", "2026-03-31", "--partner", "1001", "--days", "0"], "--days"),
]


def test_export_projection_errors_name_the_problem(world) -> None:
    for args, message in ERRORS:
        with pytest.raises(CommandError, match=message):
            call_command("export_projection", *args, stdout=io.StringIO())


def test_a_client_without_a_relationship_changes_nothing_in_the_what_if(world) -> None:
    other = ClientAccount.objects.get(hub_id="E")
    b = world["b"]
    assert [_projected(r) for r in projection_compute(partner_id=b.pk, day=D, days=3).days] == [
        _projected(r)
        for r in projection_compute(partner_id=b.pk, day=D, days=3, without=[other.pk]).days
    ]


def test_the_credited_tier_is_projected_through_a_recalibration_as_recomputed() -> None:
    """Gold is held from 2026-01-01; its sold points end with the deal's window on 02-27, so
    Gold is met on 13 days of the review window 02-15 … 07-15 only: it falls on 07-15."""
    partner = make_partner("4004", joined="2026-01-01")
    employee = make_employee(partner, "e@4004.example")
    client = make_client("R", "8000.00", "USD", "US")
    give_access(employee, client)
    for when in ("2026-01-01", "2026-02-25", "2026-04-20", "2026-06-20"):
        act(employee, client, f"{when}T10:00")
    ProgramSettings.objects.update_or_create(pk=1, defaults={"sold_window_months": 2})
    deal(partner, client, "2025-12-29", "400.00", "sourced")  # 20 sold points through 02-27
    day = date(2026, 6, 30)
    recompute_day(day=day)
    assert Standing.objects.published(day).get(partner=partner).credited_tier == "Gold"
    projection = projection_compute(partner_id=partner.pk, day=day, days=20)
    held = {row.day: row.credited_tier for row in projection.days}
    assert held[date(2026, 7, 14)] == "Gold" and held[date(2026, 7, 15)] == ""
    for target in (date(2026, 7, 14), date(2026, 7, 15), date(2026, 7, 20)):
        recompute_day(day=target)
        published = Standing.objects.published(target).get(partner=partner)
        assert (published.tier, published.credited_tier) == (
            projection.days[(target - day).days - 1].tier,
            held[target],
        ), target
