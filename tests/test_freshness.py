"""Published days stay true to their data (SPEC §3.11): a change makes every published day it
affects stale, recorded when it is written; a day that has not ended is never computed."""

from datetime import date

import pytest
from django.core.management import CommandError, call_command

from accounts import services as access
from credits.engine import DayNotEnded, recompute_day
from credits.models import CurrencyUnit, DataChange, DayResult
from credits.staleness import Freshness, day_freshness, deferred, mark_stale, stale_days
from partnercredit import days
from tests.builders import act, at, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db
D = date.fromisoformat


def freshness_of(day: str) -> Freshness:
    freshness = day_freshness(D(day))
    assert freshness is not None, f"{day} was never computed"
    return freshness


def change_after(day: str) -> DataChange:
    change = freshness_of(day).change
    assert change is not None, f"nothing changed after {day} was computed"
    return change


@pytest.fixture
def world():
    p = make_partner("100", joined="2026-03-01")
    e = make_employee(p, "ann@p.example")
    c = make_client("500", "100.00", added="2026-03-01")
    give_access(e, c, "2026-03-01")
    act(e, c, "2026-03-02T10:00")
    for day in ("2026-03-03", "2026-03-05", "2026-03-08"):
        recompute_day(day=D(day))
    return p, e, c


def test_a_freshly_computed_day_is_not_stale(world) -> None:
    freshness = day_freshness(D("2026-03-05"))
    assert freshness is not None and not freshness.is_stale
    assert day_freshness(D("2026-03-04")) is None  # never computed


