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


# --- The points rounding rule, written once (SPEC §3.7, §3.8) -----------------------------------
# points = amount / unit × points per unit × growth multiplier, rounded half up to 2 decimals.
# Every operand is in integer hundredths (amount, unit, points per unit, multiplier), so in
# hundredths: points_h = amount_h × ppu_h × mult_h / (unit_h × 100), and half-up rounding of a
# positive n / d is floor((2n + d) / 2d). Integer arithmetic: exact on PostgreSQL and SQLite;
# the validators bound amounts, points per unit and multipliers so that 2n fits in 64 bits.


def points_sql(*, amount: str, per_unit: str, multiplier: str, unit: str) -> str:
    """SQL for the points in hundredths of `amount` (all four SQL expressions in hundredths)."""
    return f"((2 * ({amount}) * ({per_unit}) * ({multiplier}) + ({unit}) * 100) / (2 * ({unit}) * 100))"


def points_hundredths(*, amount: int, per_unit: int, multiplier: int, unit: int) -> int:
    """The same rule in Python (the projection applies it to shares it splits itself)."""
    return (2 * amount * per_unit * multiplier + unit * 100) // (2 * unit * 100)


# Every deal with its growth market and the currency unit and points rate in force on the day it
# closed (SPEC §3.8); the points of a deal are DEAL_POINTS over these rows.
DEALS_WITH_RATES = """
    credits_deal d
    JOIN accounts_clientaccount k ON k.id = d.client_id
    LEFT JOIN credits_growthmarket g ON g.country = k.country
    LEFT JOIN credits_currencyunit u ON u.currency = d.currency
         AND u.valid_from = (SELECT MAX(u2.valid_from) FROM credits_currencyunit u2
                             WHERE u2.currency = d.currency AND u2.valid_from <= d.closed_on)
    LEFT JOIN credits_pointsrate r ON r.kind = d.kind
         AND r.valid_from = (SELECT MAX(r2.valid_from) FROM credits_pointsrate r2
                             WHERE r2.kind = d.kind AND r2.valid_from <= d.closed_on)
"""
DEAL_POINTS = points_sql(
    amount="d.amount",
    per_unit="r.points_per_unit",
    multiplier="COALESCE(g.multiplier, 100)",
    unit="u.amount",
)
