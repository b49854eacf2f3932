"""How the credit lines are stored (issue 16, item 5): on PostgreSQL a table partitioned by
month, with only the indexes the reads use and no database foreign keys; a replaced day leaves
only its new run's lines; rows of a month without a partition still have a home."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from credits import partitions
from credits.engine import recompute_day
from credits.models import CreditLine, DayResult, Standing
from tests.builders import act, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db

D = date.fromisoformat


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite keeps the credit lines in one plain table "
            "(CI runs this test with DATABASE_URL=postgres://…)"
        )


def _where(cursor_sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(cursor_sql, params or [])
        return cursor.fetchall()


@pytest.fixture
def world():
    """Two partners share client 500 (its lines are split); Ann also earns in 501."""
    p, q = make_partner("100", joined="2026-01-01"), make_partner("200", joined="2026-01-01")
    ann, bea = make_employee(p, "ann@p.example"), make_employee(q, "bea@q.example")
    shared, own = make_client("500", "100.01", added="2026-01-01"), make_client("501")
    for employee, client in ((ann, shared), (bea, shared), (ann, own)):
        give_access(employee, client, "2026-01-01")
        act(employee, client, "2026-03-30T10:00")
    return {"p": p, "q": q}


def test_a_days_lines_are_in_its_months_partition_and_the_next_month_is_ready(world) -> None:
    _needs_postgresql()
    recompute_day(day=D("2026-03-31"))
    placed = _where(
        "SELECT tableoid::regclass::text, day, COUNT(*) FROM credits_creditline GROUP BY 1, 2"
    )
    assert placed == [("credits_creditline_y2026m03", D("2026-03-31"), 3)]
    made = {name for name, _, _ in partitions.months()}
    assert {"credits_creditline_y2026m03", "credits_creditline_y2026m04"} <= made
    recompute_day(day=D("2026-04-01"))  # a new month: its partition was already there
    assert _where(
        "SELECT DISTINCT tableoid::regclass::text FROM credits_creditline WHERE day = %s",
        [D("2026-04-01")],
    ) == [("credits_creditline_y2026m04",)]
    assert "credits_creditline_y2026m05" in {name for name, _, _ in partitions.months()}


def test_the_table_keeps_only_the_indexes_the_reads_use_and_no_foreign_keys(world) -> None:
    _needs_postgresql()
    recompute_day(day=D("2026-03-31"))
    indexes = _where(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'credits_creditline' ORDER BY 1"
    )
    columns = sorted(d.split("USING btree ")[1] for (d,) in indexes)
    assert columns == ["(id, day)", "(run_id, client_id)", "(run_id, partner_id)"]
    foreign = _where(
        "SELECT conname FROM pg_constraint"
        " WHERE conrelid = 'credits_creditline'::regclass AND contype = 'f'"
    )
    assert foreign == []
    assert partitions.is_partitioned()


def test_replacing_a_day_leaves_only_the_new_runs_lines_and_standings(world) -> None:
    day = D("2026-03-31")
    first = recompute_day(day=day)
    second = recompute_day(day=day)
    assert DayResult.objects.get(day=day).run_id == second.pk
    assert set(CreditLine.objects.filter(day=day).values_list("run_id", flat=True)) == {second.pk}
    assert set(Standing.objects.filter(day=day).values_list("run_id", flat=True)) == {second.pk}
    assert CreditLine.objects.filter(run_id=first.pk).count() == 0
    shares = sorted(CreditLine.objects.published(day).values_list("share", flat=True))
    assert shares == [Decimal("50.00"), Decimal("50.01"), Decimal("1000.00")]


def test_a_month_whose_rows_the_default_partition_holds_keeps_using_it(world) -> None:
    _needs_postgresql()
    day = D("2025-07-15")  # no partition for July 2025 yet
    partner = world["p"]
    client = make_client("777", added="2025-01-01")
    run = recompute_day(day=D("2026-03-31"))
    CreditLine.objects.create(
        run=run,
        day=day,
        partner=partner,
        client=client,
        currency="USD",
        mrr=1,
        partners_sharing=1,
        share=1,
        points=1,
        relationship_started=day,
        last_qualifying_activity=day,
        credit_until=day + timedelta(days=60),
    )
    assert _where(
        "SELECT tableoid::regclass::text FROM credits_creditline WHERE day = %s", [day]
    ) == [("credits_creditline_default",)]
    partitions.months_ensure(day)  # July cannot be made while the default holds its rows
    names = {name for name, _, _ in partitions.months()}
    assert "credits_creditline_y2025m07" not in names
    assert "credits_creditline_y2025m08" in names  # the month after could be
