"""Celery task that runs an uploaded import (issue 5): a thin adapter (STYLE §3)."""

from celery import shared_task

from credits.importing.jobs import import_job_execute


@shared_task
def import_job_run(job_id: int) -> str:
    """Import the file of ImportJob `job_id`; returns its final status."""
    return import_job_execute(job_id=job_id).status
