"""Argument parsing shared by the credit commands."""

from datetime import date

from django.core.management.base import CommandError


def iso_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"{option}: {value!r} is not an ISO date (YYYY-MM-DD).") from exc
