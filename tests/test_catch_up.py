"""The nightly catch-up and staff ranges (SPEC §3.11): stale days recomputed oldest first,
then the new day; a cap per night; ranges from the admin with progress and cancel; two
catch-ups at once never write a day twice."""

import threading
import time
from datetime import date, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from credits import catchup, engine, tasks
from credits.engine import recompute_day
from credits.models import DayResult, RecomputeBatch, RecomputeRun
from credits.staleness import stale_days
from tests.builders import act, give_access, make_client, make_employee, make_partner

D = date.fromisoformat
NIGHT = D("2026-03-20")  # the day that just ended, in these stories


@pytest.fixture(autouse=True)
def _sent_at_once(monkeypatch):
    """These tests run in one transaction that never commits: send what is sent on commit at
    once (Celery is eager), as the commit would."""
    monkeypatch.setattr("credits.tasks.transaction.on_commit", lambda send, *a, **k: send())


@pytest.fixture
def world(db, monkeypatch):
    monkeypatch.setattr(tasks, "yesterday", lambda: NIGHT)
    p = make_partner("100", joined="2026-03-01")
    e = make_employee(p, "ann@p.example")
    c = make_client("500", "100.00", added="2026-03-01")
    give_access(e, c, "2026-03-01")
    act(e, c, "2026-03-02T10:00")
    for n in range(3, 12):
        recompute_day(day=D("2026-03-01") + timedelta(days=n))
    return p, e, c


def published_runs() -> dict[date, int]:
    return dict(DayResult.objects.values_list("day", "run_id"))


def test_the_nightly_job_recomputes_every_stale_day_oldest_first_then_the_new_day(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-08T10:00")  # backdated: 03-08 … 03-12 are stale
    before = published_runs()
    batch_id = tasks.recompute_nightly()  # eager: the whole batch runs here
    batch = RecomputeBatch.objects.get(pk=batch_id)
    assert batch.status == "succeeded" and batch.done == 6
    assert batch.days == [
        "2026-03-08",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
        "2026-03-20",
    ]
    runs = RecomputeRun.objects.filter(batch=batch).order_by("pk")
    assert [r.day for r in runs] == [D(d) for d in batch.days]  # computed in that order
    assert stale_days(through=NIGHT) == []
    after = published_runs()
    assert all(after[d] == before[d] for d in before if d < D("2026-03-08"))  # fresh ones kept
    assert "5 stale day(s) caught up, then 2026-03-20." in batch.note


def test_a_night_recomputes_at_most_the_configured_number_of_stale_days(world, settings) -> None:
    p, e, c = world
    settings.RECOMPUTE_MAX_CATCHUP_DAYS = 2
    act(e, c, "2026-03-09T10:00")  # 03-09 … 03-12 stale: 4 days
    first = RecomputeBatch.objects.get(pk=tasks.recompute_nightly())
    assert first.days == ["2026-03-09", "2026-03-10", "2026-03-20"]
    assert (
        "2 more stale day(s) wait for the next night" in first.note
        and "from 2026-03-11" in first.note
    )
    assert stale_days(through=NIGHT) == [D("2026-03-11"), D("2026-03-12")]
    second = RecomputeBatch.objects.get(pk=tasks.recompute_nightly())  # the next night
    assert second.days == ["2026-03-11", "2026-03-12", "2026-03-20"]
    assert stale_days(through=NIGHT) == []


def test_staff_recompute_a_range_from_the_admin_and_watch_it(world, client, staff) -> None:
    client.force_login(staff)
    url = reverse("admin:credits_recomputerun_recompute")
    response = client.post(url, {"first": "2026-03-05", "last": "2026-03-07"})
    batch = RecomputeBatch.objects.get(kind="range")
    assert response["Location"] == reverse("admin:credits_recomputebatch_change", args=[batch.pk])
    assert batch.status == "succeeded" and batch.days == ["2026-03-05", "2026-03-06", "2026-03-07"]
    assert batch.requested_by == staff
    page = client.get(response["Location"]).content.decode()
    assert "3 of 3 days" in page and "Days done: 3 of 3" in page
    assert "http-equiv" not in page  # no refresh once it ended


def test_a_cancelled_range_stops_after_the_day_it_is_computing(
    world, client, staff, django_capture_on_commit_callbacks
) -> None:
    batch = catchup.range_plan(first=D("2026-03-04"), last=D("2026-03-09"))
    first_run = catchup.batch_step(batch_id=batch.pk)  # the first day is queued
    assert first_run is not None
    client.force_login(staff)
    page = client.get(
        reverse("admin:credits_recomputebatch_change", args=[batch.pk])
    ).content.decode()
    assert 'http-equiv="refresh"' in page and "Cancel after the current day" in page
    response = client.post(reverse("admin:credits_recomputebatch_cancel", args=[batch.pk]))
    assert response.status_code == 302
    tasks.recompute_run(first_run.pk)  # the worker finishes the day it had, then stops
    batch.refresh_from_db()
    assert (batch.status, batch.done) == ("cancelled", 1)
    assert RecomputeRun.objects.filter(batch=batch).count() == 1


def test_a_reviewer_cannot_cancel_a_batch(world, client, reviewer) -> None:
    batch = catchup.range_plan(first=D("2026-03-04"), last=D("2026-03-05"))
    client.force_login(reviewer)
    assert (
        client.post(reverse("admin:credits_recomputebatch_cancel", args=[batch.pk])).status_code
        == 403
    )
    batch.refresh_from_db()
    assert not batch.cancel_requested


def test_a_range_that_includes_today_is_refused(world) -> None:
    from credits.engine import DayNotEnded

    with pytest.raises(DayNotEnded):
        catchup.range_plan(first=D("2026-03-04"), last=date.today() + timedelta(days=1))


@pytest.mark.django_db(transaction=True)
def test_two_catch_ups_at_once_never_write_a_day_twice(monkeypatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises the two writers, there is no race")
    p = make_partner("100", joined="2026-03-01")
    e = make_employee(p, "ann@p.example")
    c = make_client("500", "100.00", added="2026-03-01")
    give_access(e, c, "2026-03-01")
    act(e, c, "2026-03-02T10:00")
    days = [D("2026-03-01") + timedelta(days=n) for n in range(2, 10)]
    for day in days:
        recompute_day(day=day)
    act(e, c, "2026-03-03T10:00")
    stale = stale_days(through=D("2026-03-31"))
    assert len(stale) == 8
    errors: list[BaseException] = []
    claim = engine.run_claim

    def late_claim(**kwargs):  # the second catch-up claims a day well after it found it stale
        if threading.current_thread().name == "late":
            time.sleep(2)
        return claim(**kwargs)

    monkeypatch.setattr(engine, "run_claim", late_claim)

    def catch_up() -> None:
        try:
            catchup.recompute_days_inline(stale, wait_seconds=0.05)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=catch_up, name=name) for name in ("early", "late")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert stale_days(through=D("2026-03-31")) == []
    succeeded = RecomputeRun.objects.filter(day__in=stale, status="succeeded")
    per_day = {d: succeeded.filter(day=d).count() for d in stale}
    assert all(n >= 1 for n in per_day.values())
    # Each stale day was computed once more in all (a second catch-up follows, not repeats).
    assert sum(per_day.values()) == 2 * len(stale)  # the first computation plus one catch-up
