"""Writing checked activity rows: the COPY fast path and the staging-table path.

The fast path (PostgreSQL, `copy_direct`) COPYs the rows straight into the activity table,
inside a savepoint, so the server writes them while Python reads the next ones. The table's
unique keys (the ref, or without one the whole content) make that safe: if any row was imported
before, or has the key of another row of the file, the COPY fails as a whole, the savepoint is
rolled back, and the caller reads the file again through a `Stage`.

A `Stage` (SQLite, files with duplicates, checks without writing) is a temporary table:
PostgreSQL fills it by COPY, SQLite by executemany; duplicate refs inside the file are found in
SQL on it, and `ON CONFLICT DO NOTHING` skips the rows imported before.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import chain, islice

from django.db import connection, transaction
from psycopg.errors import UniqueViolation

from credits.importing.activity_check import Staged
from credits.models import Activity

STAGE = "import_staging"
COLUMNS = "partner_id, employee_id, client_id, at, day, tool, action, ref"
# The unique indexes that identify an activity: its ref, or without one its content.
KEYS = frozenset(constraint.name for constraint in Activity._meta.constraints)
COPY_CHUNK = 2000  # rows per write to the COPY stream
# Rows checked against the table before the fast path starts: a file imported before (the
# usual duplicate) goes to the general path without being read twice in full.
PROBE_ROWS = 1000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

Written = tuple[int, str | None]  # rows written, the earliest ISO day among them


def copy_direct(checked: Iterator[Staged]) -> Written | None:
    """COPY the checked rows into the activity table; None if one of them was already there.

    None when the savepoint was rolled back (nothing written): a row was imported before, or
    two rows of the file have one key (a repeated ref, or the same row twice).
    """
    head = list(islice(checked, PROBE_ROWS))
    keys = {row[8] or row[2:8] for row in head}  # the ref, or the content
    if len(keys) < len(head) or _any_imported(head):
        return None
    table = Activity._meta.db_table
    try:
        with (
            transaction.atomic(),  # a savepoint
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy,
        ):
            return copy_write(copy, chain(head, checked), line=False)
    except UniqueViolation as exc:
        if exc.diag.constraint_name not in KEYS:
            raise
        return None


_IMPORTED_REF = "SELECT 1 FROM {table} WHERE ref <> '' AND ref = ANY(%s) LIMIT 1"
_IMPORTED_CONTENT = """
    SELECT 1 FROM {table} a
    JOIN unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::text[], %s::text[])
      k(employee_id, client_id, at, tool, action) USING (employee_id, client_id, at, tool, action)
    WHERE a.ref = '' LIMIT 1
"""


def _any_imported(head: list[Staged]) -> bool:
    """Whether any of these rows is already in the activity table (by either key)."""
    refs = [row[8] for row in head if row[8]]
    # Without a ref: (employees, clients, moments, tools, actions), one array each.
    unnamed = [row[2:5] + row[6:8] for row in head if not row[8]]
    contents = [list(column) for column in zip(*unnamed, strict=True)]
    table = Activity._meta.db_table
    with connection.cursor() as cursor:
        for sql, params in ((_IMPORTED_REF, [refs]), (_IMPORTED_CONTENT, contents)):
            if params and params[0]:
                cursor.execute(sql.format(table=table), params)
                if cursor.fetchone():
                    return True
    return False


def copy_write(copy, checked: Iterable[Staged], *, line: bool) -> Written:
    """Write the rows as COPY text, in chunks. `line`: with the line number first."""
    count, first_day, chunk = 0, None, []
    escapes = _COPY_ESCAPES
    for number, pid, eid, cid, at, day, tool, action, ref in checked:
        if first_day is None or day < first_day:
            first_day = day
        text = tool + action + ref
        if "\\" in text or not text.isprintable():
            tool, action, ref = (s.translate(escapes) for s in (tool, action, ref))
        row = f"{pid}\t{eid}\t{cid}\t{at}\t{day}\t{tool}\t{action}\t{ref}\n"
        chunk.append(f"{number}\t{row}" if line else row)
        if len(chunk) >= COPY_CHUNK:
            copy.write("".join(chunk))
            count += len(chunk)
            chunk.clear()
    if chunk:
        copy.write("".join(chunk))
        count += len(chunk)
    return count, first_day


_REPEATED = f"""
    SELECT s.line, s.ref, d.first FROM {STAGE} s
    JOIN (SELECT ref, MIN(line) AS first FROM {STAGE} WHERE ref <> ''
          GROUP BY ref HAVING COUNT(*) > 1) d ON d.ref = s.ref
    WHERE s.line > d.first ORDER BY s.line
