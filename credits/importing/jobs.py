"""Running an uploaded ImportJob (what the Celery task calls), and keeping jobs alive.

A job is claimed (queued → running) by one worker, which beats `heartbeat_at` while it reads.
`jobs_to_recover` finds what a fault left behind: a job still queued a minute after its upload
(the broker was down when it was sent) and a job running without a heartbeat for
`RECOMPUTE_STALE_SECONDS` (its worker died; the import's transaction rolled back with it). The
beat task sends both again; a job whose worker died `MAX_ATTEMPTS` times is failed for good.
Uploaded files are deleted `IMPORT_KEEP_DAYS` after their job ended (`files_to_purge`).
"""

import logging
import time
from datetime import datetime, timedelta
from typing import BinaryIO, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from credits.importing.run import events_import
from credits.models import ImportJob

log = logging.getLogger(__name__)


class JobProgress:
    """Writes rows-read-so-far to the job while the import's transaction is still open.

    The import runs in one transaction, so the count goes through a second connection that
    commits at once. Only on PostgreSQL: SQLite has one writer, the import itself.
    """

    EVERY_SECONDS = 2.0

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.side: BaseDatabaseWrapper | None = None
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if connection.vendor != "postgresql" or time.monotonic() - self.last < self.EVERY_SECONDS:
            return
        self.last = time.monotonic()
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET rows_read = %s, heartbeat_at = %s "
                "WHERE id = %s",
                [done, timezone.now(), self.job_id],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def import_job_execute(*, job_id: int) -> ImportJob:
    """Claim a queued job, import its file and store the report; a re-run of a claimed job is a no-op."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    job = ImportJob.objects.select_related("partner", "uploaded_by").get(pk=job_id)
    if not claimed:
        return job
    progress = JobProgress(job_id)
    try:
        # The reasons of the report in the uploader's language (the command line's is English).
        with job.file.open("rb") as upload, translation.override(job.language or None):
            report = events_import(
                path_or_file=cast(BinaryIO, upload),  # a FieldFile opened "rb" reads bytes
                skip_invalid=job.skip_invalid,
                only_partner=job.partner,
                actor=job.uploaded_by,
                progress=progress,
            )
    except Exception as exc:
        log.exception("import job %s failed", job_id)
        job.status = ImportJob.Status.FAILED
        with translation.override(job.language or None):
            stopped = _("the import stopped: %(error)s") % {"error": exc}
        job.errors = [*_restarts(job), stopped]
    else:
        job.status = ImportJob.Status.SUCCEEDED if report.committed else ImportJob.Status.FAILED
        job.rows_read = report.rows_read
        job.rows_applied = report.applied
        job.rows_duplicate = report.duplicates
        job.rows_rejected = report.rejected
        job.errors = [*_restarts(job), *report.errors]
    finally:
        progress.close()
    job.finished_at = timezone.now()
    job.save()
    return job


QUEUED_GRACE = timedelta(minutes=1)
MAX_ATTEMPTS = 3
RESTARTED = "restarted: "


def _restarts(job: ImportJob) -> list[str]:
    """The notes of earlier attempts whose worker died (kept in the job's errors)."""
    return [line for line in job.errors if line.startswith(RESTARTED)]


def jobs_to_recover(*, now: datetime | None = None) -> list[int]:
    """Jobs to send to a worker again: lost in dispatch, or orphaned by a dead worker."""
    now = now or timezone.now()
    lost = list(
        ImportJob.objects.filter(
            status=ImportJob.Status.QUEUED, created_at__lt=now - QUEUED_GRACE
        ).values_list("pk", flat=True)
    )
    stale_before = now - timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS)
    for job_id in ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale_before
    ).values_list("pk", flat=True):
        if _requeue_orphan(job_id, stale_before, now):
            lost.append(job_id)
    return lost


@transaction.atomic
def _requeue_orphan(job_id: int, stale_before: datetime, now: datetime) -> bool:
    """Fail the dead attempt of one running job; queue it again unless it died too often."""
    job = (
        ImportJob.objects.select_for_update(skip_locked=True)
        .filter(pk=job_id, status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale_before)
        .first()
    )
    if job is None:
        return False
    note = (
        f"{RESTARTED}the worker running this import stopped answering at "
        f"{job.heartbeat_at:%Y-%m-%d %H:%M:%S} after {job.rows_read} rows; nothing was written"
    )
    job.errors = [*job.errors, note]
    if len(_restarts(job)) >= MAX_ATTEMPTS:
        job.status = ImportJob.Status.FAILED
        job.finished_at = now
        job.errors = [*job.errors, f"failed: its worker died {MAX_ATTEMPTS} times"]
    else:
        job.status = ImportJob.Status.QUEUED
        job.rows_read = 0
    job.save(update_fields=["status", "errors", "rows_read", "finished_at"])
    log.warning("import job %s: %s", job.pk, note)
    return job.status == ImportJob.Status.QUEUED


def files_to_purge(*, now: datetime | None = None) -> list[ImportJob]:
    """Finished jobs whose uploaded file is older than `IMPORT_KEEP_DAYS`."""
    before = (now or timezone.now()) - timedelta(days=settings.IMPORT_KEEP_DAYS)
    return list(
        ImportJob.objects.filter(
            status__in=[ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED],
            finished_at__lt=before,
        ).exclude(file="")
    )


def import_files_purge(*, now: datetime | None = None) -> int:
    """Delete the uploaded files of long-finished jobs; the job's record and report stay."""
    purged = 0
    for job in files_to_purge(now=now):
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")
        purged += 1
    return purged
