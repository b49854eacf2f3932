"""Concurrent seat and assignment changes (issue 18 finding 3), on a real PostgreSQL.

Several threads, each with its own database connection, add and remove seats and assignments
of one partner's employees in one client as fast as they can — what ten admins clicking at
once did. Every call either succeeds or is refused with a ValidationError (never another
error, which the admin would show as a 500); afterwards no seat was closed twice, no end was
overwritten, and "last seat removed" was recorded exactly once each time the partner's last
open seat closed.
"""

import random
import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from accounts import services as access
from accounts.models import Assignment, RelationshipEnd, Seat
from tests.builders import make_client, make_employee, make_partner

THREADS = 6
OPERATIONS = 40


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite has one writer at a time, so its writes never race "
            "(CI runs this test with DATABASE_URL=postgres://…)"
        )


def _hammer(seed: int, employees: list, client, failures: list, barrier) -> None:
    rng = random.Random(seed)
    operations = [
        access.seat_add,
        access.seat_remove,
        access.client_assign,
        access.client_unassign,
    ]
    try:
        barrier.wait()
        for _ in range(OPERATIONS):
            operation = rng.choice(operations)
            try:
                operation(employee=rng.choice(employees), client=client, at=timezone.now())
            except ValidationError:
                pass  # refused: someone else changed it first — the admin shows a message
            except Exception as exc:
                failures.append(f"{operation.__name__}: {type(exc).__name__}: {exc}")
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_seat_and_assignment_changes_never_fail_double_close_or_lose_an_end() -> None:
    _needs_postgresql()
    partner = make_partner("7002")
    employees = [make_employee(partner, f"e{i}@agency.example") for i in range(3)]
    client = make_client("8003")
    failures: list[str] = []
    barrier = threading.Barrier(THREADS)
    threads = [
        threading.Thread(target=_hammer, args=(seed, employees, client, failures, barrier))
        for seed in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    seats = Seat.objects.filter(client=client).count()
    ends = RelationshipEnd.objects.filter(client=client).count()
    print(f"\n{THREADS} threads × {OPERATIONS} operations: {seats} seats, {ends} last-seat ends")
    assert failures == []
    for model in (Seat, Assignment):
        closes = Counter(
            model.history.filter(client=client, end__isnull=False)
            .exclude(history_type="-")
            .values_list("id", flat=True)
        )
        assert all(count == 1 for count in closes.values()), f"{model.__name__} closed twice"
        # and a closed row still ends when it was first closed
        for row in model.objects.filter(client=client, end__isnull=False):
            first = model.history.filter(id=row.pk, end__isnull=False).earliest("history_date")
            assert row.end == first.end
    _assert_one_end_per_last_seat(client)


def _assert_one_end_per_last_seat(client) -> None:
    """Replay the seat history in the order it was written; every fall to zero open seats is
    followed by exactly one "last seat removed" end, and no end comes at any other time."""
    events: list[tuple] = []
    for record in Seat.history.filter(client=client):
        kind = "open" if record.history_type == "+" else ("close" if record.end else "other")
        events.append((record.history_date, record.history_id, kind))
    for record in RelationshipEnd.history.filter(client=client, history_type="+"):
        assert record.reason == RelationshipEnd.Reason.LAST_SEAT_REMOVED
        events.append((record.history_date, record.history_id, "end"))
    events.sort(key=lambda e: (e[0], e[2] == "end"))
    open_seats, owed = 0, 0
    for _, _, kind in events:
        if kind == "open":
            assert owed == 0, "a seat was added before the last-seat end was recorded"
            open_seats += 1
        elif kind == "close":
            open_seats -= 1
            assert open_seats >= 0
            owed += open_seats == 0
        elif kind == "end":
            assert owed == 1, "a last-seat end with no last seat removed, or a duplicate"
            owed = 0
    assert owed == 0
    assert open_seats == Seat.objects.filter(client=client, end__isnull=True).count()


@pytest.mark.django_db
def test_a_change_made_meanwhile_is_a_message_in_the_admin_not_a_500(client, staff, monkeypatch):
    """The form checked, then another admin added the same seat first: the service refuses."""
    from django.urls import reverse

    from accounts.admin.access import SeatAdmin

    partner = make_partner("7002")
    employee = make_employee(partner, "e@agency.example")
    make_client("8003")

    def raced(**kwargs: object) -> None:
        raise ValidationError("e@agency.example already has a seat in 8003.")

    monkeypatch.setattr(SeatAdmin, "open_service", staticmethod(raced))
    client.force_login(staff)
    response = client.post(
        reverse("admin:accounts_seat_add"),
        {"employee": employee.pk, "client_hub_id": "8003"},
        follow=True,
    )
    assert response.status_code == 200
    assert "already has a seat in 8003" in [str(m) for m in response.context["messages"]][0]
