"""Celery tasks: thin adapters over services (STYLE §3)."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task
def ping(value: str) -> str:
    """Echo: lets tests and the health check see a real worker answer."""
    return f"pong {value}"
