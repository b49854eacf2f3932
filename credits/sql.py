"""The few SQL spellings that differ between PostgreSQL and SQLite."""

from datetime import date, datetime
from typing import Any

from django.db import connection


def add_days(expr: str, days: str) -> str:
    """SQL for the date `expr` plus the integer SQL expression `days`."""
    if connection.vendor == "postgresql":
        return f"(({expr}) + ({days}))"
    return f"date({expr}, '+' || ({days}) || ' days')"


def days_between(later: str, earlier: str) -> str:
    """SQL for the whole days from `earlier` to `later`."""
    if connection.vendor == "postgresql":
        return f"(({later}) - ({earlier}))"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def param(value: date | datetime | Any) -> Any:
    """Adapt a Python value for a raw query the way the ORM stores it."""
    ops = connection.ops
    if isinstance(value, datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return ops.adapt_datefield_value(value)
    return value


def execute(sql: str, params: dict[str, Any]) -> int:
    """Run one statement with named parameters; return the affected row count."""
    with connection.cursor() as cursor:
        cursor.execute(sql, {k: param(v) for k, v in params.items()})
        return cursor.rowcount


def fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, {k: param(v) for k, v in params.items()})
        return cursor.fetchall()
