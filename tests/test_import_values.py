"""What the importer accepts as a value (issue 18 point 8, SPEC §2 and §4): moments, amounts,
keys, letter case, and what a partner admin's upload is told about other partners' rows."""

from pathlib import Path

import pytest

from accounts.models import ClientAccount, Employee, Partner, Seat
from credits.importing import events_import
from credits.models import Activity
from tests.builders import give_access, make_client, make_employee, make_partner

HEADER = "at,event,partner,employee,client,name,role,country,currency,amount,tool,action,kind,ref\n"


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + content)
    return path


def activity(
    when: str,
    partner: str = "1001",
    employee: str = "ann@a.example",
    client: str = "8001",
    tool: str = "blog",
    action: str = "publish",
    ref: str = "a-1",
) -> str:
    return f"{when},activity,{partner},{employee},{client},,,,,,{tool},{action},,{ref}\n"


@pytest.fixture
def world(partner_a):
    give_access(make_employee(partner_a, "ann@a.example"), make_client("8001"))


BAD_MOMENTS = {
    "beyond year 9999 in UTC": ("9999-12-31T23:59:59-05:00", "out of range"),
    "before year 1 in UTC": ("0001-01-01T00:00:00+05:00", "out of range"),
    "an ISO week date": ("2026-W47-1T10:00:00", "expected YYYY-MM-DD"),
    "an ordinal date": ("2026-320", "expected YYYY-MM-DD"),
    "the basic format": ("20260403T1000", "expected YYYY-MM-DD"),
    "full-width digits": ("２０２６-04-03", "expected YYYY-MM-DD"),
}


@pytest.mark.parametrize("text, reason", BAD_MOMENTS.values(), ids=BAD_MOMENTS.keys())
def test_a_moment_no_calendar_has_is_a_line_numbered_error_in_an_activity(
    world, tmp_path, text, reason
) -> None:
    report = events_import(path_or_file=write(tmp_path, activity(text)))

    assert not report.committed
    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"line 2: at: {text!r} is not a valid ISO date or datetime")
    assert reason in report.errors[0]
    assert not Activity.objects.exists()


@pytest.mark.parametrize("text, reason", BAD_MOMENTS.values(), ids=BAD_MOMENTS.keys())
def test_a_moment_no_calendar_has_is_a_line_numbered_error_in_an_event_row(
    db, tmp_path, text, reason
) -> None:
    report = events_import(
        path_or_file=write(tmp_path, f"{text},partner_joined,7001,,,N,,,,,,,,\n")
    )

    assert report.errors[0].startswith(f"line 2: at: {text!r} is not a valid ISO date")
    assert reason in report.errors[0]
    assert not Partner.objects.exists()


def test_the_last_moment_of_year_9999_in_program_time_still_imports(world, tmp_path) -> None:
    report = events_import(path_or_file=write(tmp_path, activity("9999-12-31T23:59:59+00:00")))
    assert report.committed, report.errors


BAD_AMOUNTS = {
    "full-width digits": ("１２００.００", "is not a decimal number"),
    "arabic-indic digits": ("١٢٠٠", "is not a decimal number"),
    "above the largest amount": ("999999999999999.99", "too large: at most 999,999,999.99"),
    "one cent above it": ("1000000000.00", "too large"),
}


@pytest.mark.parametrize("text, reason", BAD_AMOUNTS.values(), ids=BAD_AMOUNTS.keys())
def test_amounts_are_ascii_and_bounded(db, tmp_path, text, reason) -> None:
    content = (
        f"2026-04-01,client_added,,,8001,Orbit,,US,USD,{text},,,,\n"
        "2026-04-01,client_added,,,8002,Lumen,,US,USD,999999999.99,,,,\n"  # the largest: fine
    )
    report = events_import(path_or_file=write(tmp_path, content), skip_invalid=True)

    assert len(report.errors) == 1
    assert report.errors[0].startswith("line 2: amount: ")
    assert reason in report.errors[0]
    assert list(ClientAccount.objects.values_list("hub_id", flat=True)) == ["8002"]


