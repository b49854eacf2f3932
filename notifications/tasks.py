"""Celery task: a thin adapter over `services.notifications_send` (STYLE §3)."""

import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

from notifications import services

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=services.MAX_ATTEMPTS - 1, default_retry_delay=300)
def send_notifications(self, day_iso: str | None = None) -> int:
    """Beat, every morning: send the e-mails due today. A failed send is retried (the same
    day, so a retry after midnight still sends that day's e-mails); sent ones never again."""
    day = date.fromisoformat(day_iso) if day_iso else timezone.localdate()
    report = services.notifications_send(day=day)
    for reason in report.held:
        log.info("notifications of %s: %s", day, reason)
    log.info("notifications of %s: %s sent, %s failed", day, len(report.sent), len(report.failed))
    if report.failed:
        raise self.retry(args=[day.isoformat()])
    return len(report.sent)
