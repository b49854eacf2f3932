"""The admin upload of events files and its Celery job (issue 5): smoke tests of the wrapper."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from credits.import_tasks import import_job_run
from credits.importing.report import ImportReport
from credits.models import Activity, ImportJob
from tests.builders import give_access, make_client, make_employee
from tests.test_import import HEADER, activity

pytestmark = pytest.mark.usefixtures("media_in_tmp")
ADD = reverse("admin:credits_importjob_add")


@pytest.fixture
def world(partner_a, partner_b) -> None:
    client = make_client("8001")
    give_access(make_employee(partner_a, "ann@a.example"), client)
    give_access(make_employee(partner_b, "bob@b.example"), client)


def upload(client, user, content: str, **extra: str):
    client.force_login(user)
    data = {"file": SimpleUploadedFile("events.csv", content.encode(), "text/csv"), **extra}
    return client.post(ADD, data)


FILE = HEADER + (
    activity("2026-04-03,1001,ann@a.example,8001,blog,publish,a-1")
    + activity("2026-04-03,2002,bob@b.example,8001,blog,publish,b-1")
)


def test_staff_upload_runs_in_the_background_and_shows_the_report(
    client,
    staff,
    world,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, staff, FILE)

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/{job.pk}/change/")
    assert (job.status, job.rows_read, job.rows_applied, job.partner) == ("succeeded", 2, 2, None)
    page = client.get(response.url)
    assert page.status_code == 200 and "Succeeded: 2 read, 2 applied" in page.content.decode()


def test_a_partner_admin_upload_keeps_only_their_activities_and_lists_the_rest(
    client,
    partner_admin,
    partner_a,
    world,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, partner_admin, FILE, skip_invalid="on")

    job = ImportJob.objects.get()
    assert (job.partner, job.status, job.rows_applied, job.rows_rejected) == (
        partner_a,
        "succeeded",
        1,
        1,
    )
    assert job.errors == [
        "line 3: partner: 2002 is not your partner: you may import only its own activities"
    ]
    assert list(Activity.objects.values_list("ref", flat=True)) == ["a-1"]
    assert (
        "line 3: partner: 2002 is not your partner"
        in client.get(reverse("admin:credits_importjob_change", args=[job.pk])).content.decode()
    )


def test_a_failed_upload_writes_nothing_and_shows_why(
    client, staff, world, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        upload(
            client, staff, HEADER + activity("2026-04-03,1001,ann@a.example,8999,blog,publish,x")
        )
    job = ImportJob.objects.get()
    assert (job.status, job.errors) == ("failed", ["line 2: client: unknown client '8999'"])
    assert not Activity.objects.exists()


def test_outsider_cannot_see_partner_a_import_jobs(
    client, partner_admin, outsider, world, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, partner_admin, FILE)
    job = ImportJob.objects.get()

    client = Client()  # a fresh browser: no leftover messages of the upload
    client.force_login(outsider)
    assert (
        f"Import #{job.pk}"
        not in client.get(reverse("admin:credits_importjob_changelist")).content.decode()
    )
    assert client.get(reverse("admin:credits_importjob_change", args=[job.pk])).status_code == 404


def test_a_credit_reviewer_reads_jobs_but_cannot_upload(client, reviewer) -> None:
    client.force_login(reviewer)
    assert client.get(reverse("admin:credits_importjob_changelist")).status_code == 200
    assert client.get(ADD).status_code == 403


def test_running_a_job_twice_imports_once(staff, world, tmp_path) -> None:
    job = ImportJob.objects.create(
        file=SimpleUploadedFile("events.csv", FILE.encode()), uploaded_by=staff
    )
    assert import_job_run.delay(job.pk).get() == "succeeded"
    assert import_job_run.delay(job.pk).get() == "succeeded"
    assert Activity.objects.count() == 2


def test_an_italian_upload_reports_in_italian_and_the_command_line_stays_english(
    partner_admin, world, django_capture_on_commit_callbacks, tmp_path
) -> None:
    bad = activity("2026/04/03,1001,ann@a.example,8001,blog,publish,a-9")  # not ISO
    italian = Client(headers={"accept-language": "it"})
    with django_capture_on_commit_callbacks(execute=True):
        upload(italian, partner_admin, FILE + bad, skip_invalid="on")

    job = ImportJob.objects.get()
    assert job.language == "it"
    assert job.errors == [
        "riga 3: partner: 2002 non è il vostro partner: potete importare solo le attività del "
        "vostro partner",
        "riga 4: at: '2026/04/03' non è una data o data e ora ISO valida (atteso "
        "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][±HH:MM])",
    ]

    path = tmp_path / "events.csv"
    path.write_text(HEADER + bad)
    out = io.StringIO()
    with pytest.raises((CommandError, SystemExit)) as refused:
        call_command("import_events", str(path), stdout=out, stderr=out)
    said = out.getvalue() + str(refused.value)
    assert "line 2: at: '2026/04/03' is not a valid ISO date or datetime" in said


def test_the_errors_of_an_italian_report_are_sorted_by_line_too() -> None:
    with translation.override("it"):
        report = ImportReport()
        report.reject(12, "at", "x")  # the first pass reports event rows, the second activities
        report.reject(3, "partner", "y")
        report.sort_errors()
    assert [error.split(":")[0] for error in report.errors] == ["riga 3", "riga 12"]
