"""Event rows checked in memory and written in bulk (issue 16): the same rows, rules and audit
trail as the access services give row by row."""

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import (
    Assignment,
    ClientAccount,
    ClientMRR,
    Employee,
    EmployeeSpell,
    Partner,
    PartnerSpell,
    RelationshipEnd,
    Seat,
)
from credits.importing import events_import
from credits.importing.events import event_read
from credits.importing.journal import historical_model
from credits.importing.reading import EventRow, header_read, rows
from credits.models import DataChange, Deal
from credits.services import deal_record
from partnercredit.days import program_day
from tests.builders import at, make_employee, make_partner

HEADER = "at,event,partner,employee,client,name,role,country,currency,amount,tool,action,kind,ref\n"
# Every kind of event row, with the immediate ends of SPEC §3.3 and a partner leaving.
STORY = HEADER + (
    "2026-04-01,partner_joined,7001,,,Northwind,,,,,,,,\n"
    "2026-04-01,partner_joined,7002,,,Southpaw,,,,,,,,\n"
    "2026-04-01T08:00,employee_added,7001,ann@nw.example,,Ann,partner_admin,,,,,,,\n"
    "2026-04-01T08:00,employee_added,7001,bo@nw.example,,Bo,client_access_manager,,,,,,,\n"
    "2026-04-01T08:00,employee_added,7002,sue@sp.example,,Sue,employee,,,,,,,\n"
    "2026-04-01T08:00,employee_added,7002,tim@sp.example,,Tim,,,,,,,,\n"
    "2026-04-01,client_added,,,8001,Orbit,,US,USD,2000.00,,,,\n"
    "2026-04-01,client_added,,,8002,Lumen,,DE,EUR,900.50,,,,\n"
    "2026-04-02,client_assigned,7001,ann@nw.example,8001,,,,,,,,,\n"
    "2026-04-02,seat_added,7001,ann@nw.example,8001,,,,,,,,,\n"
    "2026-04-02,client_assigned,7001,bo@nw.example,8002,,,,,,,,,\n"
    "2026-04-02,seat_added,7001,bo@nw.example,8002,,,,,,,,,\n"
    "2026-04-02,client_assigned,7002,sue@sp.example,8001,,,,,,,,,\n"
    "2026-04-02,seat_added,7002,sue@sp.example,8001,,,,,,,,,\n"
    "2026-04-02,seat_added,7002,tim@sp.example,8001,,,,,,,,,\n"
    "2026-04-02,seat_added,7002,tim@sp.example,8002,,,,,,,,,\n"
    "2026-04-10,mrr_changed,,,8001,,,,GBP,1500.00,,,,\n"
    "2026-04-11,seat_removed,7001,ann@nw.example,8001,,,,,,,,,\n"
    "2026-04-12,client_unassigned,7001,bo@nw.example,8002,,,,,,,,,\n"
    "2026-04-12,all_employees_removed,7002,,8001,,,,,,,,,\n"
    "2026-04-13,services_ended,7001,,8002,,,,,,,,,\n"
    "2026-04-14,employee_deactivated,7002,tim@sp.example,,,,,,,,,,\n"
    "2026-04-15,employee_reactivated,7002,tim@sp.example,,,,,,,,,,\n"
    "2026-04-16,deal_closed,7002,,8002,,,,EUR,300.00,,,sourced,d-1\n"
    "2026-04-20,partner_left,7002,,,,,,,,,,,\n"
    "2026-05-01,partner_joined,7002,,,Southpaw again,,,,,,,,\n"
)
MODELS = (
    Partner,
    PartnerSpell,
    Employee,
    EmployeeSpell,
    ClientAccount,
    ClientMRR,
    Assignment,
    Seat,
    RelationshipEnd,
    Deal,
)
# Columns that differ between two equal worlds: ids, and the moments the rows were written.
IGNORED = {"id", "history_id", "history_date", "recorded_at"}


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(content)
    return path


def through_services(content: str) -> None:
    """The same rows, applied one by one by the services (the importer before issue 16)."""
    records = rows(io.BytesIO(content.encode()))
    header = header_read(next(records)[1])
    tz = timezone.get_default_timezone()
    events = [event_read(line, f[1], f, header, tz) for line, f in records if isinstance(f, list)]
    for row in sorted(events, key=lambda r: (r.at, r.line)):
        _service(row)


