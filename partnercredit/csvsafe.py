"""Neutralise spreadsheet formulas in exported text (CSV injection)."""

from typing import TypeVar

T = TypeVar("T")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: T) -> T | str:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
