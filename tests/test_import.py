"""Importing events files (SPEC §4, issue 5): the service, then the command once."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Assignment, ClientAccount, ClientMRR, Employee, Partner, Seat
from credits.importing import events_import
from credits.models import Activity, Deal, EngineState, ImportedEvent
from partnercredit.csvsafe import cell
from tests.builders import act, at, give_access, make_client, make_employee

EXAMPLE = Path(__file__).parent / "data" / "example" / "example-world.csv"  # shared/examples
HEADER = "at,event,partner,employee,client,name,role,country,currency,amount,tool,action,kind,ref\n"
WORLD = HEADER + (
    "2026-04-01,partner_joined,7001,,,Northwind,,,,,,,,\n"
    "2026-04-01,employee_added,7001,ann@nw.example,,Ann,partner_admin,,,,,,,\n"
    "2026-04-01,client_added,,,8001,Orbit,,US,USD,2000.00,,,,\n"
    "2026-04-02,client_assigned,7001,ann@nw.example,8001,,,,,,,,,\n"
    "2026-04-02,seat_added,7001,ann@nw.example,8001,,,,,,,,,\n"
)
MODELS = (
    Partner,
    Employee,
    ClientAccount,
    ClientMRR,
    Assignment,
    Seat,
    Activity,
    Deal,
    ImportedEvent,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def write(tmp_path: Path, content: str | bytes, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def activity(line: str = "2026-04-03T10:00:00,7001,ann@nw.example,8001,blog,publish,a-1") -> str:
    when, partner, employee, client, tool, action, ref = line.split(",")
    return f"{when},activity,{partner},{employee},{client},,,,,,{tool},{action},,{ref}\n"


@pytest.fixture
def world(db, tmp_path):
    report = events_import(path_or_file=write(tmp_path, WORLD, "world.csv"))
    assert report.committed, report.errors


def test_the_example_world_imports_with_its_access_history_activities_and_deal(db) -> None:
    report = events_import(path_or_file=EXAMPLE)

    assert report.committed, report.errors
    assert (report.rows_read, report.applied, report.duplicates, report.rejected) == (24, 24, 0, 0)
    assert Partner.objects.get(key="7002").name == "Southpaw Media"
    ann = Employee.objects.get(email="ann@northwind.example")
    assert (ann.partner.key, ann.role) == ("7001", "partner_admin")
    sue_seat = Seat.objects.get(employee__email="sue@southpaw.example", client__hub_id="8001")
    assert (sue_seat.start, sue_seat.end) == (at("2026-04-02"), at("2026-05-15T17:00"))
    assert Seat.objects.get(employee__email="sue@southpaw.example", client__hub_id="8003").is_open
    assert Activity.objects.count() == 6
    first = Activity.objects.get(ref="ex-1")
    assert (first.tool, first.action, first.at, first.day) == (
        "website_page",
        "publish",
        at("2026-04-03T10:00"),
        date(2026, 4, 3),
    )
    assert first.partner_id == ann.partner_id
    deal = Deal.objects.get()
    assert (deal.partner.key, deal.client.hub_id, deal.closed_on, deal.amount, deal.kind) == (
        "7002",
        "8003",
        date(2026, 4, 10),
        Decimal("400.00"),
        "sourced",
    )
    assert ClientMRR.objects.get(client__hub_id="8001").amount == Decimal("2000.01")
    assert EngineState.objects.get().dirty_from == date(2026, 4, 1)


def test_importing_the_same_file_twice_changes_nothing(db) -> None:
    events_import(path_or_file=EXAMPLE)
    before = counts()

    again = events_import(path_or_file=EXAMPLE)

    assert again.committed
    assert (again.rows_read, again.applied, again.duplicates, again.rejected) == (24, 0, 24, 0)
    assert counts() == before


def test_rows_without_a_ref_are_duplicates_when_their_content_was_imported(world, tmp_path) -> None:
    row = activity("2026-04-03T10:00:00,7001,ann@nw.example,8001,blog,publish,")
    act(Employee.objects.get(), ClientAccount.objects.get(), "2026-04-03T10:00")

    report = events_import(path_or_file=write(tmp_path, HEADER + row + row))

    assert (report.applied, report.duplicates) == (0, 2)
    assert Activity.objects.count() == 1


def test_a_ref_imported_before_is_a_duplicate_whatever_else_the_row_says(world, tmp_path) -> None:
    events_import(path_or_file=write(tmp_path, HEADER + activity()))
    moved = activity("2026-04-09T08:00:00,7001,ann@nw.example,8001,email,send,a-1")

    report = events_import(path_or_file=write(tmp_path, HEADER + moved, "moved.csv"))

    assert (report.applied, report.duplicates) == (0, 1)
    assert list(Activity.objects.values_list("ref", "tool")) == [("a-1", "blog")]


def test_an_activity_day_is_the_program_day_of_its_moment(world, tmp_path) -> None:
    row = activity("2026-04-03T23:30:00-05:00,7001,ann@nw.example,8001,Blog,Publish,a-9")
    events_import(path_or_file=write(tmp_path, HEADER + row))
    stored = Activity.objects.get()
    assert (stored.day, stored.tool, stored.action) == (date(2026, 4, 4), "blog", "publish")


def test_unknown_tools_and_actions_are_stored(world, tmp_path) -> None:
    row = activity("2026-04-03,7001,ann@nw.example,8001,hologram,beam,a-2")
    assert events_import(path_or_file=write(tmp_path, HEADER + row)).applied == 1
    assert Activity.objects.get().tool == "hologram"


BAD = {
    "missing header at": (
        "event,partner\npartner_joined,9\n",
        "line 1: header: missing required column 'at'",
    ),
    "unknown header": (HEADER.strip() + ",colour\n", "line 1: header: unknown column(s) 'colour'"),
    "empty file": ("", "line 1: header: the file is empty"),
    "header only": (HEADER, "line 2: file: no rows after the header"),
    "unknown event": (
        HEADER + "2026-04-05,partner_danced,7001,,,,,,,,,,,\n",
        "line 2: event: unknown event 'partner_danced'",
    ),
    "unknown partner": (
        HEADER + activity("2026-04-05,9999,ann@nw.example,8001,blog,publish,x"),
        "line 2: partner: unknown partner '9999'",
    ),
    "unknown employee": (
        HEADER + activity("2026-04-05,7001,bob@nw.example,8001,blog,publish,x"),
        "line 2: employee: unknown employee 'bob@nw.example'",
    ),
    "unknown client": (
        HEADER + activity("2026-04-05,7001,ann@nw.example,8999,blog,publish,x"),
        "line 2: client: unknown client '8999'",
    ),
    "impossible date": (
        HEADER + activity("2026-02-30T10:00:00,7001,ann@nw.example,8001,blog,publish,x"),
        "line 2: at: '2026-02-30T10:00:00' is not a valid ISO date",
    ),
    "impossible date on an event": (
        HEADER + "2026-13-01,partner_joined,7005,,,,,,,,,,,\n",
        "line 2: at: '2026-13-01'",
    ),
    "bad decimal": (
        HEADER + '2026-04-05,mrr_changed,,,8001,,,,,"1,000",,,,\n',
        "line 2: amount: '1,000' is not a decimal",
    ),
    "three decimals": (
        HEADER + "2026-04-05,mrr_changed,,,8001,,,,,10.005,,,,\n",
        "line 2: amount: '10.005'",
    ),
    "negative MRR": (
        HEADER + "2026-04-05,mrr_changed,,,8001,,,,,-5.00,,,,\n",
        "line 2: amount: -5.00 is negative",
    ),
    "unknown currency": (
        HEADER + "2026-04-05,mrr_changed,,,8001,,,,XYZ,5.00,,,,\n",
        "line 2: currency: 'XYZ' is not an ISO 4217",
    ),
    "unknown country": (
        HEADER + "2026-04-05,client_added,,,8009,Zed,,ZZ,USD,5.00,,,,\n",
        "line 2: country: 'ZZ' is not an ISO 3166",
    ),
    "unknown role": (
        HEADER + "2026-04-05,employee_added,7001,zed@nw.example,,Zed,boss,,,,,,,\n",
        "line 2: role: 'boss'",
    ),
    "unknown kind": (
        HEADER + "2026-04-05,deal_closed,7001,,8001,,,,USD,5.00,,,gifted,d-1\n",
        "line 2: kind: 'gifted'",
    ),
    "missing field": (
        HEADER + "2026-04-05,client_added,,,8009,Zed,,US,USD,,,,,\n",
        "line 2: amount: required for client_added",
    ),
    "duplicate refs": (
        HEADER + activity() + activity(),
        "line 3: ref: 'a-1' is also used on line 2",
    ),
    "wrong field count": (
        HEADER + "2026-04-05,partner_joined,7005\n",
        "line 2: row: has 3 fields; the header has 14",
    ),
    "non-UTF-8": (
        HEADER.encode() + b"2026-04-05,partner_joined,7005,,,Caf\xe9,,,,,,,,\n",
        "line 2: encoding: not UTF-8 (byte 0xe9",
    ),
    "10 MB line": (
        HEADER + "2026-04-05,partner_joined,7005,,,Big" + "x" * 10_000_000 + ",,,,,,,,\n",
        "line 2: line: longer than 1,048,576 bytes",
    ),
    "service refusal": (
        HEADER + "2026-04-05,seat_added,7001,ann@nw.example,8001,,,,,,,,,\n",
        "line 2: event: seat_added refused: ann@nw.example already has a seat in 8001",
    ),
}


@pytest.mark.parametrize("content, message", BAD.values(), ids=BAD.keys())
def test_a_bad_file_names_line_and_column_and_writes_nothing(
    world, tmp_path, content, message
) -> None:
    good = activity("2026-04-06T09:00:00,7001,ann@nw.example,8001,blog,publish,good-1")
    if isinstance(content, str) and content.startswith(HEADER) and content != HEADER:
        content = content + good  # a valid row too, which must not be written either
    before = counts()

    report = events_import(path_or_file=write(tmp_path, content))

    assert not report.committed
    assert any(error.startswith(message) for error in report.errors), report.errors
    assert report.applied == 0
    assert counts() == before


def test_every_bad_row_is_listed(world, tmp_path) -> None:
    rows = [
        activity(f"2026-04-0{day},7001,ann@nw.example,89{day},blog,publish,r{day}")
        for day in (3, 4, 5)
    ]
    seen: list[str] = []

    report = events_import(
        path_or_file=write(tmp_path, HEADER + "".join(rows)), on_error=seen.append
    )

    assert [error.split(":")[0] for error in report.errors] == ["line 2", "line 3", "line 4"]
    assert seen == report.errors and report.rejected == 3


def test_skip_invalid_imports_the_valid_rows_and_lists_the_rest(world, tmp_path) -> None:
    content = (
        HEADER
        + activity()
        + activity("2026-04-05,7001,ann@nw.example,8999,blog,publish,x")
        + activity()
    )

    report = events_import(path_or_file=write(tmp_path, content), skip_invalid=True)

    assert report.committed
    assert (report.rows_read, report.applied, report.duplicates, report.rejected) == (3, 1, 0, 2)
    assert report.errors == [
        "line 3: client: unknown client '8999'",
        "line 4: ref: 'a-1' is also used on line 2 of this file",
    ]
    assert list(Activity.objects.values_list("ref", flat=True)) == ["a-1"]


def test_names_that_look_like_formulas_are_kept_as_data(db, tmp_path) -> None:
    content = HEADER + (
        '2026-04-01,partner_joined,7001,,,"=HYPERLINK(""x"")",,,,,,,,\n'
        "2026-04-01,employee_added,7001,a@x.example,,+Plus,employee,,,,,,,\n"
        "2026-04-01,client_added,,,8001,-Minus,,US,USD,1.00,,,,\n"
        "2026-04-01,client_added,,,8002,@At,,US,USD,1.00,,,,\n"
    )
    assert events_import(path_or_file=write(tmp_path, content)).committed

    names = [Partner.objects.get().name, Employee.objects.get().name]
    names += list(ClientAccount.objects.order_by("hub_id").values_list("name", flat=True))
    assert names == ['=HYPERLINK("x")', "+Plus", "-Minus", "@At"]
    assert all(cell(name).startswith("'") for name in names)


def test_client_access_manager_role_is_the_permission_on_an_employee(db, tmp_path) -> None:
    content = HEADER + (
        "2026-04-01,partner_joined,7001,,,N,,,,,,,,\n"
        "2026-04-01,employee_added,7001,Cam@X.example,,Cam,client_access_manager,,,,,,,\n"
    )
    events_import(path_or_file=write(tmp_path, content))
    cam = Employee.objects.get()
    assert (cam.email, cam.role, cam.is_client_access_manager) == (
        "cam@x.example",
        "employee",
        True,
    )


def test_rows_apply_in_time_order_not_file_order(db, tmp_path) -> None:
    content = HEADER + (
        "2026-04-02,employee_added,7001,a@x.example,,A,employee,,,,,,,\n"
        "2026-04-01,partner_joined,7001,,,N,,,,,,,,\n"
    )
    assert events_import(path_or_file=write(tmp_path, content)).applied == 2


def test_a_partner_admin_upload_accepts_only_that_partners_activities(
    partner_a, partner_b, tmp_path
) -> None:
    client = make_client("8001")
    give_access(make_employee(partner_a, "ann@a.example"), client)
    give_access(make_employee(partner_b, "bob@b.example"), client)
    content = HEADER + (
        activity("2026-04-03,1001,ann@a.example,8001,blog,publish,a-1")
        + activity("2026-04-03,2002,bob@b.example,8001,blog,publish,b-1")
        + "2026-04-03,partner_joined,3003,,,Gamma,,,,,,,,\n"
        + activity("2026-04-03,1001,bob@b.example,8001,blog,publish,a-2")
    )

    report = events_import(
        path_or_file=write(tmp_path, content), only_partner=partner_a, skip_invalid=True
    )

    assert list(Activity.objects.values_list("ref", flat=True)) == ["a-1"]
    assert report.errors == [
        "line 3: partner: 2002 is not your partner: you may import only its own activities",
        "line 4: event: partner_joined: a partner admin may import only activity rows",
        "line 5: employee: unknown employee 'bob@b.example' of partner 1001",
    ]
    assert not Partner.objects.filter(key="3003").exists()


def test_the_command_prints_a_summary(db, capsys) -> None:
    call_command("import_events", str(EXAMPLE))
    assert "rows read: 24, applied: 24, duplicates: 0, rejected: 0" in capsys.readouterr().out


def test_the_command_fails_on_a_bad_file_and_lists_the_rows(world, tmp_path, capsys) -> None:
    path = write(tmp_path, HEADER + activity("2026-04-05,9999,ann@nw.example,8001,blog,publish,x"))
    with pytest.raises(CommandError, match="1 invalid row"):
        call_command("import_events", str(path))
    assert "line 2: partner: unknown partner '9999'" in capsys.readouterr().err

    call_command("import_events", str(path), "--skip-invalid")
    assert "rejected: 1" in capsys.readouterr().out


def test_the_command_names_a_missing_file(db) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_events", "/nonexistent/events.csv")


def test_activity_recorded_before_and_imported_keeps_one_row(world, tmp_path) -> None:
    events_import(path_or_file=write(tmp_path, HEADER + activity()))
    events_import(path_or_file=write(tmp_path, HEADER + activity(), "again.csv"))
    assert Activity.objects.count() == 1
    assert (
        ImportedEvent.objects.count() == 5
    )  # the world's rows only; activities dedupe by their own keys


def test_naive_times_are_program_time_in_a_zone_with_summer_time(world, tmp_path, settings) -> None:
    settings.TIME_ZONE = "Europe/Rome"
    rows = [
        activity("2026-07-01T23:30:00,7001,ann@nw.example,8001,blog,publish,summer"),
        activity("2026-01-15T23:30:00,7001,ann@nw.example,8001,blog,publish,winter"),
        activity("2026-01-15T23:45:00,7001,ann@nw.example,8001,blog,publish,"),
    ]
    events_import(path_or_file=write(tmp_path, HEADER + "".join(rows)))

    summer, winter = Activity.objects.get(ref="summer"), Activity.objects.get(ref="winter")
    assert (summer.at, summer.day) == (at("2026-07-01T21:30:00+00:00"), date(2026, 7, 1))
    assert (winter.at, winter.day) == (at("2026-01-15T22:30:00+00:00"), date(2026, 1, 15))
    no_ref = Activity.objects.get(ref="")
    assert (no_ref.at, no_ref.day) == (at("2026-01-15T22:45:00+00:00"), date(2026, 1, 15))
    # Without a ref, the row is identified by its content: the same moment written with its
    # offset is the same activity.
    same = activity("2026-01-15T23:45:00+01:00,7001,ann@nw.example,8001,blog,publish,")
    report = events_import(path_or_file=write(tmp_path, HEADER + same, "same.csv"))
    assert (report.applied, report.duplicates) == (0, 1)


def test_a_byte_order_mark_and_windows_line_ends_are_read(db, tmp_path) -> None:
    content = b"\xef\xbb\xbf" + EXAMPLE.read_bytes().replace(b"\n", b"\r\n")
    report = events_import(path_or_file=write(tmp_path, content))
    assert (report.committed, report.applied) == (True, 24)
    assert Activity.objects.get(ref="ex-6").action == "send"


# The PostgreSQL fast path (credits/importing/activities.py): new rows are COPYed straight into
# the activity table; an activity's key met twice sends the file through the general path. On
# SQLite these tests exercise the general path, with the same expectations.
def _staging_statements(run) -> list[str]:
    """The SQL statements `run()` sent that touch the staging table."""
    seen: list[str] = []

    def spy(execute, sql, params, many, context):
        if "import_staging" in sql:
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        run()
    return seen


def test_new_rows_go_straight_into_the_table_on_postgresql(world, tmp_path) -> None:
    rows = [
        activity("2026-04-03T10:00:00,7001,ann@nw.example,8001,Blog,Publish,a-1"),
        activity("2026-04-04T23:30:00-05:00,7001,ann@nw.example,8001,crm,tab\\x,"),
        activity("2026-04-05,7001,ann@nw.example,8001,email,send,a-3"),
    ]
    path = write(tmp_path, HEADER + "".join(rows))
    EngineState.objects.filter(pk=1).update(dirty_from=None)  # as if the world were computed
    reports = []

    staging = _staging_statements(lambda: reports.append(events_import(path_or_file=path)))

    if connection.vendor == "postgresql":
        assert staging == [], "new rows should not go through the staging table"
    else:
        assert staging, "SQLite has only the general path"
    report = reports[0]
    assert (report.applied, report.duplicates, report.rejected) == (3, 0, 0)
    stored = list(Activity.objects.order_by("at").values_list("at", "day", "tool", "action", "ref"))
    assert stored == [
        (at("2026-04-03T10:00"), date(2026, 4, 3), "blog", "publish", "a-1"),
        (at("2026-04-05"), date(2026, 4, 5), "email", "send", "a-3"),
        (at("2026-04-05T04:30"), date(2026, 4, 5), "crm", "tab\\x", ""),
    ]
    assert EngineState.objects.get().dirty_from == date(2026, 4, 3)  # the first activity's day


def test_a_row_imported_before_past_the_probe_is_a_duplicate(world, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("credits.importing.activity_write.PROBE_ROWS", 1)
    monkeypatch.setattr("credits.importing.activity_check.PROGRESS_EVERY", 1)
    events_import(path_or_file=write(tmp_path, HEADER + activity(), "before.csv"))
    content = HEADER + (
        activity("2026-04-03T09:00:00,7001,ann@nw.example,8001,blog,publish,a-0")
        + activity("2026-04-05,7001,ann@nw.example,8999,blog,publish,bad-client")
        + activity()  # a-1, imported before
        + activity("2026-04-05,9999,ann@nw.example,8001,blog,publish,bad-partner")
        + activity("2026-04-03T11:00:00,7001,ann@nw.example,8001,blog,publish,a-2")
    )
    seen: list[str] = []

    stages: list[str] = []

    report = events_import(
        path_or_file=write(tmp_path, content),
        skip_invalid=True,
        on_error=seen.append,
        progress=lambda stage, done, total: stages.append(stage),
    )

    assert report.committed
    assert (report.applied, report.duplicates, report.rejected) == (2, 1, 2)
    again = ["activities, again"] if connection.vendor == "postgresql" else []
    assert sorted(set(stages) - {"reading"}) == ["activities", *again]
    assert report.errors == [
        "line 3: client: unknown client '8999'",
        "line 5: partner: unknown partner '9999'",
    ]
    assert seen == report.errors  # each bad row reported once, though the file was read twice
    assert sorted(Activity.objects.values_list("ref", flat=True)) == ["a-0", "a-1", "a-2"]


def test_bad_rows_after_a_probe_that_found_a_duplicate_are_reported_once(
    world, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr("credits.importing.activity_write.PROBE_ROWS", 2)
    events_import(path_or_file=write(tmp_path, HEADER + activity(), "before.csv"))
    content = HEADER + (
        activity()  # a-1, imported before: the probe (lines 2 and 4) finds it
        + activity("2026-04-05,7001,ann@nw.example,8999,blog,publish,bad-client")
        + activity("2026-04-03T11:00:00,7001,ann@nw.example,8001,blog,publish,a-2")
        + activity("2026-04-05,9999,ann@nw.example,8001,blog,publish,bad-partner")
    )
    seen: list[str] = []

    report = events_import(
        path_or_file=write(tmp_path, content), skip_invalid=True, on_error=seen.append
    )

    assert (report.applied, report.duplicates, report.rejected) == (1, 1, 2)
    assert (
        seen
        == report.errors
        == [
            "line 3: client: unknown client '8999'",
            "line 5: partner: unknown partner '9999'",
        ]
    )


def test_a_ref_repeated_past_the_probe_is_an_error_and_nothing_is_written(
    world, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr("credits.importing.activity_write.PROBE_ROWS", 1)
    content = HEADER + (
        activity("2026-04-03T09:00:00,7001,ann@nw.example,8001,blog,publish,a-0")
        + activity()
        + activity("2026-04-04T10:00:00,7001,ann@nw.example,8001,email,send,a-1")
    )
    before = counts()

    report = events_import(path_or_file=write(tmp_path, content))

    assert not report.committed
    assert report.errors == ["line 4: ref: 'a-1' is also used on line 3 of this file"]
    assert counts() == before


def test_the_same_row_twice_past_the_probe_is_one_activity(world, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("credits.importing.activity_write.PROBE_ROWS", 1)
    twice = activity("2026-04-03T10:00:00,7001,ann@nw.example,8001,blog,publish,")
    content = HEADER + activity("2026-04-03T09:00,7001,ann@nw.example,8001,crm,edit,") + twice * 2

    report = events_import(path_or_file=write(tmp_path, content))

    assert (report.applied, report.duplicates, report.rejected) == (2, 1, 0)
    assert Activity.objects.count() == 2


def test_the_fast_path_probe_finds_rows_imported_before_by_either_key(world, tmp_path) -> None:
    from credits.importing.activity_write import _any_imported

    if connection.vendor != "postgresql":
        pytest.skip("the probe is part of the PostgreSQL fast path only")
    rows = activity() + activity("2026-04-03T11:00:00,7001,ann@nw.example,8001,crm,edit,")
    events_import(path_or_file=write(tmp_path, HEADER + rows))
    ann, orbit = Employee.objects.get().pk, ClientAccount.objects.get().pk
    partner = Partner.objects.get().pk

    def staged(moment: str, action: str, ref: str) -> tuple:
        return (9, partner, ann, orbit, moment, moment[:10], "crm", action, ref)

    assert _any_imported([staged("2026-04-03T11:00:00+00:00", "edit", "")])
    assert _any_imported([staged("2026-04-03T12:00:00+01:00", "edit", "")])  # the same moment
    assert not _any_imported([staged("2026-04-03T11:00:00+00:00", "view", "")])
    assert not _any_imported([staged("2026-04-03T11:00:00+00:00", "edit", "b-1")])
    assert _any_imported([staged("2026-04-09T11:00:00+00:00", "view", "a-1")])  # the ref
