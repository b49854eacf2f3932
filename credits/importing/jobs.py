"""Running an uploaded ImportJob (what the Celery task calls)."""

import logging
import time

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

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
        self.side = None
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if connection.vendor != "postgresql" or time.monotonic() - self.last < self.EVERY_SECONDS:
            return
        self.last = time.monotonic()
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET rows_read = %s WHERE id = %s",
                [done, self.job_id],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def import_job_execute(*, job_id: int) -> ImportJob:
    """Claim a queued job, import its file and store the report; a re-run of a claimed job is a no-op."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    job = ImportJob.objects.select_related("partner", "uploaded_by").get(pk=job_id)
    if not claimed:
        return job
    progress = JobProgress(job_id)
    try:
        with job.file.open("rb") as upload:
            report = events_import(
                path_or_file=upload,
                skip_invalid=job.skip_invalid,
                only_partner=job.partner,
                actor=job.uploaded_by,
                progress=progress,
            )
    except Exception as exc:  # noqa: BLE001 — the job must end, with the reason shown
        log.exception("import job %s failed", job_id)
        job.status = ImportJob.Status.FAILED
        job.errors = [f"the import stopped: {exc}"]
    else:
        job.status = ImportJob.Status.SUCCEEDED if report.committed else ImportJob.Status.FAILED
        job.rows_read = report.rows_read
        job.rows_applied = report.applied
        job.rows_duplicate = report.duplicates
        job.rows_rejected = report.rejected
        job.errors = report.errors
    finally:
        progress.close()
    job.finished_at = timezone.now()
    job.save()
    return job
