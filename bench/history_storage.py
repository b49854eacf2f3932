"""What the stored history costs (issue 16, item 5), on PostgreSQL: bytes per credit line and
per day (table, indexes and TOAST, every partition), a year of daily history at the last day's
size, and what replacing a day does to its partition.

    DATABASE_URL=postgres://…/<a computed program> .venv/bin/python bench/history_storage.py
    … --replace 3     then recompute the last published day 3 times, sizing its partition
"""

import argparse
import os
import sys
import time
from datetime import date
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnercredit.settings")

MB = 1024 * 1024


OLD_COLUMNS = (
    "id, day, currency, mrr, partners_sharing, share, points, relationship_started,"
    " last_qualifying_activity, credit_until, client_id, last_employee_id, partner_id, run_id"
)
NEW_COLUMNS = (
    "id, run_id, partner_id, client_id, last_employee_id, mrr, share, points, day,"
    " relationship_started, last_qualifying_activity, credit_until, partners_sharing, currency"
)
NEW_INDEXES = ("PRIMARY KEY (id, day)", "(run_id, partner_id)", "(run_id, client_id)")
OLD_INDEXES = (
    "PRIMARY KEY (id)",
    "(run_id, partner_id)",
    "(run_id, client_id)",
    "(client_id)",
    "(last_employee_id)",
    "(partner_id)",
    "(run_id)",
)


def _packed(connection: Any, day: date, columns: str, indexes: tuple[str, ...]) -> float:
    """Bytes per line of `day`'s lines in a fresh scratch table with these columns (in this
    order) and indexes: the size without the free space that deleted rows leave."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_creditline_before")
        cursor.execute(
            f"CREATE TABLE bench_creditline_before AS SELECT {columns}"
            " FROM credits_creditline WHERE day = %s ORDER BY id",
            [day],
        )
        for n, index in enumerate(indexes):
            if index.startswith("PRIMARY"):
                cursor.execute(f"ALTER TABLE bench_creditline_before ADD {index}")
            else:
                cursor.execute(f"CREATE INDEX bench_before_{n} ON bench_creditline_before {index}")
        cursor.execute(
            "SELECT pg_total_relation_size('bench_creditline_before'),"
            " (SELECT COUNT(*) FROM bench_creditline_before)"
        )
        size, rows = cursor.fetchone()
        cursor.execute("DROP TABLE bench_creditline_before")
    return size / rows if rows else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replace", type=int, default=0, help="recompute the last day N times")
    options = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from credits import partitions
    from credits.engine import recompute_day
    from credits.models import CreditLine, DayResult

    def size(relation: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [relation])
            return int(cursor.fetchone()[0])

    def table_bytes(table: str) -> int:
        parts = [name for name, _, _ in partitions.months()] if table == partitions.TABLE else []
        return sum(size(name) for name in parts) if parts else size(table)

    def indexes(table: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [table]
            )
            return [row[0].split(" USING btree ")[-1] for row in cursor.fetchall()]

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT day), MAX(day) FROM credits_creditline")
        lines, days, last = cursor.fetchone()
    if not lines:
        print("no credit lines: compute some days first")
        return
    last_day_lines = CreditLine.objects.filter(day=last).count()
    total = table_bytes(partitions.TABLE)
    per_line = total / lines
    print(f"partitioned by month: {partitions.is_partitioned()}")
    print(f"indexes: {'; '.join(indexes(partitions.TABLE))}")
    print(f"credit lines: {lines:,} over {days} days ({total / MB:,.0f} MB with indexes)")
    print(f"bytes per credit line: {per_line:,.1f}")
    print(
        f"bytes per day at {last} ({last_day_lines:,} lines): {per_line * last_day_lines / MB:,.1f} MB"
    )
    print(f"a year of such days: {per_line * last_day_lines * 365 / 1024**3:,.1f} GB")
    for name, columns, kept in (
        ("as stored now, packed (the new column order, three indexes)", NEW_COLUMNS, NEW_INDEXES),
        (
            "as stored before migration 0014 (old column order, seven indexes)",
            OLD_COLUMNS,
            OLD_INDEXES,
        ),
    ):
        packed = _packed(connection, last, columns, kept)
        if packed:
            print(
                f"{last}'s lines {name}: {packed:,.1f} bytes per line, "
                f"{packed * last_day_lines * 365 / 1024**3:,.1f} GB a year"
            )
    for table in ("credits_standing", "credits_tierday", "credits_countedday"):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(DISTINCT day) FROM {table}")
            table_days = cursor.fetchone()[0] or 1
        print(f"{table}: {size(table) / table_days / MB:,.2f} MB a day ({table_days} days)")

    if not options.replace:
        return
    day = DayResult.objects.order_by("-day").values_list("day", flat=True)[0]
    home = partitions.partition_name(day) if partitions.is_partitioned() else partitions.TABLE
    print(f"replacing {day} {options.replace} times; {home}: {size(home) / MB:,.0f} MB")
    for n in range(options.replace):
        started = time.perf_counter()
        recompute_day(day=day)
        print(
            f"  replaced ({n + 1}): {time.perf_counter() - started:.1f} s; "
            f"{home}: {size(home) / MB:,.0f} MB"
        )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"VACUUM (ANALYZE) {home}")
        print(f"  VACUUM of {home}: {time.perf_counter() - started:.1f} s")
    recompute_day(day=day)
    print(f"  replaced once more after the vacuum: {home}: {size(home) / MB:,.0f} MB")


if __name__ == "__main__":
    main()
