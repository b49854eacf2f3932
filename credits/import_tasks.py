"""Celery tasks of the admin imports (issue 5): thin adapters (STYLE §3), and their dispatch.

`import_job_dispatch` sends a job to the workers and says whether the broker took it; a job it
could not send stays queued and `import_jobs_recover` (beat, every minute) sends it once the
broker is back, with the jobs whose worker died.
"""

import logging

from celery import shared_task
from kombu.exceptions import OperationalError

from credits.importing.jobs import import_files_purge, import_job_execute, jobs_to_recover

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def import_job_run(job_id: int) -> str:
    """Import the file of ImportJob `job_id`; returns its final status."""
    return import_job_execute(job_id=job_id).status


def import_job_dispatch(job_id: int) -> bool:
    """Send the job to a worker; False (and the job stays queued) when the broker is down."""
    try:
        import_job_run.delay(job_id)
    except (OperationalError, OSError, RuntimeError) as exc:
        log.warning("import job %s not sent, the broker is unreachable: %s", job_id, exc)
        return False
    return True


@shared_task(ignore_result=True)
def import_jobs_recover() -> int:
    """Send again the jobs lost in dispatch or orphaned by a dead worker; how many were sent."""
    return sum(import_job_dispatch(job_id) for job_id in jobs_to_recover())


@shared_task(ignore_result=True)
def import_files_purge_old() -> int:
    """Delete uploaded files `IMPORT_KEEP_DAYS` after their import ended."""
    return import_files_purge()
