"""The fault suite (issue 18): real workers on Redis and PostgreSQL, killed at random points of
a 14-day recompute, their database connections killed in each step, the broker down and back.
After each fault every day must be published again, equal to a clean run, within
2 × RECOMPUTE_STALE_SECONDS of the work being possible again, with no orphan rows — and no
person doing anything. The figures are printed (`pytest -s` shows them; CI logs keep them)."""

import contextlib
import os
import random
import signal
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from django.db import connection

from credits import catchup
from credits.engine import recompute_day
from credits.models import CreditLine, DayResult, RecomputeBatch, RecomputeRun, Standing
from credits.staleness import mark_stale
from tests.builders import act, give_access, make_client, make_employee, make_partner
from tests.workers import database_url_of_test_db, redis_url, require_redis, running_worker

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

FIRST = date(2026, 3, 1)
DAYS = [FIRST + timedelta(days=n) for n in range(14)]
STALE = 4  # RECOMPUTE_STALE_SECONDS in the workers of this suite
WORKER_ENV = {
    "RECOMPUTE_STALE_SECONDS": str(STALE),
    "RECOMPUTE_WATCH_SECONDS": "1",
    "RECOMPUTE_CHUNKS": "3",
}


@pytest.fixture
def clean() -> dict:
    """A program of three partners and five clients, its 14 days computed cleanly here."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: workers and the test share one database server")
    require_redis()
    redis.Redis.from_url(redis_url()).delete("celery", "unacked", "unacked_index")
    partners = [make_partner(k, joined="2026-01-01") for k in ("100", "20", "3")]
    for n, p in enumerate(partners):
        e = make_employee(p, f"e{n}@p.example")
        for hub in range(5):
            c = make_client(f"90{hub}", "1000.00") if n == 0 else None
            c = c or _client(f"90{hub}")
            if (hub + n) % 2 == 0 or hub == 4:
                give_access(e, c, "2026-02-01")
                act(e, c, f"2026-03-0{1 + (hub + n) % 9}T10:00")
    for day in DAYS:
        recompute_day(day=day)
    return snapshot()


def _client(hub: str):
    from accounts.models import ClientAccount

    return ClientAccount.objects.get(hub_id=hub)


def snapshot() -> dict:
    return {
        day: (
            sorted(
                CreditLine.objects.published(day).values_list(
                    "partner_id", "client_id", "share", "points"
                )
            ),
            sorted(
                Standing.objects.published(day).values_list(
                    "partner_id", "total_points", "tier", "credited_tier"
                )
            ),
        )
        for day in DAYS
    }


def orphans() -> dict[str, int]:
    published = DayResult.objects.values("run_id")
    return {
        "credit lines of unpublished runs": CreditLine.objects.exclude(
            run_id__in=published
        ).count(),
        "standings of unpublished runs": Standing.objects.exclude(run_id__in=published).count(),
        "live runs": RecomputeRun.objects.filter(status__in=RecomputeRun.LIVE).count(),
        "tier-history scratch runs": RecomputeRun.objects.filter(status="tiers").count(),
    }


def start_batch() -> RecomputeBatch:
    # Beat sends the watchdog every second: what earlier workers left queued would stand in
    # front of this trial's messages.
    redis.Redis.from_url(redis_url()).delete("celery", "unacked", "unacked_index")
    mark_stale(since=FIRST, what="fault suite: everything stale")
    batch = catchup.range_plan(first=DAYS[0], last=DAYS[-1])
    return batch


def wait_moving(batch: RecomputeBatch, done: int, seconds: float) -> float:
    """Seconds until the batch gets past the day it was on (or ends): the fault healed."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        batch.refresh_from_db()
        if batch.done > done or batch.status not in RecomputeBatch.LIVE:
            return time.monotonic() - started
        time.sleep(0.1)
    runs = list(
        RecomputeRun.objects.order_by("-pk").values_list(
            "pk", "day", "status", "chunks_done", "chunks_total", "heartbeat_at", "error"
        )
    )
    pytest.fail(
        f"batch {batch.pk} ({batch.status}, current run {batch.current_run_id}, attempts "
        f"{batch.attempts}) still on day {done + 1} of {batch.total} after {seconds} s; "
        f"runs: {runs[:3]}; now {time.time()}"
    )


def wait_done(batch: RecomputeBatch, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        batch.refresh_from_db()
        if batch.status not in RecomputeBatch.LIVE and not orphans()["live runs"]:
            return time.monotonic() - started
        time.sleep(0.25)
    pytest.fail(
        f"batch {batch.pk} still {batch.status} ({batch.done}/{batch.total}) after {seconds} s"
    )


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc): the pool, and the beat embedded by --beat."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:  # gone meanwhile
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def strays() -> list[int]:
    """Worker processes of this test session still alive (by their beat schedule file)."""
    mark = f"test-beat-{os.getpid()}".encode()
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if mark in cmdline.read_bytes():  # a zombie's is empty
                alive.append(int(cmdline.parent.name))
    return alive


