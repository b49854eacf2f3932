"""The nightly job for real: beat's scheduler sends the entry through Redis, a worker process
runs it (fanning out chunk tasks) and the day's results land in the database."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from celery.beat import Scheduler
from django.conf import settings

from credits.models import CreditLine, DayResult, RecomputeRun
from partnercredit.days import yesterday
from tests.builders import act, give_access, make_client, make_employee, make_partner
from tests.workers import redis_url, require_redis, running_worker


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_beat_sends_the_nightly_job_through_redis_and_a_worker_stores_the_day() -> None:
    require_redis()
    day = yesterday()
    p = make_partner("100", joined=(day - timedelta(days=10)).isoformat())
    e = make_employee(p, "e@p.example", added=(day - timedelta(days=10)).isoformat())
    c = make_client("500", "1000.00", added=(day - timedelta(days=10)).isoformat())
    for hub_id in ("501", "502"):  # more client accounts: the day splits into several chunks
        make_client(hub_id, added=(day - timedelta(days=10)).isoformat())
    give_access(e, c, (day - timedelta(days=5)).isoformat())
    act(e, c, f"{day.isoformat()}T10:00")

    beat_app = Celery("beat-under-test", broker=redis_url(), set_as_current=False)
    beat_app.conf.update(beat_schedule=settings.CELERY_BEAT_SCHEDULE, timezone=settings.TIME_ZONE)
    with running_worker(redis_url()):
        scheduler = Scheduler(app=beat_app, lazy=True)
        scheduler.setup_schedule()
        scheduler.apply_entry(scheduler.schedule["nightly-recompute"], producer=None)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not DayResult.objects.filter(day=day).exists():
            time.sleep(0.5)

    result = DayResult.objects.get(day=day)
    run = RecomputeRun.objects.get(pk=result.run_id)
    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert run.chunks_done == run.chunks_total > 1  # fanned out to chunk tasks
    (line,) = CreditLine.objects.published(day)
    assert (line.partner_id, line.client_id, str(line.points)) == (p.pk, c.pk, "10.00")