"""


class Stage:
    """The temporary table that holds checked activity rows until the insert."""

    create: str

    def fill(self, checked: Iterable[Staged]) -> Written:
        raise NotImplementedError

    def _execute(self, sql: str, params: tuple = ()) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _open(self) -> None:
        self._execute(f"DROP TABLE IF EXISTS {STAGE}")
        self._execute(self.create)

    def repeated_refs(self) -> Iterator[tuple[int, str, int]]:
        """(line, ref, first line) of every row whose ref an earlier row of the file has."""
        with connection.cursor() as cursor:
            cursor.execute(_REPEATED)
            while batch := cursor.fetchmany(1000):
                yield from batch

    def drop_repeated(self) -> int:
        return self._execute(
            f"DELETE FROM {STAGE} WHERE line IN (SELECT line FROM ({_REPEATED}) r)"
        )

    def insert(self) -> int:
        """Insert the staged rows not imported before; how many were new."""
        # In the order of the (employee, client, at) index: about twice as fast as file order
        # on a large table, because index pages are touched in sequence.
        table = Activity._meta.db_table
        return self._execute(
            f"INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM {STAGE} WHERE true "
            "ORDER BY employee_id, client_id, at ON CONFLICT DO NOTHING"
        )

    def drop(self) -> None:
        self._execute(f"DROP TABLE IF EXISTS {STAGE}")


class PostgresStage(Stage):
    create = f"""
        CREATE TEMPORARY TABLE {STAGE} (
            line bigint NOT NULL, partner_id bigint NOT NULL, employee_id bigint NOT NULL,
            client_id bigint NOT NULL, at timestamptz NOT NULL, day date NOT NULL,
            tool varchar(40) NOT NULL, action varchar(40) NOT NULL, ref varchar(200) NOT NULL
        ) ON COMMIT DROP
    """

    def _open(self) -> None:
        super()._open()
        self._execute("SET LOCAL work_mem = '256MB'")  # sorts of the staged rows, in memory

    def fill(self, checked: Iterable[Staged]) -> Written:
        self._open()
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {STAGE} (line, {COLUMNS}) FROM STDIN") as copy,
        ):
            return copy_write(copy, checked, line=True)


class SqliteStage(Stage):
    create = f"""
        CREATE TEMPORARY TABLE {STAGE} (
            line integer NOT NULL, partner_id integer NOT NULL, employee_id integer NOT NULL,
            client_id integer NOT NULL, at text NOT NULL, day text NOT NULL, tool text NOT NULL,
            action text NOT NULL, ref text NOT NULL
        )
    """
    BATCH = 5000
    SQL = f"INSERT INTO {STAGE} (line, {COLUMNS}) VALUES ({', '.join(['%s'] * 9)})"

    def fill(self, checked: Iterable[Staged]) -> Written:
        self._open()
        count, first_day = 0, None
        with connection.cursor() as cursor:
            for batch in _batches(checked, self.BATCH):
                day = min(row[5] for row in batch)
                first_day = day if first_day is None else min(first_day, day)
                cursor.executemany(self.SQL, [_sqlite_row(row) for row in batch])
                count += len(batch)
        return count, first_day


def _sqlite_row(row: Staged) -> tuple:
    at = connection.ops.adapt_datetimefield_value(datetime.fromisoformat(row[4]))
    return (*row[:4], at, *row[5:])


def _batches(rows: Iterable[Staged], size: int) -> Iterator[list[Staged]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def stage_for_vendor() -> Stage:
    return PostgresStage() if connection.vendor == "postgresql" else SqliteStage()
