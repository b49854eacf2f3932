"""Bulk writes of rows given as tuples of Python values: COPY on PostgreSQL, executemany on SQLite.

On PostgreSQL each value is formatted as COPY text by a formatter chosen once per column (a
model's own `get_db_prep_save` only where its Python value is not what the column takes, such as
`Hundredths`), which is several times faster than adapting values one by one.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cache
from itertools import islice
from typing import Any

from django.db import connection
from django.db.models import Field, Model

BATCH = 5000
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Django's own field types whose Python value PostgreSQL reads from its plain text.
PLAIN = {
    "AutoField",
    "BigAutoField",
    "CharField",
    "TextField",
    "EmailField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "BooleanField",
    "DateTimeField",
    "DateField",
    "ForeignKey",
    "OneToOneField",
    "UUIDField",
}


def _text(value: object) -> str:
    """Any value as COPY text (the formatters below are the fast cases of this)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _string(value: str) -> str:
    return value.translate(_ESCAPES) if "\\" in value or not value.isprintable() else value


def _number(value: object) -> str:
    return "\\N" if value is None else str(value)


def _moments() -> Callable[[object], str]:
    """ISO text of datetimes, remembered: the rows of one import share few moments."""
    seen: dict[Any, str] = {}

    def moment(value: Any) -> str:
        text = seen.get(value)
        if text is None:
            text = seen[value] = "\\N" if value is None else value.isoformat()
            if len(seen) > 100_000:
                seen.clear()
        return text

    return moment


def _formatter(field: Field) -> Callable[[object], str]:
    kind = type(field)
    if not (kind.__name__ in PLAIN and kind.__module__.startswith("django.db.models")):
        return lambda value: _text(field.get_db_prep_save(value, connection))
    if kind.__name__ in ("DateTimeField", "DateField"):
        return _moments()
    if field.is_relation or "Integer" in kind.__name__ or "AutoField" in kind.__name__:
        return _number
    return _text


class Table:
    """Where and how rows of one model's table are written."""

    def __init__(self, model: type[Model], fields: list[Field]) -> None:
        self.model, self.fields = model, fields
        self.name = connection.ops.quote_name(model._meta.db_table)
        self.columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)

    @classmethod
    @cache
    def of(
        cls, model: type[Model], *, skip_pk: bool = False, columns: tuple[str, ...] | None = None
    ) -> "Table":
        """Every column (`skip_pk`: but the id), or the named ones (by name or attname)."""
        fields = [f for f in model._meta.concrete_fields if not (skip_pk and f.primary_key)]
        if columns is not None:
            by_name = {f.attname: f for f in fields} | {f.name: f for f in fields}
            fields = [by_name[name] for name in columns]
        return cls(model, fields)

    def write(self, rows: Iterable[tuple]) -> int:
        writer = self._copy if connection.vendor == "postgresql" else self._insert
        return writer(iter(rows))

    def _copy(self, rows: Iterable[tuple]) -> int:
        formats, count = [_formatter(f) for f in self.fields], 0
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {self.name} ({self.columns}) FROM STDIN") as copy:
                while batch := list(islice(rows, BATCH)):
                    lines = (
                        "\t".join([f(v) for f, v in zip(formats, row, strict=True)])
                        for row in batch
                    )
                    copy.write("\n".join(lines) + "\n")
                    count += len(batch)
        return count

    def _insert(self, rows: Iterable[tuple]) -> int:
        marks = ", ".join(["%s"] * len(self.fields))
        sql = f"INSERT INTO {self.name} ({self.columns}) VALUES ({marks})"
        fields, count = self.fields, 0
        with connection.cursor() as cursor:
            while batch := list(islice(rows, BATCH)):
                cursor.executemany(
                    sql,
                    [tuple(_prep(f, v) for f, v in zip(fields, row, strict=True)) for row in batch],
                )
                count += len(batch)
        return count


def _prep(field: Field, value: Any) -> Any:
    return None if value is None else field.get_db_prep_save(value, connection)


def ids_take(model: type[Model], wanted: int, taken: dict[str, int]) -> list[int]:
    """New ids for `model`'s table: a block of its sequence of about `wanted` ids (at least
    100, at most 50,000 at a time).

    SQLite has no sequence: the ids after the largest ever used (`taken`: by this import).
    """
    size = max(100, min(wanted, 50_000))
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(_SQLITE_LAST.format(table=table, pk=pk), [table])
            last = max(cursor.fetchone()[0] or 0, taken.get(table, 0))
            taken[table] = last + size
            return list(range(last + 1, last + size + 1))
        cursor.execute(_NEXTVALS, [table, pk, size])
        low, high, ids = cursor.fetchone()
        return list(range(low, high + 1)) if high - low + 1 == size else ids


# The ids as a range when no other session took a value meanwhile (the usual case).
_NEXTVALS = """
    SELECT MIN(v), MAX(v), CASE WHEN MAX(v) - MIN(v) + 1 <> COUNT(*) THEN array_agg(v) END
    FROM (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS v FROM generate_series(1, %s)) s
"""
_SQLITE_LAST = """
    SELECT MAX(v) FROM (SELECT MAX("{pk}") AS v FROM "{table}"
                        UNION ALL SELECT seq FROM sqlite_sequence WHERE name = %s)
"""


def statistics_refresh(written: dict[str, int]) -> None:
    """ANALYZE (PostgreSQL) every table that a bulk write changed by a tenth or more.

    Plans of the first queries after a large import then see the rows it wrote: without
    statistics a table written in bulk looks empty, or as small as it was, to the planner.
    """
    if connection.vendor != "postgresql" or not written:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
            [list(written)],
        )
        sizes = dict(cursor.fetchall())
        for table, rows in sorted(written.items()):
            if rows >= ANALYZE_FROM_ROWS and rows * 10 >= max(sizes.get(table, 0), 0):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


ANALYZE_FROM_ROWS = 1000  # fewer rows than this: autovacuum's own analyze is enough
