"""Real Celery workers for tests: the Redis they need, and a worker (and beat) as a subprocess."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


# A port where nothing listens: a broker that is down.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def require_redis() -> None:
    """Skip with a reason where no Redis is reachable; on CI that is a failure instead."""
    if redis_reachable():
        return
    message = f"no Redis reachable at {redis_url()}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must have Redis)")
    pytest.skip(message)


def database_url_of_test_db() -> str:
    """A DATABASE_URL for the test database this test process is using."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@contextmanager
def running_worker(
    redis_url: str, *, beat: bool = False, extra_env: dict | None = None
) -> Iterator[Celery]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url_of_test_db(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **(extra_env or {}),
    }
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "partnercredit",
        "worker",
        "--loglevel=INFO",
        "--concurrency=2",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        args += ["--beat", "--schedule", str(ROOT / "var" / f"test-beat-{os.getpid()}")]
    log = open(ROOT / "var" / f"test-worker-{os.getpid()}.log", "w")
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    # Not the current app: later eager calls in this process must stay in-process.
    app = Celery("partnercredit-test", broker=redis_url, backend=redis_url, set_as_current=False)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(timeout=1):
                break
            if proc.poll() is not None:
                raise RuntimeError(
                    f"worker exited: {(ROOT / 'var' / log.name).read_text()[-2000:]}"
                )
        else:
            raise RuntimeError("worker did not answer a ping within 60 s")
        yield app
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
