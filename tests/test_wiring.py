"""The wiring: settings, the beat schedule and a real Celery worker."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.schedules import crontab

from tests.workers import redis_url, require_redis, running_worker

ROOT = Path(__file__).resolve().parent.parent


def _settings_import(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "partnercredit.settings"},
        capture_output=True,
        text=True,
    )


def test_production_mode_refuses_to_start_without_a_secret_key() -> None:
    result = _settings_import(PRODUCTION="true", DEBUG="false", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_mode_refuses_debug() -> None:
    result = _settings_import(PRODUCTION="true", DEBUG="true", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_production_mode_starts_with_a_secret_and_no_debug() -> None:
    result = _settings_import(
        PRODUCTION="true", DEBUG="false", SECRET_KEY="s" * 30 + "ecret" * 6, ALLOWED_HOSTS="a.b"
    )
    assert result.returncode == 0, result.stderr


def test_beat_runs_the_nightly_recompute_at_two_in_program_time(settings) -> None:
    from partnercredit.celery import app

    entry = app.conf.beat_schedule["nightly-recompute"]
    assert entry["task"] == "credits.tasks.recompute_nightly"
    assert entry["schedule"] == crontab(hour=2, minute=0)
    assert app.conf.timezone == settings.TIME_ZONE
    app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks
    assert "credits.tasks.recompute_nightly" in app.tasks


def test_a_worker_knows_the_upload_task_and_the_recompute_tasks() -> None:
    # In a fresh process, as a worker starts: the import task lives outside credits/tasks.py.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from partnercredit.celery import app;"
            " app.loader.import_default_modules(); print(sorted(app.tasks))",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "partnercredit.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "credits.import_tasks.import_job_run" in result.stdout
    assert "credits.tasks.recompute_nightly" in result.stdout


@pytest.mark.celery_worker
def test_a_real_worker_process_executes_a_task_through_redis() -> None:
    require_redis()

    with running_worker(redis_url()) as app:
        result = app.send_task("credits.tasks.ping", args=["from the test"])
        assert result.get(timeout=60) == "pong from the test"


def test_an_empty_database_url_means_the_default_sqlite_file() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "", "DJANGO_SETTINGS_MODULE": "partnercredit.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"
