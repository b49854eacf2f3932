"""Celery tasks: thin adapters over the engine and the catch-up (STYLE §3). They own the
dispatch, retries and logging; every step they call is safe to deliver twice."""

import logging
from datetime import date, timedelta

from celery import group, shared_task
from django.conf import settings
from django.contrib.auth.models import User
from django.db import InterfaceError, OperationalError, close_old_connections, transaction
from django.utils import timezone

from credits import catchup, engine
from credits.models import RecomputeBatch, RecomputeChunk, RecomputeRun
from partnercredit.days import yesterday

log = logging.getLogger(__name__)

# A lost database connection (a restart, a killed backend) is worth another try.
DATABASE_GONE = (OperationalError, InterfaceError)


@shared_task
def ping(value: str) -> str:
    """Echo: lets tests and the health check see a real worker answer."""
    return f"pong {value}"


# --- Dispatch ------------------------------------------------------------------------------------


def send_run(run: RecomputeRun, *, quiet: bool = True) -> None:
    """Send a queued run to the workers once the transaction that queued it commits. With the
    broker down the run stays queued and the watchdog sends it again when it is back; `quiet`
    False raises the broker's error as well, for a person waiting on the answer."""
    transaction.on_commit(lambda: _send(recompute_run, run.pk, quiet=quiet))


def _send(task, *args: object, quiet: bool = True) -> None:
    try:
        task.apply_async(args=args, retry=False)
    except Exception:
        log.warning("could not send %s%s: the broker is unreachable", task.name, args)
        if not quiet:
            raise


def recompute_enqueue(*, day: date, requested_by: User | None = None) -> RecomputeRun:
    """Queue a recompute of `day` on the workers; reuse the live run if there is one."""
    try:
        run = engine.run_claim(
            day=day, status=RecomputeRun.Status.QUEUED, requested_by=requested_by
        )
    except engine.RecomputeBusy:
        return RecomputeRun.objects.filter(day=day, status__in=RecomputeRun.LIVE).latest("pk")
    send_run(run, quiet=False)
    return run


def runs_resend(*, older_than: timedelta) -> int:
    """Send again the runs still queued after `older_than` (their dispatch was lost). Safe to
    repeat: a run's task takes it only once."""
    queued = engine.runs_queued(older_than=older_than)
    for run_id in queued:
        _send(recompute_run, run_id)
    return len(queued)


def batch_enqueue(batch: RecomputeBatch) -> RecomputeBatch:
    """Start a batch: queue its first day."""
    transaction.on_commit(lambda: _send(recompute_batch_step, batch.pk))
    return batch


# --- Beat ----------------------------------------------------------------------------------------


@shared_task
def recompute_nightly() -> int:
    """Beat, every night: catch up the oldest stale days, then the day that just ended."""
    batch, new = catchup.nightly_plan(day=yesterday())
    if new:
        batch_enqueue(batch)
    log.info("nightly recompute: batch %s: %s", batch.pk, batch.note)
    return batch.pk


@shared_task
def recompute_watch() -> dict[str, int]:
    """Beat, every minute: heal what faults left behind, without a person.

    1. Live runs without a heartbeat are failed; a run of a batch is retried by its batch, any
       other is queued again (a day that keeps failing is left failed, for staff to see).
    2. Runs still queued after two minutes (or RECOMPUTE_STALE_SECONDS, if shorter) are sent
       again: the broker was down, or the worker that took the message died.
    3. Batches whose current day ended without moving them on are moved on.
    """
    requeued = 0
    for run in engine.runs_abandoned_fail():
        log.error("recompute of %s (run %s) abandoned: no heartbeat", run.day, run.pk)
        if run.batch_id is None and _failures_today(run.day) < catchup.DAY_ATTEMPTS:
            recompute_enqueue(day=run.day)
            requeued += 1
    stale = timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS)
    resent = runs_resend(older_than=min(timedelta(minutes=2), stale))
    moved = 0
    for batch_id in catchup.batches_idle():
        next_run = catchup.batch_step(batch_id=batch_id)
        moved += 1
        if next_run is not None:
            send_run(next_run)
    return {"requeued": requeued, "resent": resent, "batches": moved}


def _failures_today(day: date) -> int:
    since = timezone.now() - timedelta(days=1)
    return RecomputeRun.objects.filter(
        day=day, status=RecomputeRun.Status.FAILED, finished_at__gte=since
    ).count()


# --- A run ---------------------------------------------------------------------------------------


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=3, default_retry_delay=10)
def recompute_run(self, run_id: int) -> None:
    """Take a queued run: refresh aggregates, then fan the chunks out to the workers."""
    run = engine.run_take(run_id=run_id)
    if run is None:
        log.info("run %s is not queued any more; nothing to do", run_id)
        return
    try:
        chunks = engine.run_prepare(run=run)
    except Exception as exc:
        engine.run_fail(run=run, error=repr(exc))
        _batch_next(run)
        raise
    group(recompute_chunk.s(chunk.pk) for chunk in chunks).apply_async()


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=3, default_retry_delay=10)
def recompute_chunk(self, chunk_id: int) -> None:
    """Compute one chunk; the task that completes the last chunk publishes the run."""
    chunk = RecomputeChunk.objects.select_related("run").get(pk=chunk_id)
    try:
        engine.chunk_compute(chunk=chunk)
    except engine.RecomputeBusy:
        log.info("chunk %s of run %s dropped: the run is not running", chunk.index, chunk.run_id)
        return
    except Exception as exc:
        log.exception("chunk %s of run %s failed", chunk.index, chunk.run_id)
        close_old_connections()
        if self.request.retries >= self.max_retries:
            engine.run_fail(run=chunk.run, error=repr(exc))
            _batch_next(chunk.run)
            raise
        raise self.retry(exc=exc) from exc
    if not RecomputeChunk.objects.filter(run_id=chunk.run_id, done_at__isnull=True).exists():
        recompute_finish.delay(chunk.run_id)


@shared_task(bind=True, ignore_result=True, max_retries=3, default_retry_delay=10)
def recompute_finish(self, run_id: int) -> None:
    """Standings, credited tiers and publishing; the run's status guards against a second
    publisher. A lost database connection is retried; anything else fails the run."""
    run = RecomputeRun.objects.get(pk=run_id)
    if run.status != RecomputeRun.Status.RUNNING:
        return
    try:
        engine.run_finish(run=run)
    except engine.RecomputeBusy:
        log.info("run %s already published", run_id)
        return
    except DATABASE_GONE as exc:
        close_old_connections()
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc) from exc
        engine.run_fail(run=run, error=repr(exc))
    except Exception as exc:
        engine.run_fail(run=run, error=repr(exc))
        _batch_next(run)
        raise
    _batch_next(run)


def _batch_next(run: RecomputeRun) -> None:
    if run.batch_id is not None:
        _send(recompute_batch_step, run.batch_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=5, default_retry_delay=10)
def recompute_batch_step(self, batch_id: int) -> None:
    """Move a batch on: count the day that ended, queue the next."""
    try:
        next_run = catchup.batch_step(batch_id=batch_id)
    except DATABASE_GONE as exc:
        close_old_connections()
        raise self.retry(exc=exc) from exc
    if next_run is not None:
        send_run(next_run)
