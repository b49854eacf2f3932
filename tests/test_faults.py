"""Faults: a worker dies mid-run, a day is asked for twice, PostgreSQL restarts, Redis is down.

The published results of a day (DayResult, its credit lines and standings) must never change
except by a complete new run, and no run may be lost or written twice.
"""

import os
import signal
import time
from datetime import date, timedelta

import psycopg
import pytest
import redis
from django.db import close_old_connections, connection
from django.test import Client
from kombu.exceptions import OperationalError as BrokerDown

from accounts.models import ClientAccount, Employee
from credits import catchup, engine, tasks
from credits.engine import RecomputeBusy, recompute_day, run_claim
from credits.models import CreditLine, DayResult, RecomputeChunk, RecomputeRun, Standing
from credits.tasks import recompute_enqueue, runs_resend
from partnercredit.celery import app as celery_app
from tests.builders import act, give_access, make_client, make_employee
from tests.workers import database_url_of_test_db, redis_url, require_redis, running_worker

Status = RecomputeRun.Status
DAY = date(2026, 3, 10)
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def world(partner_a) -> dict:
    """Partner A services two clients; both earn credit on DAY."""
    employee = make_employee(partner_a, "eve@alpha.example")
    first, second = make_client("9001", "1000.00"), make_client("9002", "250.00", "EUR", "DE")
    for client in (first, second):
        give_access(employee, client)
        act(employee, client, "2026-03-01T10:00")
    return {"employee": employee, "clients": [first, second]}


def published(day: date = DAY) -> dict:
    """Everything a report shows for `day`."""
    result = DayResult.objects.filter(day=day).values_list("run_id", "computed_at").first()
    lines = sorted(
        CreditLine.objects.published(day).values_list("partner_id", "client_id", "share", "points")
    )
    standings = sorted(
        Standing.objects.published(day).values_list("partner_id", "total_points", "managed_clients")
    )
    return {"result": result, "lines": lines, "standings": standings}


def one_more_client(world: dict) -> ClientAccount:
    """New data after the first run, so that a complete rerun visibly changes the results."""
    employee: Employee = world["employee"]
    client = make_client("9003", "500.00")
    give_access(employee, client)
    act(employee, client, "2026-03-09T09:00")
    return client


# --- (a) a worker dies in the middle of a recompute --------------------------------------------


