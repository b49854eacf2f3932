"""Calendar days in the program time zone (settings.TIME_ZONE)."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def program_day(at: datetime) -> date:
    """The program-time calendar day of an aware datetime."""
    return timezone.localtime(at).date()


def day_start(day: date) -> datetime:
    """The first instant of `day` in program time."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day: date) -> datetime:
    """The first instant after `day`: state at the end of `day` is the state before this."""
    return day_start(day + timedelta(days=1))


def today() -> date:
    """Today in program time: the day that has not ended yet (tests move it)."""
    return program_day(timezone.now())


def yesterday(now: datetime | None = None) -> date:
    """The day that just ended."""
    return (program_day(now) if now else today()) - timedelta(days=1)
