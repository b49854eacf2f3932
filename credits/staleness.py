"""Marking the engine's pre-aggregated days stale when their inputs change."""

from datetime import date

from django.db.models import Case, F, Q, Value, When

from credits.models import Activity, EngineState


def mark_stale(*, since: date) -> None:
    """Days from `since` on must be re-aggregated before they are computed again.

    One conditional UPDATE, so that it composes with a concurrent refresh (which holds the
    row lock) without losing either change.
    """
    EngineState.objects.get_or_create(pk=1)
    EngineState.objects.filter(pk=1).update(
        dirty_from=Case(
            When(Q(dirty_from__isnull=True) | Q(dirty_from__gt=since), then=Value(since)),
            default=F("dirty_from"),
        )
    )


def mark_all_stale() -> None:
    """The catalogue or the grace period changed: every day's aggregates may differ."""
    first = Activity.objects.order_by("day").values_list("day", flat=True).first()
    if first is not None:
        mark_stale(since=first)