def test_a_backdated_activity_makes_its_day_and_every_later_day_stale(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-04T09:00", tool="Blog", action="PUBLISH")
    assert stale_days(through=D("2026-03-31")) == [D("2026-03-05"), D("2026-03-08")]
    change = change_after("2026-03-05")
    assert change.first_day == D("2026-03-04") and "blog/publish in 500" in change.what
    assert not freshness_of("2026-03-03").is_stale


def test_an_edit_of_a_past_seat_makes_the_days_from_its_moment_stale(world) -> None:
    p, e, c = world
    access.seat_remove(employee=e, client=c, at=at("2026-03-05T12:00"))
    assert stale_days(through=D("2026-03-31")) == [D("2026-03-05"), D("2026-03-08")]
    assert "no longer seated in 500" in change_after("2026-03-08").what


def test_a_rate_change_in_the_admin_makes_the_days_from_its_start_stale(world, staff, client):
    client.force_login(staff)
    response = client.post(
        "/admin/credits/currencyunit/add/",
        {"currency": "USD", "valid_from": "2026-03-06", "amount": "50.00"},
    )
    assert response.status_code == 302, response.content
    assert stale_days(through=D("2026-03-31")) == [D("2026-03-08")]
    assert CurrencyUnit.objects.filter(currency="USD", valid_from=D("2026-03-06")).exists()


def test_recomputing_a_stale_day_makes_it_fresh_again(world) -> None:
    p, e, c = world
    act(e, c, "2026-03-04T09:00")
    recompute_day(day=D("2026-03-05"))
    assert stale_days(through=D("2026-03-31")) == [D("2026-03-08")]


def test_a_bulk_writer_records_one_change_for_many_marks(db) -> None:
    before = DataChange.objects.count()
    with deferred(what="Import of big.csv"):
        for n in range(50):
            mark_stale(since=D("2026-03-10") if n else D("2026-03-02"), what="row")
    assert DataChange.objects.count() == before + 1
    change = DataChange.objects.latest("pk")
    assert (change.first_day, change.what) == (D("2026-03-02"), "Import of big.csv")


def test_a_day_that_has_not_ended_is_refused(world, program_today) -> None:
    program_today(D("2026-03-09"))
    with pytest.raises(DayNotEnded, match="2026-03-09 has not ended"):
        recompute_day(day=D("2026-03-09"))
    with pytest.raises(CommandError, match="2026-03-10 has not ended"):
        call_command("recompute_credits", "--date", "2026-03-10")
    assert not DayResult.objects.filter(day__gte=D("2026-03-09")).exists()


def test_reports_default_to_the_latest_ended_day(world, program_today) -> None:
    program_today(D("2026-03-08"))  # 03-08 was computed (before this story moved the clock)
    assert DayResult.objects.latest_day() == D("2026-03-05")
    program_today(D("2026-03-09"))
    assert DayResult.objects.latest_day() == D("2026-03-08")
    assert days.yesterday() == D("2026-03-08")


def test_marking_changes_no_published_number(world) -> None:
    before = DayResult.objects.get(day=D("2026-03-08"))
    mark_stale(since=D("2026-03-01"), what="A check")
    after = DayResult.objects.get(day=D("2026-03-08"))
    assert (after.run_id, after.computed_at) == (before.run_id, before.computed_at)
    assert change_after("2026-03-08").what == "A check"


def test_exports_of_a_stale_day_work_and_warn_naming_the_day(world, capsys) -> None:
    p, e, c = world
    act(e, c, "2026-03-04T09:00")
    call_command("export_standings", "--date", "2026-03-05")
    out, err = capsys.readouterr()
    assert out.startswith("date,partner,") and "2026-03-05,100," in out
    assert "warning: 2026-03-05 is stale" in err
    call_command("export_credit_lines", "--date", "2026-03-03")
    assert "stale" not in capsys.readouterr().err


def test_recompute_stale_catches_up_every_stale_day_oldest_first(world, capsys) -> None:
    p, e, c = world
    act(e, c, "2026-03-04T09:00")
    call_command("recompute_credits", "--stale", "--to", "2026-03-06")
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("2026-03-05:") and "2026-03-08" not in out
    assert stale_days(through=D("2026-03-31")) == [D("2026-03-08")]
    call_command("recompute_credits", "--stale", "--to", "2026-03-31")
    assert stale_days(through=D("2026-03-31")) == []
    call_command("recompute_credits", "--stale", "--to", "2026-03-31")
    assert "No stale day up to 2026-03-31." in capsys.readouterr().out


def test_a_backdated_import_then_stale_catch_up_equals_a_clean_recompute(db, tmp_path) -> None:
    """The issue's acceptance story: import the example world, compute its days, import a
    backdated file, `recompute_credits --stale`; every day equals a recompute from scratch."""
    from tests.test_example_world import DATA, DAYS, run

    call_command("import_events", str(DATA / "example-world.csv"))
    for day in DAYS:
        call_command("recompute_credits", "--date", day)
    backdated = tmp_path / "late.csv"
    backdated.write_text(
        "at,event,partner,employee,client,name,role,country,currency,amount,tool,action,kind,ref\n"
        "2026-05-20T10:00:00,activity,7002,sue@southpaw.example,8001,,,,,,blog,publish,,late-1\n"
        "2026-04-20T09:00:00,mrr_changed,,,8001,,,,,300.00,,,,late-2\n"
    )
    call_command("import_events", str(backdated))
    assert stale_days(through=D("2026-06-30")) == [D(d) for d in DAYS[1:]]
    assert DataChange.objects.latest("pk").what == "Import of late.csv"
    call_command("recompute_credits", "--stale", "--to", "2026-06-30")
    caught_up = {
        day: (run("export_credit_lines", "--date", day), run("export_standings", "--date", day))
        for day in DAYS
    }
    for day in DAYS:
        call_command("recompute_credits", "--date", day)
    assert {
        day: (run("export_credit_lines", "--date", day), run("export_standings", "--date", day))
        for day in DAYS
    } == caught_up
    assert caught_up["2026-06-02"][0] != []  # the world still earns credit that day


def test_report_pages_answer_a_day_at_the_end_of_the_calendar(client, staff) -> None:
    """`?date=9999-12-31` fell over computing the day after (OverflowError, a 500)."""
    make_client("9001")
    make_partner("1001")
    client.force_login(staff)
    for url in (
        "/reports/clients/9001/",
        "/reports/standings/",
        "/reports/home/",
        "/reports/partners/1001/",
    ):
        assert client.get(url, {"date": "9999-12-31"}).status_code < 500, url
