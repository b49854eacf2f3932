"""Neutralise spreadsheet formulas in exported text (CSV injection), for every export.

A spreadsheet runs a cell as a formula when its text starts with `=`, `+`, `-` or `@`, and
some also after leading spaces, tabs or line breaks, or when it starts with a tab or a
carriage return. Such text gets a leading apostrophe in CSV (the convention spreadsheets
understand: the cell shows the text without it). Numbers (int, Decimal) pass unchanged, so a
negative amount stays a number. XLSX does not need the apostrophe: its cells are written as
typed text (`xlsx_text`), which no spreadsheet evaluates.
"""

import csv
from collections.abc import Iterable
from typing import Any, TypeGuard, TypeVar

T = TypeVar("T")

FORMULA_CHARS = ("=", "+", "-", "@")
CONTROL_STARTS = ("\t", "\r", "\n")
FORMULA_STARTS = FORMULA_CHARS + CONTROL_STARTS


def is_formula_like(value: object) -> TypeGuard[str]:
    """Text a spreadsheet might evaluate: a formula character first, or after blank space."""
    if not isinstance(value, str) or not value:
        return False
    return value.startswith(CONTROL_STARTS) or value.lstrip(" \t\r\n").startswith(FORMULA_CHARS)


def cell(value: T) -> T | str:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass."""
    return "'" + value if is_formula_like(value) else value


def safe_row(row: Iterable[object]) -> list[object]:
    return [cell(value) for value in row]


class SafeWriter:
    """`csv.writer` whose rows are neutralised: what every CSV export writes through."""

    def __init__(self, stream: Any, **kwargs: Any) -> None:
        kwargs.setdefault("lineterminator", "\n")
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: Any, **kwargs: Any) -> SafeWriter:
    return SafeWriter(stream, **kwargs)