def _service(row: EventRow) -> None:
    v, at_ = row.values, row.at
    amount: Any = row.amount
    partner: Any = Partner.objects.filter(key=v.get("partner", "")).first()
    employee: Any = Employee.objects.filter(partner=partner, email=v.get("employee")).first()
    client: Any = ClientAccount.objects.filter(hub_id=v.get("client", "")).first()
    role = v.get("role", "employee")
    calls = {
        "partner_joined": lambda: services.partner_join(
            key=v["partner"], name=v.get("name", ""), at=at_
        ),
        "partner_left": lambda: services.partner_leave(partner=partner, at=at_),
        "employee_added": lambda: services.employee_add(
            partner=partner,
            email=v["employee"],
            name=v.get("name", ""),
            role="employee" if role == "client_access_manager" else role,
            is_client_access_manager=role == "client_access_manager",
            at=at_,
        ),
        "employee_deactivated": lambda: services.employee_deactivate(employee=employee, at=at_),
        "employee_reactivated": lambda: services.employee_reactivate(employee=employee, at=at_),
        "client_added": lambda: services.client_add(
            hub_id=v["client"],
            name=v["name"],
            country=v["country"],
            currency=v["currency"],
            amount=amount,
            at=at_,
        ),
        "mrr_changed": lambda: services.client_mrr_change(
            client=client, amount=amount, currency=v.get("currency"), at=at_
        ),
        "client_assigned": lambda: services.client_assign(employee=employee, client=client, at=at_),
        "client_unassigned": lambda: services.client_unassign(
            employee=employee, client=client, at=at_
        ),
        "seat_added": lambda: services.seat_add(employee=employee, client=client, at=at_),
        "seat_removed": lambda: services.seat_remove(employee=employee, client=client, at=at_),
        "all_employees_removed": lambda: services.client_remove_all_employees(
            partner=partner, client=client, at=at_
        ),
        "services_ended": lambda: services.services_end(partner=partner, client=client, at=at_),
        "deal_closed": lambda: deal_record(
            partner=partner,
            client=client,
            closed_on=program_day(at_),
            amount=amount,
            currency=v["currency"],
            kind=v["kind"],
            ref=row.ref,
        ),
    }
    calls[row.event]()


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table the import writes, and of their history, in the order written."""
    tables: dict[str, list[tuple]] = {}
    for model in MODELS:
        current: Any
        for current in filter(None, (model, historical_model(model))):
            names = [f.attname for f in current._meta.concrete_fields]
            fields = [name for name in names if name not in IGNORED]
            ordered = current.objects.order_by("history_id" if "history_id" in names else "id")
            tables[current.__name__] = [
                tuple(
                    _natural(current, name, value) for name, value in zip(fields, row, strict=True)
                )
                for row in ordered.values_list(*fields)
            ]
    return tables


def _natural(model, name: str, value):
    """An id as what it names (ids differ between two imports of the same world)."""
    field = next(f for f in model._meta.concrete_fields if f.attname == name)
    if value is None or not field.is_relation or name == "history_user_id":
        return value
    target = field.related_model.objects.get(pk=value)
    for natural in ("key", "hub_id", "email"):
        if hasattr(target, natural):
            return getattr(target, natural)
    return str(target)


def test_a_whole_story_gives_the_same_rows_and_audit_history_as_the_services(db, tmp_path) -> None:
    through_services(STORY)
    expected = snapshot()
    for model in reversed(MODELS):
        model.objects.all().delete()  # (which records "-" history: deleted next)
    for model in MODELS:
        historical: Any = historical_model(model)
        if historical is not None:
            historical.objects.all().delete()

    report = events_import(path_or_file=write(tmp_path, STORY))

    assert report.committed, report.errors
    assert report.applied == STORY.count("\n") - 1
    assert snapshot() == expected


def test_partner_left_deactivates_every_employee_and_ends_everything_at_once(db, tmp_path) -> None:
    report = events_import(path_or_file=write(tmp_path, STORY))

    assert report.committed, report.errors
    southpaw = Partner.objects.get(key="7002")
    assert not southpaw.employees.filter(is_active=True).exists()  # rejoining reactivates nobody
    assert list(southpaw.spells.order_by("start").values_list("start", "end")) == [
        (at("2026-04-01"), at("2026-04-20")),
        (at("2026-05-01"), None),
    ]
    ends = RelationshipEnd.objects.values_list("partner__key", "client__hub_id", "reason")
    assert sorted(ends, key=str) == [
        ("7001", "8001", "last_seat_removed"),
        ("7001", "8002", "services_ended"),
        ("7002", "8001", "all_employees_removed"),
        ("7002", None, "partner_left"),
    ]
    assert not Assignment.objects.filter(
        employee__partner__key="7001", client__hub_id="8002", end__isnull=True
    ).exists()


def test_a_refused_row_changes_nothing_and_the_rows_after_it_still_apply(db, tmp_path) -> None:
    northwind = make_partner("7001", "Northwind")
    make_employee(northwind, "ann@nw.example")
    make_employee(northwind, "late@nw.example", added="2026-06-01")  # her spell starts later
    content = HEADER + (
        "2026-05-15,partner_left,7001,,,,,,,,,,,\n"  # refused: Late cannot be deactivated yet
        "2026-05-16,client_added,,,8003,Nova,,US,USD,10.00,,,,\n"
        "2026-05-16,client_added,,,8003,Nova,,US,USD,10.00,,,,\n"  # the same row: a duplicate
        "2026-05-17,services_ended,7001,,8003,,,,,,,,,\n"  # no access there: nothing to end
    )
    report = events_import(path_or_file=write(tmp_path, content), skip_invalid=True)

    assert (report.applied, report.duplicates, report.errors) == (
        1,
        1,
        [
            "line 2: event: partner_left refused: Employee late@nw.example cannot be deactivated "
            "before 2026-06-01 00:00:00+00:00.",
            "line 5: event: services_ended refused: 7001 has no access to client account 8003: "
            "nothing to end.",
        ],
    )
    northwind.refresh_from_db()
    assert northwind.left_at is None
    assert Employee.objects.filter(partner=northwind, is_active=True).count() == 2
    assert not RelationshipEnd.objects.exists()
    assert ClientAccount.objects.filter(hub_id="8003").count() == 1


def test_every_event_row_is_refused_with_the_services_words(db, tmp_path) -> None:
    content = STORY + (
        "2026-05-02,partner_joined,7001,,,Again,,,,,,,,\n"
        "2026-05-02,employee_added,7001,ann@nw.example,,Ann,,,,,,,,\n"
        "2026-05-02,seat_removed,7001,ann@nw.example,8001,,,,,,,,,\n"
        "2026-05-02,employee_reactivated,7001,ann@nw.example,,,,,,,,,,\n"
        "2026-05-02,client_added,,,8001,Orbit,,US,USD,1.00,,,,\n"
    )
    report = events_import(path_or_file=write(tmp_path, content), skip_invalid=True)

    assert report.errors == [
        "line 28: event: partner_joined refused: Partner 7001 is already in the program.",
        "line 29: event: employee_added refused: Employee ann@nw.example already exists in "
        "partner 7001.",
        "line 30: event: seat_removed refused: ann@nw.example is not seated in 8001.",
        "line 31: event: employee_reactivated refused: Employee ann@nw.example is already active.",
        "line 32: event: client_added refused: Client account 8001 already exists.",
    ]


def test_an_import_is_one_staleness_record_from_its_first_day(db, tmp_path) -> None:
    events_import(path_or_file=write(tmp_path, STORY))

    change = DataChange.objects.get()
    assert (change.first_day, change.what) == (date(2026, 4, 1), "Import of events.csv")


def test_the_tables_written_in_bulk_have_statistics_right_after_the_import(db, tmp_path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    content = (
        HEADER
        + "2026-04-01,partner_joined,7001,,,N,,,,,,,,\n"
        + "".join(
            f"2026-04-01,employee_added,7001,e{i}@nw.example,,E,,,,,,,,\n" for i in range(1200)
        )
    )
    events_import(path_or_file=write(tmp_path, content))

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'accounts_employee'")
        assert cursor.fetchone()[0] == 1200  # ANALYZE ran (a never-analyzed table shows -1)
