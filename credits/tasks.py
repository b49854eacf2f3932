"""Celery tasks: thin adapters over the engine (STYLE §3). They own retries and logging."""

import logging
from datetime import date, timedelta

from celery import group, shared_task

from credits import engine
from credits.models import RecomputeChunk, RecomputeRun
from partnercredit.days import yesterday

log = logging.getLogger(__name__)


@shared_task
def ping(value: str) -> str:
    """Echo: lets tests and the health check see a real worker answer."""
    return f"pong {value}"


@shared_task
def recompute_nightly() -> int | None:
    """Beat, every night: queue the day that just ended (program time)."""
    day = yesterday()
    run = engine.recompute_enqueue(day=day)
    log.info("nightly recompute of %s queued as run %s", day, run.pk)
    return run.pk


@shared_task
def recompute_requeue() -> int:
    """Beat, every few minutes: send again the runs whose dispatch was lost."""
    count = engine.runs_requeue(older_than=timedelta(minutes=2))
    if count:
        log.warning("requeued %s recompute run(s) whose dispatch was lost", count)
    return count


@shared_task
def recompute_day(day_iso: str) -> int:
    """Queue the recompute of one ISO day (used by `recompute_credits --queue`)."""
    return engine.recompute_enqueue(day=date.fromisoformat(day_iso)).pk


@shared_task(bind=True, max_retries=3, default_retry_delay=30)
def recompute_run(self, run_id: int) -> None:  # noqa: ANN001
    """Start a queued run: refresh aggregates, then fan the chunks out to the workers."""
    run = engine.run_begin(run_id=run_id)
    if run is None:
        log.info("run %s is not queued any more; nothing to do", run_id)
        return
    try:
        chunks = engine.run_start(run=run)
    except Exception as exc:
        engine.run_fail(run=run, error=repr(exc))
        raise
    group(recompute_chunk.s(chunk.pk) for chunk in chunks).apply_async()


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=10)
def recompute_chunk(self, chunk_id: int) -> None:  # noqa: ANN001
    """Compute one chunk; the task that completes the last chunk publishes the run."""
    chunk = RecomputeChunk.objects.select_related("run").get(pk=chunk_id)
    try:
        engine.chunk_compute(chunk=chunk)
    except Exception as exc:
        log.exception("chunk %s of run %s failed", chunk.index, chunk.run_id)
        if self.request.retries >= self.max_retries:
            engine.run_fail(run=chunk.run, error=repr(exc))
            raise
        raise self.retry(exc=exc) from exc
    if not RecomputeChunk.objects.filter(run_id=chunk.run_id, done_at__isnull=True).exists():
        recompute_finish.delay(chunk.run_id)


@shared_task
def recompute_finish(run_id: int) -> None:
    """Standings and publishing; the run's status guards against a second publisher."""
    run = RecomputeRun.objects.get(pk=run_id)
    if run.status != RecomputeRun.Status.RUNNING:
        return
    try:
        engine.run_finish(run=run)
    except engine.RecomputeBusy:
        log.info("run %s already published", run_id)
    except Exception as exc:
        engine.run_fail(run=run, error=repr(exc))
        raise
