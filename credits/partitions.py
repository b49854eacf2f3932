"""Where the credit lines are kept: on PostgreSQL, one partition of `credits_creditline` per
month of `day` (migration 0014 makes the table partitioned).

A year of daily history at the default program size is some 100 million lines. In one table,
every replaced day left its old lines as dead rows for a vacuum of the whole table (and its
indexes) to find; by month, the rows a recompute deletes — a replaced day, a tier-history
scratch run — are in one month's partition, which autovacuum reclaims soon after (see
`AUTOVACUUM`; the engine does not vacuum itself yet, so a server with autovacuum off keeps
the dead rows), and a month of old detail can be dropped whole. Reads go by run, and name
the day where they can, so PostgreSQL looks in one partition.

The engine makes the partition of a day's month (and of the month after, so that a new month
starts without waiting for the DDL) before it writes the day's lines. Rows of a month without
a partition — written by something other than the engine — land in the DEFAULT partition,
and that month then keeps using it (a partition cannot be made for rows the default holds).
SQLite keeps one plain table.
"""

from datetime import date

from django.db import connection, transaction

from credits.sql import execute

TABLE = "credits_creditline"
DEFAULT = f"{TABLE}_default"
# Vacuum a month once 5% of it is dead (the default 20% would let a month hold some six
# replaced days of dead rows): about one replaced day at the default size.
AUTOVACUUM = "autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05"
_LOCK = 7_304_213


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def partition_name(day: date) -> str:
    return f"{TABLE}_y{day.year:04d}m{day.month:02d}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p"
            " JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s)",
            [TABLE],
        )
        return bool(cursor.fetchone()[0])


def months_ensure(day: date) -> None:
    """The partitions of `day`'s month and of the next month exist (PostgreSQL)."""
    if not is_partitioned():
        return
    _, following = month_bounds(day)
    with transaction.atomic():
        execute("SELECT pg_advisory_xact_lock(%(k)s)", {"k": _LOCK})
        for month in (day, following):
            _month_ensure(month)


def _month_ensure(day: date) -> None:
    name = partition_name(day)
    lo, hi = month_bounds(day)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE day >= %s AND day < %s)", [lo, hi]
        )
        if cursor.fetchone()[0]:
            return  # that month's rows are in the default partition: it stays there
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {TABLE}"
            f" FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}') WITH ({AUTOVACUUM})"
        )


def months() -> list[tuple[str, int, int]]:
    """(partition, rows, bytes with its indexes) of every partition, oldest first."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [TABLE],
        )
        return [(name, max(rows, 0), size) for name, rows, size in cursor.fetchall()]