@pytest.mark.parametrize("key", ["a/b", "=SUM(9+9)", "x y", "bad\x01key", "-1"])
def test_new_partner_keys_and_hub_ids_follow_the_one_key_pattern(db, tmp_path, key) -> None:
    content = (
        f'2026-04-01,partner_joined,"{key}",,,N,,,,,,,,\n'
        f'2026-04-01,client_added,,,"{key}",Orbit,,US,USD,10.00,,,,\n'
    )
    report = events_import(path_or_file=write(tmp_path, content))

    assert [error.split(":")[:2] for error in report.errors] == [
        ["line 2", " partner"],
        ["line 3", " client"],
    ]
    assert all("is not valid: use 1–32 letters" in error for error in report.errors)
    assert not Partner.objects.exists() and not ClientAccount.objects.exists()


def test_tools_and_actions_are_stored_lower_case(world, tmp_path) -> None:
    content = activity("2026-04-03T10:00", tool="Blog", action="PUBLISH") + activity(
        "2026-04-03T11:00", tool=" Website_Page ", action="Publish", ref="a-2"
    )
    assert events_import(path_or_file=write(tmp_path, content)).committed

    assert sorted(Activity.objects.values_list("tool", "action")) == [
        ("blog", "publish"),
        ("website_page", "publish"),
    ]


def test_an_e_mail_in_any_case_is_the_same_employee(partner_a, tmp_path) -> None:
    make_client("8001")
    content = (
        "2026-04-01,employee_added,1001,Ann@A.Example,,Ann,employee,,,,,,,\n"
        "2026-04-02,client_assigned,1001,ANN@a.example,8001,,,,,,,,,\n"
        "2026-04-02,seat_added,1001,ann@A.EXAMPLE,8001,,,,,,,,,\n"
        "2026-04-03,employee_added,1001,aNN@a.example,,Twice,employee,,,,,,,\n"
    ) + activity("2026-04-03T10:00", employee="Ann@A.example")
    report = events_import(path_or_file=write(tmp_path, content), skip_invalid=True)

    assert report.errors == [
        "line 5: event: employee_added refused: Employee ann@a.example already exists in "
        "partner 1001."
    ]
    ann = Employee.objects.get()
    assert ann.email == "ann@a.example"
    assert Seat.objects.get().employee == ann
    assert Activity.objects.get().employee == ann


def test_a_partner_admin_upload_is_told_the_same_whether_another_partners_row_exists(
    partner_a, partner_b, tmp_path
) -> None:
    """Existing and invented keys, e-mails and hub ids of other partners get one answer."""
    mine, theirs = make_client("8001"), make_client("8002")
    give_access(make_employee(partner_a, "ann@a.example"), mine)
    give_access(make_employee(partner_b, "bob@b.example"), theirs)
    make_partner("3003")
    content = (
        activity("2026-04-03", partner="2002", ref="x-1")  # another partner's key
        + activity("2026-04-03", partner="9999", ref="x-2")  # no such partner
        + activity("2026-04-03", employee="bob@b.example", ref="x-3")  # B's employee
        + activity("2026-04-03", employee="nobody@b.example", ref="x-4")  # no one
        + activity("2026-04-03", client="8002", ref="x-5")  # B's client
        + activity("2026-04-03", client="8999", ref="x-6")  # no such client
    )
    report = events_import(
        path_or_file=write(tmp_path, content), only_partner=partner_a, skip_invalid=True
    )

    def reason(line: int) -> str:
        error = report.errors[line - 2]
        for value in ("2002", "9999", "bob@b.example", "nobody@b.example", "8002", "8999"):
            error = error.replace(value, "X")
        return error.split(": ", 1)[1]

    assert (
        reason(2)
        == reason(3)
        == "partner: X is not your partner: you may import only its own activities"
    )
    assert reason(4) == reason(5) == "employee: unknown employee 'X' of partner 1001"
    assert reason(6) == reason(7)
    assert reason(6).startswith("client: Your partner has no access to client account X.")
    assert not Activity.objects.exists()
