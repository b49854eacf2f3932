"""Admin import jobs under faults and over time (issue 18 findings 1, 4, 5 and 8).

The upload is bounded in size, tied to the clients the partner may act in, answers quickly with
the broker down and is sent once it is back; a job whose worker died is started again; the file
is downloadable by whoever may see the job, and deleted some days after the import ended.
"""

import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from credits.import_tasks import import_files_purge_old, import_jobs_recover
from credits.importing.jobs import MAX_ATTEMPTS
from credits.models import Activity, ImportJob
from partnercredit.celery import app as celery_app
from tests.builders import give_access, make_client, make_employee
from tests.test_import import HEADER, activity

pytestmark = pytest.mark.usefixtures("media_in_tmp")
ADD = reverse("admin:credits_importjob_add")
FILE = HEADER + activity("2026-04-03,1001,ann@a.example,8001,blog,publish,a-1")


@pytest.fixture
def world(partner_a, partner_b) -> None:
    give_access(make_employee(partner_a, "ann@a.example"), make_client("8001"))


def _upload(client: Client, user, content: str = FILE):
    client.force_login(user)
    data = {"file": SimpleUploadedFile("events.csv", content.encode(), "text/csv")}
    return client.post(ADD, data, follow=True)


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _job(**fields: object) -> ImportJob:
    job = ImportJob.objects.create(
        file=SimpleUploadedFile("events.csv", FILE.encode(), "text/csv"), **fields
    )
    return job


# --- size, access, the file link -----------------------------------------------------------------


@pytest.mark.django_db
def test_an_upload_over_the_size_limit_is_refused_with_the_limit(client, staff, settings) -> None:
    settings.IMPORT_MAX_UPLOAD_MB = 1
    response = _upload(client, staff, HEADER + "x" * (1024 * 1024 + 1))
    assert "at most 1 MB can be uploaded" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_partner_admin_without_any_client_access_cannot_upload(client, outsider, world) -> None:
    response = _upload(client, outsider)
    assert "access to no client account yet" in _messages(response)
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_the_file_link_works_for_those_who_see_the_job_and_no_one_else(
    client, staff, partner_admin, outsider, partner_a, world
):
    job = _job(partner=partner_a, status=ImportJob.Status.SUCCEEDED)
    url = reverse("admin:credits_importjob_file", args=[job.pk])
    client.force_login(partner_admin)
    page = client.get(reverse("admin:credits_importjob_change", args=[job.pk])).content.decode()
    assert f'href="{url}"' in page
    download = client.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == FILE.encode()
    assert "no-store" in download["Cache-Control"]
    client.force_login(staff)
    assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_uploaded_files_are_deleted_some_days_after_the_import_ended(
    client, staff, settings
) -> None:
    settings.IMPORT_KEEP_DAYS = 30
    now = timezone.now()
    old = _job(status=ImportJob.Status.SUCCEEDED, finished_at=now - timedelta(days=31))
    recent = _job(status=ImportJob.Status.FAILED, finished_at=now - timedelta(days=29))
    running = _job(status=ImportJob.Status.RUNNING)
    path = old.file.path
    assert import_files_purge_old() == 1
    old.refresh_from_db()
    assert not old.file and not __import__("os").path.exists(path)
    assert recent.file and running.file
    client.force_login(staff)
    page = client.get(reverse("admin:credits_importjob_change", args=[old.pk])).content.decode()
    assert "deleted 30 days after the import ended" in page


# --- the broker down and back ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_upload_answers_fast_and_runs_once_it_is_back(
    client, staff, world, broker_down
):
    started = time.monotonic()
    response = _upload(client, staff)
    took = time.monotonic() - started
    print(f"\nupload with the broker down answered in {took:.2f} s")
    assert response.status_code == 200 and took < 3
    assert "task queue is unreachable" in _messages(response)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.QUEUED

    celery_app.conf.task_always_eager = True  # the broker is back
    assert import_jobs_recover() == 0  # not yet a minute old: the dispatch may still arrive
    ImportJob.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    assert import_jobs_recover() == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert Activity.objects.count() == 1
    assert import_jobs_recover() == 0


# --- a worker that died -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_started_again_and_succeeds(world, settings) -> None:
    settings.RECOMPUTE_STALE_SECONDS = 60
    now = timezone.now()
    job = _job(status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now, rows_read=7)
    assert import_jobs_recover() == 0  # alive: it beat just now
    ImportJob.objects.update(heartbeat_at=now - timedelta(seconds=61))
    assert import_jobs_recover() == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.errors[0].startswith("restarted: the worker running this import stopped")
    assert Activity.objects.count() == 1


@pytest.mark.django_db
def test_a_job_that_kills_its_worker_every_time_fails_for_good(world, settings) -> None:
    settings.RECOMPUTE_STALE_SECONDS = 60
    dead = timezone.now() - timedelta(seconds=61)
    notes = [f"restarted: attempt {n}" for n in range(MAX_ATTEMPTS - 1)]
    job = _job(status=ImportJob.Status.RUNNING, heartbeat_at=dead, errors=notes)
    assert import_jobs_recover() == 0
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.errors[-1] == f"failed: its worker died {MAX_ATTEMPTS} times"
