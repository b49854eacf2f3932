"""Recomputing several days, oldest first: the nightly catch-up and staff ranges (SPEC §3.11).

A `RecomputeBatch` lists its days. Each day is one ordinary run (its chunks fanned out to the
workers); when the run is published or fails, `batch_step` moves the batch on. Every step is a
conditional update on the batch row, so a step delivered twice, or run by the watchdog while a
worker also runs it, moves the batch once; a killed worker leaves a run without heartbeat,
which the watchdog fails and the batch retries.
"""

import logging
import time
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from credits import engine
from credits.models import RecomputeBatch, RecomputeRun
from credits.staleness import day_freshness, stale_days

log = logging.getLogger(__name__)

Batch = RecomputeBatch.Status
Run = RecomputeRun.Status
DAY_ATTEMPTS = 3  # a day that fails this many times in one batch fails the batch


def nightly_plan(*, day: date) -> tuple[RecomputeBatch, bool]:
    """The night's batch: the oldest stale days (at most RECOMPUTE_MAX_CATCHUP_DAYS), then
    `day`, the day that just ended; and whether it is new (a nightly batch still live is
    reused)."""
    live = RecomputeBatch.objects.filter(
        kind=RecomputeBatch.Kind.NIGHTLY, status__in=RecomputeBatch.LIVE
    ).first()
    if live is not None:
        return live, False
    limit = settings.RECOMPUTE_MAX_CATCHUP_DAYS
    stale = [d for d in stale_days(through=day) if d != day]
    catch_up, left = stale[:limit], len(stale) - min(len(stale), limit)
    note = f"{len(catch_up)} stale day(s) caught up, then {day}."
    if left:
        note += (
            f" {left} more stale day(s) wait for the next night (at most {limit} a night): "
            f"from {stale[limit]} on."
        )
    return _create(kind=RecomputeBatch.Kind.NIGHTLY, days=[*catch_up, day], note=note), True


def range_plan(*, first: date, last: date, requested_by: User | None = None) -> RecomputeBatch:
    """Program staff recompute `first` … `last` (days that have ended)."""
    engine.require_ended(last)
    if last < first:
        raise ValueError(f"{last} is before {first}.")
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return _create(
        kind=RecomputeBatch.Kind.RANGE,
        days=days,
        requested_by=requested_by,
        note=f"{len(days)} day(s) from {first} to {last}.",
    )


def _create(
    *, kind: str, days: list[date], note: str, requested_by: User | None = None
) -> RecomputeBatch:
    return RecomputeBatch.objects.create(
        kind=kind, days=[d.isoformat() for d in days], note=note, requested_by=requested_by
    )


def batch_cancel(*, batch: RecomputeBatch) -> bool:
    """Ask a live batch to stop after its current day. True if it was live."""
    return bool(
        RecomputeBatch.objects.filter(pk=batch.pk, status__in=RecomputeBatch.LIVE).update(
            cancel_requested=True
        )
    )


def batch_step(*, batch_id: int) -> RecomputeRun | None:
    """Move the batch on: count its current run if it ended, then queue the next day's run.
    Return the run to send to the workers, if one was queued (the caller sends it)."""
    with transaction.atomic():
        batch = RecomputeBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status not in RecomputeBatch.LIVE:
            return None
        run = batch.current_run
        if run is not None and run.status in RecomputeRun.LIVE:
            return None  # the day is being computed; its end calls this again
        if run is not None:
            _count(batch, run)
        if batch.status not in RecomputeBatch.LIVE:
            batch.save()
            return None
        if batch.cancel_requested or batch.done >= len(batch.days):
            _end(batch, Batch.CANCELLED if batch.done < len(batch.days) else Batch.SUCCEEDED)
            return None
        next_run = _queue_day(batch)
        batch.save()
        return next_run


def _count(batch: RecomputeBatch, run: RecomputeRun) -> None:
    if run.status == Run.SUCCEEDED:
        batch.done += 1
        batch.attempts = 0
    else:
        batch.attempts += 1
        if batch.attempts >= DAY_ATTEMPTS:
            batch.error = f"{run.day} failed {DAY_ATTEMPTS} times; last error: {run.error}"[:5000]
            _end(batch, Batch.FAILED)
            log.error("recompute batch %s failed: %s", batch.pk, batch.error)
    batch.current_run = None


def _end(batch: RecomputeBatch, status: str) -> None:
    batch.status = status
    batch.finished_at = batch.heartbeat_at = timezone.now()
    batch.save()


def _queue_day(batch: RecomputeBatch) -> RecomputeRun | None:
    day = date.fromisoformat(batch.days[batch.done])
    now = timezone.now()
    batch.status = Batch.RUNNING
    batch.started_at = batch.started_at or now
    batch.heartbeat_at = now
    try:
        run = engine.run_claim(day=day, status=Run.QUEUED)
    except engine.RecomputeBusy:
        # Another run of that day is live (staff, another batch): follow it instead.
        batch.current_run = RecomputeRun.objects.filter(
            day=day, status__in=RecomputeRun.LIVE
        ).latest("pk")
        return None
    RecomputeRun.objects.filter(pk=run.pk).update(batch=batch)
    batch.current_run = run
    return run


def batches_idle() -> list[int]:
    """Live batches whose current day ended (or that never started) without moving them on:
    a lost message or a killed worker. The watchdog steps them."""
    cutoff = timezone.now() - timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS)
    idle = []
    live = RecomputeBatch.objects.filter(status__in=RecomputeBatch.LIVE)
    for batch in live.select_related("current_run"):
        run = batch.current_run
        if run is not None and run.status in RecomputeRun.LIVE:
            continue
        if run is not None or (batch.heartbeat_at or batch.created_at) < cutoff:
            idle.append(batch.pk)
    return idle


# --- In this process (the command line) --------------------------------------------------------


def recompute_days_inline(days: list[date], *, wait_seconds: float = 2.0) -> list[RecomputeRun]:
    """Compute each day here, oldest first. A day another process is computing right now is
    waited for, and then skipped if that run made it fresh: two catch-ups at once never
    write a day twice or lose one."""
    runs = []
    for day in days:
        run = _recompute_or_follow(day, wait_seconds)
        if run is not None:
            runs.append(run)
    return runs


def _recompute_or_follow(day: date, wait_seconds: float) -> RecomputeRun | None:
    while not _fresh(day):
        try:
            run = engine.run_claim(day=day, status=RecomputeRun.Status.RUNNING)
        except engine.RecomputeBusy:
            live = RecomputeRun.objects.filter(day=day, status__in=RecomputeRun.LIVE)
            while live.exists():
                time.sleep(wait_seconds)
            continue
        # Checked again under the claim, when no other run of the day can publish: another
        # catch-up may have published it between the check above and the claim.
        if _fresh(day):
            run.delete()  # claimed a moment ago, computed nothing: there is no history to keep
            return None
        return engine.run_compute(run=run)
    return None  # another catch-up brought it up to date


def _fresh(day: date) -> bool:
    freshness = day_freshness(day)
    return freshness is not None and not freshness.is_stale