def test_a_crash_inside_a_chunk_leaves_the_published_day_intact_and_a_rerun_completes(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    recompute_day(day=DAY, chunks=2)
    before = published()
    assert len(before["lines"]) == 2
    one_more_client(world)

    real_chunk_compute = engine.chunk_compute
    calls = []

    def dies_on_the_second_chunk(*, chunk: RecomputeChunk) -> bool:
        calls.append(chunk.index)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # BaseException, like a dying process
        return real_chunk_compute(chunk=chunk)

    monkeypatch.setattr(engine, "chunk_compute", dies_on_the_second_chunk)
    with pytest.raises(SystemExit):
        recompute_day(day=DAY, chunks=2)
    monkeypatch.undo()

    assert published() == before
    failed = RecomputeRun.objects.latest("pk")
    assert failed.status == Status.FAILED
    assert "worker killed" in failed.error
    assert not CreditLine.objects.filter(run=failed).exists()  # the half-written chunk is gone

    rerun = recompute_day(day=DAY, chunks=2)
    assert rerun.status == Status.SUCCEEDED
    after = published()
    assert after["result"][0] == rerun.pk
    assert len(after["lines"]) == 3


def test_a_run_abandoned_without_heartbeat_is_failed_and_the_day_runs_again(
    world: dict,
    settings,
) -> None:
    """A worker killed between chunks leaves a live run behind; it must not block the day."""
    recompute_day(day=DAY)
    before = published()
    stuck = run_claim(day=DAY, status=Status.QUEUED)
    engine.run_prepare(run=stuck, chunks=2)  # running, then the worker vanishes
    with pytest.raises(RecomputeBusy):
        recompute_day(day=DAY)
    assert published() == before

    settings.RECOMPUTE_STALE_SECONDS = 0
    rerun = recompute_day(day=DAY)
    assert rerun.status == Status.SUCCEEDED
    stuck.refresh_from_db()
    assert stuck.status == Status.FAILED
    assert "abandoned" in stuck.error
    assert published()["lines"] == before["lines"]


def _pg_conninfo() -> str:
    return database_url_of_test_db()


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


def _backends_waiting_on_credit_lines() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE '%%credits_creditline%%'"
        )
        return [pid for (pid,) in cursor.fetchall()]


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def _forget_unacked_messages() -> None:
    """The killed worker's message would be redelivered to a later test's worker in an hour."""
    client = redis.Redis.from_url(redis_url())
    client.delete("unacked", "unacked_index", "unacked_mutex")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_with_sigkill_mid_chunk_changes_nothing_and_a_rerun_completes(
    world: dict,
    settings,
) -> None:
    """1. Publish DAY. 2. Hold a lock on the credit lines so a real worker blocks inside a chunk.
    3. SIGKILL the worker's processes. 4. The published day is untouched; the run is stuck.
    5. Once it counts as abandoned, a rerun completes and publishes the new data."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite cannot park a writer inside a chunk deterministically"
        )
    require_redis()
    recompute_day(day=DAY)
    before = published()
    one_more_client(world)

    with psycopg.connect(_pg_conninfo()) as blocker:
        blocker.execute("LOCK TABLE credits_creditline IN EXCLUSIVE MODE")
        with running_worker(redis_url(), extra_env={"RECOMPUTE_CHUNKS": "2"}) as app:
            run = run_claim(day=DAY, status=Status.QUEUED)
            app.send_task("credits.tasks.recompute_run", args=[run.pk])
            _wait_for(
                lambda: _backends_waiting_on_credit_lines(), 60, "a chunk blocked on the lock"
            )
            waiting = _backends_waiting_on_credit_lines()
            stats = app.control.inspect(timeout=5).stats() or {}
            pids = [s["pid"] for s in stats.values()]
            pids += [p for s in stats.values() for p in s["pool"]["processes"]]
            assert pids, "the worker did not report its processes"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            blocker.rollback()  # release the lock: the orphaned backends find their client gone
            for pid in waiting:
                _wait_for(lambda pid=pid: not _backend_alive(pid), 30, f"backend {pid} to end")
        _forget_unacked_messages()

    run.refresh_from_db()
    assert run.status == Status.RUNNING  # nobody left to finish or fail it
    assert not RecomputeChunk.objects.filter(run=run, done_at__isnull=False).exists()
    assert not CreditLine.objects.filter(run=run).exists()
    assert published() == before

    settings.RECOMPUTE_STALE_SECONDS = 0
    rerun = recompute_day(day=DAY)
    assert rerun.status == Status.SUCCEEDED
    run.refresh_from_db()
    assert run.status == Status.FAILED and "abandoned" in run.error
    assert len(published()["lines"]) == 3


# --- (b) two clicks or two beats for one day -----------------------------------------------------


def test_two_recompute_now_clicks_queue_one_run(
    world: dict,
    django_capture_on_commit_callbacks,
) -> None:
    celery_app.conf.task_always_eager = False
    with django_capture_on_commit_callbacks(execute=False) as dispatches:
        first = recompute_enqueue(day=DAY)
        second = recompute_enqueue(day=DAY)
    assert first.pk == second.pk
    assert RecomputeRun.objects.filter(day=DAY).count() == 1
    assert len(dispatches) == 1


def test_two_beats_for_one_day_queue_one_run(
    world: dict,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:
    monkeypatch.setattr(tasks, "yesterday", lambda: DAY)
    celery_app.conf.task_always_eager = False
    with django_capture_on_commit_callbacks(execute=False) as dispatches:
        batch_id = tasks.recompute_nightly()
        assert tasks.recompute_nightly() == batch_id  # one nightly batch
    assert len(dispatches) == 1
    # Its first step, delivered twice, queues the day once.
    assert catchup.batch_step(batch_id=batch_id) is not None
    assert catchup.batch_step(batch_id=batch_id) is None
    assert RecomputeRun.objects.filter(day=DAY).count() == 1


def test_a_second_claim_of_a_live_day_is_refused(world: dict) -> None:
    run_claim(day=DAY, status=Status.QUEUED)
    with pytest.raises(RecomputeBusy):
        run_claim(day=DAY, status=Status.QUEUED)
    with pytest.raises(RecomputeBusy):
        run_claim(day=DAY, status=Status.RUNNING)
    assert RecomputeRun.objects.filter(day=DAY).count() == 1


def test_redelivered_tasks_of_one_run_write_its_lines_once(world: dict) -> None:
    """acks_late means any task may run twice; each step is claimed by a conditional update."""
    run = run_claim(day=DAY, status=Status.QUEUED)
    tasks.recompute_run(run.pk)  # eager: starts, fans out the chunks, publishes
    tasks.recompute_run(run.pk)  # a redelivery finds the run no longer queued
    for chunk in RecomputeChunk.objects.filter(run=run):
        tasks.recompute_chunk(chunk.pk)
    tasks.recompute_finish(run.pk)
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    lines = list(CreditLine.objects.filter(day=DAY).values_list("partner_id", "client_id"))
    assert len(lines) == len(set(lines)) == 2
    assert run.credit_lines == 2


def test_recomputing_a_day_twice_replaces_its_results(world: dict) -> None:
    first = recompute_day(day=DAY)
    second = recompute_day(day=DAY)
    assert published()["result"][0] == second.pk
    assert CreditLine.objects.filter(day=DAY).count() == 2
    assert not CreditLine.objects.filter(run=first).exists()


# --- (c) PostgreSQL restarts between runs -------------------------------------------------------


def _terminate_other_backends() -> int:
    """What a PostgreSQL restart does to every open connection of the test database."""
    with psycopg.connect(_pg_conninfo(), autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(killed)


@pytest.fixture
def postgresql() -> None:
    if connection.vendor != "postgresql":
        print("skipped: the PostgreSQL restart test needs DATABASE_URL=postgres://…")
        pytest.skip("needs PostgreSQL (the SQLite default has no server to restart)")


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_restart_between_runs_is_survived(world: dict, postgresql: None) -> None:
    recompute_day(day=DAY)
    assert _terminate_other_backends() >= 1
    # Each request and each Celery task starts like this; CONN_HEALTH_CHECKS reconnects.
    close_old_connections()
    rerun = recompute_day(day=DAY)
    assert rerun.status == Status.SUCCEEDED
    assert len(published()["lines"]) == 2


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_survives_a_postgresql_restart_between_runs(
    world: dict, postgresql: None
) -> None:
    require_redis()
    with running_worker(redis_url()) as app:

        def run_on_worker() -> RecomputeRun:
            run = run_claim(day=DAY, status=Status.QUEUED)
            app.send_task("credits.tasks.recompute_run", args=[run.pk])

            def finished() -> bool:
                run.refresh_from_db()
                return run.status not in RecomputeRun.LIVE

            _wait_for(finished, 60, f"run {run.pk} on the worker")
            return run

        assert run_on_worker().status == Status.SUCCEEDED
        assert _terminate_other_backends() >= 1  # the worker's connections and ours
        close_old_connections()
        second = run_on_worker()
        assert second.status == Status.SUCCEEDED, second.error
    assert published()["result"][0] == second.pk


# --- (d) Redis down ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_health_check_names_the_broker(settings) -> None:
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_an_enqueue_fails_loudly_keeps_the_run_queued_and_runs_once_back(
    world: dict, broker_down: None
) -> None:
    recompute_day(day=DAY)
    before = published()
    with pytest.raises(BrokerDown):
        recompute_enqueue(day=DAY)
    run = RecomputeRun.objects.get(day=DAY, status=Status.QUEUED)
    assert published() == before  # nothing lost, nothing half-written

    celery_app.conf.task_always_eager = True  # Redis is back
    assert runs_resend(older_than=timedelta(0)) == 1  # what the beat's requeue entry does
    assert runs_resend(older_than=timedelta(0)) == 0  # and only once
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    assert published()["result"][0] == run.pk


@pytest.mark.django_db(transaction=True)
def test_with_redis_back_recompute_now_runs_the_day_once_the_lost_dispatch_is_stale(
    world: dict,
    broker_down: None,
    settings,
) -> None:
    with pytest.raises(BrokerDown):
        recompute_enqueue(day=DAY)
    lost = RecomputeRun.objects.get(day=DAY)

    celery_app.conf.task_always_eager = True  # Redis is back
    settings.RECOMPUTE_STALE_SECONDS = 0
    run = recompute_enqueue(day=DAY)
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    lost.refresh_from_db()
    assert lost.status == Status.FAILED
    assert RecomputeRun.objects.filter(day=DAY, status__in=RecomputeRun.LIVE).count() == 0


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_recompute_now_in_the_admin_says_so(
    world: dict,
    broker_down: None,
    staff,
) -> None:
    client = Client()
    client.force_login(staff)
    response = client.post("/admin/credits/recomputerun/recompute/", {"first": "2026-03-10"})
    assert response.status_code < 500, "a broker outage must not be a server error"
    assert RecomputeRun.objects.get(day=DAY).status == Status.QUEUED
