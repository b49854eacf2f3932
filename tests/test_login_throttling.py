"""Login throttling behind the TLS proxy (issue 18 finding 7)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from partnercredit.throttling import client_ip


def _login(client: Client, username: str, password: str, forwarded: str) -> int:
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.2",  # the proxy, the same for everyone
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return response.status_code


@pytest.fixture
def behind_proxy(settings, partner_admin: User) -> User:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_IP_FAILURE_LIMIT = 12
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.TRUSTED_PROXY_COUNT = 1
    return partner_admin


def test_the_client_address_is_the_one_our_proxy_saw(rf, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"  # the spoofed left part is ignored
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"  # no trusted proxy: the header is ignored
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_ip(request) == "10.0.0.2"  # fewer hops than proxies: not trusted
    settings.TRUSTED_PROXY_COUNT = 1
    bad = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(bad) == "10.0.0.2"


def test_an_attacker_locks_alice_out_only_from_his_own_address(behind_proxy: User) -> None:
    attacker, alice = Client(), Client()
    for _ in range(5):
        _login(attacker, "alice", "wrong", "198.51.100.7")
    assert _login(attacker, "alice", "pw", "198.51.100.7") == 429
    assert _login(alice, "alice", "pw", "203.0.113.9") == 302  # before: 429 for everyone


def test_a_spoofed_forwarded_header_does_not_dodge_the_lock(behind_proxy: User) -> None:
    attacker = Client()
    for n in range(5):  # a new fake address each time, to the left of the proxy's entry
        _login(attacker, "alice", "wrong", f"10.9.9.{n}, 198.51.100.7")
    assert _login(attacker, "alice", "pw", "1.2.3.4, 198.51.100.7") == 429


def test_one_address_trying_many_usernames_is_locked_out(behind_proxy: User) -> None:
    attacker = Client()
    for n in range(12):  # 12 usernames, 1 failure each: never 5 for one username
        _login(attacker, f"user{n}", "wrong", "198.51.100.7")
    assert _login(attacker, "alice", "pw", "198.51.100.7") == 429
    assert _login(Client(), "alice", "pw", "203.0.113.9") == 302


def test_attempts_during_a_lockout_do_not_extend_it(behind_proxy: User) -> None:
    attacker = Client()
    for _ in range(5):
        _login(attacker, "alice", "wrong", "198.51.100.7")
    locked_at = AccessAttempt.objects.get(username="alice").attempt_time
    old = locked_at - timedelta(minutes=10)
    AccessAttempt.objects.update(attempt_time=old)
    for _ in range(3):  # keeps trying while locked out
        assert _login(attacker, "alice", "wrong", "198.51.100.7") == 429
    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.attempt_time == old and attempt.failures_since_start == 5
    # ... so the lock ends 15 minutes after the fifth failure, not after the last try.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(attacker, "alice", "pw", "198.51.100.7") == 302
