"""Production hardening: deploy checks, gunicorn + whitenoise, login throttling, /healthz."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth.models import User
from django.test import Client

from tests.workers import database_url_of_test_db

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


def production_env(**extra: str) -> dict[str, str]:
    """The environment of a production process, minus anything this shell set for development."""
    # Not DJANGO_ALLOW_ASYNC_UNSAFE either: the browser tests set it for this test process.
    dev_only = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dev_only}
    env.update(
        PRODUCTION="true",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="example.com",
        DJANGO_SETTINGS_MODULE="partnercredit.settings",
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- check --deploy ----------------------------------------------------------------------------


def test_production_settings_pass_the_deploy_check_with_no_warning() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_settings_use_secure_cookies_and_hsts() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000,"
        " s.SECURE_SSL_REDIRECT, s.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "False"]


# --- gunicorn + whitenoise ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """GET without following redirects; (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def gunicorn(django_db_setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A production gunicorn on a free local port, serving static files collected into a
    temporary STATIC_ROOT; it answers from the test database."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    env = production_env(
        STATIC_ROOT=str(tmp_path / "static"),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url_of_test_db(),
    )
    collected = manage("collectstatic", "--noinput", "-v0", env=env, timeout=180)
    assert collected.returncode == 0, collected.stderr
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "partnercredit.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited: {(tmp_path / 'gunicorn.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not listen within 30 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


# Behind the TLS-terminating proxy every request carries this header (SECURE_PROXY_SSL_HEADER).
HTTPS = {"X-Forwarded-Proto": "https"}


def test_gunicorn_serves_the_health_check_over_plain_http(gunicorn: str) -> None:
    status, _, body = http_get(f"{gunicorn}/healthz")
    assert status == 200, body
    assert json.loads(body) == {"database": "ok", "broker": "ok"}


def test_gunicorn_and_whitenoise_serve_admin_static_files(gunicorn: str) -> None:
    status, headers, body = http_get(f"{gunicorn}/static/admin/css/base.css", HTTPS)
    assert status == 200
    assert b"body" in body
    # The manifest storage also serves a hashed name that may be cached for ever.
    manifest_status, _, _ = http_get(f"{gunicorn}/static/admin/js/core.js", HTTPS)
    assert manifest_status == 200


def test_gunicorn_redirects_plain_http_and_sends_hsts_and_secure_cookies(gunicorn: str) -> None:
    status, headers, _ = http_get(f"{gunicorn}/admin/login/")
    assert status == 301
    assert headers["Location"].startswith("https://")

    status, headers, _ = http_get(f"{gunicorn}/admin/login/", HTTPS)
    assert status == 200
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    assert "Secure" in headers["Set-Cookie"]


# --- Login throttling (django-axes) -------------------------------------------------------------


def _login(client: Client, password: str) -> int:
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": password}
    )
    return response.status_code


@pytest.fixture
def throttled(settings, partner_admin: User) -> User:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return partner_admin


def test_five_failed_logins_lock_the_account_even_for_the_right_password(
    throttled: User,
) -> None:
    client = Client()
    for _ in range(4):
        assert _login(client, "wrong") == 200  # the form again, with an error
    assert _login(client, "wrong") == 429  # the fifth failure locks
    assert _login(client, "pw") == 429
    assert "_auth_user_id" not in client.session


def test_a_locked_account_logs_in_again_after_the_cool_off(throttled: User) -> None:
    client = Client()
    for _ in range(5):
        _login(client, "wrong")
    assert _login(client, "pw") == 429
    # Let the cool-off pass without waiting 15 minutes: age the recorded failures.
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=16)
        attempt.save(update_fields=["attempt_time"])
    assert _login(client, "pw") == 302
    assert client.session["_auth_user_id"] == str(throttled.pk)


def test_staff_can_unlock_a_locked_account_at_once(throttled: User) -> None:
    client = Client()
    for _ in range(5):
        _login(client, "wrong")
    assert _login(client, "pw") == 429
    reset(username="alice")
    assert _login(client, "pw") == 302


def test_failures_of_one_user_do_not_lock_another(throttled: User, outsider: User) -> None:
    client = Client()
    for _ in range(5):
        _login(client, "wrong")
    response = client.post("/admin/login/?next=/admin/", {"username": "oscar", "password": "pw"})
    assert response.status_code == 302


# --- /healthz --------------------------------------------------------------------------------


def test_health_check_answers_ok_without_login(client: Client, db) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_check_names_an_unreachable_broker_without_leaking_its_url(
    client: Client,
    db,
    settings,
) -> None:
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable", "failed": ["broker"]}
    assert b"127.0.0.1" not in response.content
    assert b"redis" not in response.content


def test_health_check_names_a_failing_database(
    client: Client,
    db,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import OperationalError, connection

    def refused() -> None:
        raise OperationalError("could not connect to server at secret-host")

    monkeypatch.setattr(connection, "cursor", refused)
    response = client.get("/healthz")
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "broker": "ok", "failed": ["database"]}
    assert b"secret-host" not in response.content


def test_health_check_refuses_other_methods(client: Client, db) -> None:
    assert client.post("/healthz").status_code == 405