def worker_mains(app) -> list[int]:
    """The pids of the running workers' main processes."""
    stats = app.control.inspect(timeout=3).stats() or {}
    return [s["pid"] for s in stats.values()]


def kill_worker(mains: list[int]) -> int:
    """kill -9 of the workers and every process they started, at once. (The pool's processes
    alone left the beat embedded by --beat alive: an orphan that kept sending its schedule.)"""
    pids = {*mains, *(child for pid in mains for child in descendants(pid))}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def test_kill_9_at_random_points_of_a_14_day_recompute_heals_by_itself(clean: dict) -> None:
    rng = random.Random(18)
    figures = []
    for trial in range(10):
        batch = start_batch()
        with running_worker(redis_url(), beat=True, extra_env=WORKER_ENV) as app:
            mains = worker_mains(app)
            app.send_task("credits.tasks.recompute_batch_step", args=[batch.pk])
            # A random day, and a random moment of it: the kill lands inside the batch.
            target = rng.randrange(12)
            deadline = time.monotonic() + 120
            while batch.done < target and time.monotonic() < deadline:
                time.sleep(0.05)
                batch.refresh_from_db()
            time.sleep(rng.uniform(0.0, 0.5))
            killed = kill_worker(mains)
            batch.refresh_from_db()
            done_at_kill = batch.done
            assert done_at_kill < batch.total, f"trial {trial}: the kill came after the batch"
        with running_worker(redis_url(), beat=True, extra_env=WORKER_ENV):
            # The dead run is failed after STALE seconds without a heartbeat and its day
            # computed again; the slack is one day's work on a loaded machine.
            healed = wait_moving(batch, done_at_kill, 2 * STALE + 30)
            finished = wait_done(batch, 300)
        deadline = time.monotonic() + 20
        while strays() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert strays() == [], f"trial {trial}: worker processes left running"
        batch.refresh_from_db()
        assert batch.status == "succeeded", batch.error
        assert snapshot() == clean, f"trial {trial}: results differ from the clean run"
        assert orphans() == {k: 0 for k in orphans()}, orphans()
        figures.append((trial, f"{done_at_kill}/14", killed, round(healed, 1), round(finished, 1)))
    print(
        "\nkill -9 trials (trial, days done at the kill, processes killed, seconds until the"
        " batch moved past the killed day, seconds until every day was published again):"
    )
    for row in figures:
        print("  ", *row)


def _backends_waiting(table: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE %s",
            [f"%{table}%"],
        )
        return [pid for (pid,) in cursor.fetchall()]


@pytest.mark.parametrize(
    ("step", "table"),
    [
        ("refresh", "credits_countedday"),
        ("chunk", "credits_creditline"),
        ("finish", "credits_standing"),
        ("batch step", "credits_recomputebatch"),
    ],
)
def test_a_database_connection_killed_in_each_step_heals_by_itself(
    clean: dict, step: str, table: str
) -> None:
    batch = start_batch()
    with psycopg.connect(database_url_of_test_db()) as blocker:
        with running_worker(redis_url(), beat=True, extra_env=WORKER_ENV) as app:
            blocker.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            app.send_task("credits.tasks.recompute_batch_step", args=[batch.pk])
            deadline = time.monotonic() + 60
            while not (waiting := _backends_waiting(table)) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert waiting, f"no worker reached the {step} step"
            with connection.cursor() as cursor:
                for pid in waiting:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            blocker.rollback()
            healed = wait_done(batch, 300)  # includes recomputing the 14 days
    batch.refresh_from_db()
    assert batch.status == "succeeded", batch.error
    assert snapshot() == clean
    assert orphans() == {k: 0 for k in orphans()}, orphans()
    print(f"\nkilled connection in the {step} step: healed in {healed:.1f} s")


def test_the_broker_down_and_back_sends_the_queued_work(clean: dict) -> None:
    from credits import tasks
    from partnercredit.celery import app as celery_app
    from tests.conftest import _reset_producer_pool
    from tests.workers import UNREACHABLE_BROKER

    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    conf.task_always_eager = False
    conf.update(broker_url=UNREACHABLE_BROKER, broker_transport_options={})
    _reset_producer_pool()
    try:
        started = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017 - the broker's own error
            tasks.recompute_enqueue(day=DAYS[3])
        answered = time.monotonic() - started
    finally:
        conf.update(broker_url=saved[0], broker_transport_options=saved[1])
        _reset_producer_pool()
        conf.task_always_eager = True
    assert answered < 3, f"the enqueue took {answered:.1f} s with the broker down"
    run = RecomputeRun.objects.get(day=DAYS[3], status="queued")
    RecomputeRun.objects.filter(pk=run.pk).update(created_at=run.created_at - timedelta(minutes=5))
    with running_worker(redis_url(), beat=True, extra_env=WORKER_ENV):  # the broker is back
        deadline = time.monotonic() + 2 * STALE + 60
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status == "succeeded":
                break
            time.sleep(0.25)
    assert run.status == "succeeded"
    assert snapshot() == clean
    print(f"\nbroker down: the enqueue answered in {answered:.2f} s; sent and done once back")
