"""GET /healthz: is the database answering, and is the Celery broker reachable?

Meant for a load balancer or an uptime probe, so it needs no login and says nothing beyond
"ok" or which dependency failed: no URLs, hosts or exception text.
"""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

log = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.exception("health: database check failed")
        return False


def broker_ok() -> bool:
    """One bounded connection attempt, so a dead broker cannot hang the probe."""
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {},
            connect_timeout=BROKER_TIMEOUT_SECONDS,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        return True
    except Exception:
        log.exception("health: broker check failed")
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_ok(), "broker": broker_ok()}
    body: dict[str, str | list[str]] = {
        name: "ok" if ok else "unavailable" for name, ok in checks.items()
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
