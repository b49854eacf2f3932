"""Marking the engine's pre-aggregated days stale when their inputs change."""

from datetime import date

from django.db.models import F

from credits.models import EngineState


def mark_stale(*, since: date) -> None:
    """Days from `since` on must be re-aggregated before they are computed again."""
    state, _ = EngineState.objects.get_or_create(pk=1)
    if state.dirty_from is None or since < state.dirty_from:
        EngineState.objects.filter(pk=1).update(dirty_from=since, version=F("version") + 1)
    else:
        EngineState.objects.filter(pk=1).update(version=F("version") + 1)
