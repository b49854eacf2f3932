"""The worked example of shared/examples (copied to tests/data/example): import the world,
compute the days, and the SPEC §4 exports give exactly the expected rows."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

DATA = Path(__file__).parent / "data" / "example"
DAYS = ["2026-04-04", "2026-05-15", "2026-06-02", "2026-06-03", "2026-06-30"]


def normalise(rows: list[dict]) -> list[tuple]:
    """Decimals as numbers, days as dates, empty as None; rows in any order."""

    def value(key: str, text: str) -> object:
        if text == "":
            return None
        if key in {"partner", "client", "currency", "tier"}:
            return text
        try:
            return date.fromisoformat(text)
        except ValueError:
            return Decimal(text)

    return sorted(tuple((k, value(k, v)) for k, v in row.items()) for row in rows)


def run(command: str, *args: str) -> list[dict]:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def expected(name: str) -> list[dict]:
    with open(DATA / name, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.django_db
def test_the_example_world_gives_the_expected_credit_lines_and_standings() -> None:
    call_command("import_events", str(DATA / "example-world.csv"), stdout=io.StringIO())
    for day in DAYS:
        call_command("recompute_credits", "--date", day, stdout=io.StringIO())

    lines = [row for day in DAYS for row in run("export_credit_lines", "--date", day)]
    standings = [row for day in DAYS for row in run("export_standings", "--date", day)]

    assert list(lines[0]) == list(expected("expected-credit-lines.csv")[0])  # column order
    assert normalise(lines) == normalise(expected("expected-credit-lines.csv"))
    assert list(standings[0]) == list(expected("expected-standings.csv")[0])
    assert normalise(standings) == normalise(expected("expected-standings.csv"))


@pytest.mark.django_db
def test_importing_the_example_twice_changes_nothing() -> None:
    call_command("import_events", str(DATA / "example-world.csv"), stdout=io.StringIO())
    call_command("recompute_credits", "--date", "2026-05-15", stdout=io.StringIO())
    before = run("export_credit_lines", "--date", "2026-05-15")
    out = io.StringIO()
    call_command("import_events", str(DATA / "example-world.csv"), stdout=out)
    call_command("recompute_credits", "--date", "2026-05-15", stdout=io.StringIO())
    assert run("export_credit_lines", "--date", "2026-05-15") == before
    assert "duplicates" in out.getvalue().lower()


@pytest.mark.django_db
def test_export_of_a_day_never_computed_is_an_error_naming_the_day() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2026-04-04 has not been computed"):
        call_command("export_standings", "--date", "2026-04-04", stdout=io.StringIO())


@pytest.mark.django_db
def test_export_credit_lines_for_one_partner_and_an_unknown_partner() -> None:
    from django.core.management.base import CommandError

    call_command("import_events", str(DATA / "example-world.csv"), stdout=io.StringIO())
    call_command("recompute_credits", "--date", "2026-04-04", stdout=io.StringIO())
    rows = run("export_credit_lines", "--date", "2026-04-04", "--partner", "7002")
    assert {(r["partner"], r["client"]) for r in rows} == {("7002", "8001"), ("7002", "8003")}
    with pytest.raises(CommandError, match="9999"):
        call_command("export_credit_lines", "--date", "2026-04-04", "--partner", "9999")
