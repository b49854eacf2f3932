"""Freshness of published days (SPEC §3.11).

Every write that affects day D records a `DataChange(first_day=D)`. A computation remembers the
highest change id it had seen when it started (its `data_version`); a published day is stale
when a change recorded after that affects it (`first_day` ≤ day). So staleness is stored at
write time and read with one indexed query; nothing is guessed.

On PostgreSQL a writer records its change under a shared advisory lock held to its commit, and
a computation takes the same lock exclusively to read the version: every change with an id at
or below the version is then committed and visible to the computation. (SQLite has one writer
at a time, which gives the same order.)
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Case, Exists, F, Max, Model, OuterRef, Q, Value, When
from django.utils import timezone

from credits.models import Activity, DataChange, DayResult, EngineState

_LOCK = 7_304_211  # advisory lock key shared by writers (shared) and computations (exclusive)
_deferred: contextvars.ContextVar["_Pending | None"] = contextvars.ContextVar(
    "deferred_staleness", default=None
)


@dataclass
class _Pending:
    what: str
    since: date | None = None
    counted: bool = False


def mark_stale(*, since: date, what: str = "", counted: bool = True) -> None:
    """Record that a change affects every day from `since` on.

    `counted`: the change may alter which activities count (access, activities, the catalogue,
    the grace period), so the engine's per-day aggregates from `since` on are rebuilt too.
    Inside `deferred()` the mark is kept until the block ends.
    """
    pending = _deferred.get()
    if pending is not None:
        pending.since = since if pending.since is None else min(pending.since, since)
        pending.counted = pending.counted or counted
        return
    _record(since=since, what=what or "A change", counted=counted)


@contextmanager
def deferred(*, what: str) -> Iterator[None]:
    """Coalesce every `mark_stale` inside the block into one record (for bulk writers)."""
    if _deferred.get() is not None:  # nested: the outer block records
        yield
        return
    pending = _Pending(what=what)
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    if pending.since is not None:
        _record(since=pending.since, what=what, counted=pending.counted)


def mark_all_stale(*, what: str, counted: bool = True) -> None:
    """A rule that is not effective-dated changed: every day with data may differ."""
    first = Activity.objects.order_by("day").values_list("day", flat=True).first()
    mark_stale(since=first or timezone.localdate(), what=what, counted=counted)


@transaction.atomic
def _record(*, since: date, what: str, counted: bool) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_LOCK])
    DataChange.objects.create(first_day=since, what=what[:300])
    if counted:
        _aggregates_stale(since)


def _aggregates_stale(since: date) -> None:
    """Move `EngineState.dirty_from` back to `since`: one conditional UPDATE, so that it
    composes with a concurrent refresh (which holds the row lock) without losing either."""
    EngineState.objects.get_or_create(pk=1)
    EngineState.objects.filter(pk=1).update(
        dirty_from=Case(
            When(Q(dirty_from__isnull=True) | Q(dirty_from__gt=since), then=Value(since)),
            default=F("dirty_from"),
        )
    )


def data_version() -> int:
    """The id of the latest change every later read of this computation will see."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        return DataChange.objects.aggregate(v=Max("pk"))["v"] or 0


def change_after(*, day: date, version: int) -> DataChange | None:
    """The earliest change recorded after `version` that affects `day`."""
    return DataChange.objects.filter(pk__gt=version, first_day__lte=day).order_by("pk").first()


@dataclass(frozen=True)
class Freshness:
    day: date
    computed_at: datetime
    change: DataChange | None

    @property
    def is_stale(self) -> bool:
        return self.change is not None

    @property
    def recompute_note(self) -> str:
        if not self.is_stale:
            return ""
        return "It will be recomputed by tonight's run; program staff can recompute it now."


def day_freshness(day: date) -> Freshness | None:
    """When `day` was computed and whether a later change made it stale; None if never."""
    result = DayResult.objects.filter(day=day).first()
    if result is None:
        return None
    change = change_after(day=day, version=result.data_version)
    return Freshness(day=day, computed_at=result.computed_at, change=change)


def stale_days(*, through: date) -> list[date]:
    """Published days up to `through` that a later change made stale, oldest first."""
    later = DataChange.objects.filter(
        pk__gt=OuterRef("data_version"), first_day__lte=OuterRef("day")
    )
    results = DayResult.objects.filter(Exists(later), day__lte=through).order_by("day")
    return list(results.values_list("day", flat=True))


def rule_changed(*, rule: Model, action: str, was_valid_from: date | None = None) -> None:
    """A program rule was added, changed or deleted: the days it is in force on are stale.

    Effective-dated rules (rates, units, tiers) affect days from the earlier of their old and
    new `valid_from`; the others (catalogue, growth markets, program settings) every day. Only
    the catalogue and the program settings change which activities count.
    """
    what = f"{str(rule._meta.verbose_name).capitalize()} {action}: {rule}"
    counted = rule._meta.model_name in ("qualifyingaction", "programsettings")
    valid_from = getattr(rule, "valid_from", None)
    if valid_from is None:
        mark_all_stale(what=what, counted=counted)
        return
    since = min(d for d in (valid_from, was_valid_from) if d is not None)
    mark_stale(since=since, what=what, counted=counted)


def stale_warning(day: date) -> str:
    """A line naming `day` as out of date, or '' when it is fresh (for the CLI exports)."""
    freshness = day_freshness(day)
    if freshness is None or freshness.change is None:
        return ""
    change = freshness.change
    return (
        f"{day} is stale: computed {freshness.computed_at:%Y-%m-%d %H:%M %Z}, before "
        f"{change.what!r} (recorded {change.recorded_at:%Y-%m-%d %H:%M %Z}, affects "
        f"{change.first_day} on); run `manage.py recompute_credits --stale` to bring it up to date."
    )
