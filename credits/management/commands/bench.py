"""`manage.py bench`: the scale numbers of issue 7, each printed as `name: value unit`.

1. Seed: load `seed_scale --size SIZE` when the program is empty (else report the recorded load).
2. Refresh: `counted_days_refresh` over the whole history (marked stale from the first day).
3. Tier history: the credited tier's rows of every day before LAST (derived once), then
   One day: `recompute_credits --date LAST` in a child process — wall time and peak RSS; then
   the nightly case, the same after marking that day's activities stale; then the credited
   tier's share of a day's recompute (LAST again, in this process, its tier steps timed).
4. Backfill: `recompute_credits --from LAST−29 --to LAST` in a child process — the same;
   then a catch-up: a change to LAST−29 makes those days stale, `recompute_credits --stale`.
5. Pages: p50/p95 of the standings page, the staff home page, the busiest partner's page and
   projection as program staff, and that partner's home page as one of its employees.
6. Import: `bench/import_bench.py` (the importer's own benchmark), last, as it adds partners.
"""

import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.test import Client

from accounts.models import Employee, Partner
from credits import engine, tiers
from credits.engine import counted_days_refresh, tiers_history
from credits.management.commands.seed_scale import seed_record_path
from credits.models import Activity, CreditLine
from credits.staleness import data_version, mark_stale, stale_days

ROOT = Path(settings.BASE_DIR)


def _child(args: list[str]) -> tuple[float, float, str]:
    """Run `manage.py ARGS` in a child; (seconds, peak RSS in MB of the child, output)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], capture_output=True, text=True, cwd=ROOT
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: each child runs once, in order,
    # and the recompute children are the biggest ones this command starts.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak, done.stdout


def _in_process(args: list[str]) -> tuple[float, float, str]:
    """As `_child`, in this process: the peak RSS is then this whole process's."""
    out = StringIO()
    started = time.perf_counter()
    call_command(*args, stdout=out)
    elapsed = time.perf_counter() - started
    return elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, out.getvalue()


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds of samples in seconds."""
    ms = sorted(s * 1000 for s in samples)
    if len(ms) == 1:
        return ms[0], ms[0]
    cuts = statistics.quantiles(ms, n=20, method="inclusive")
    return statistics.median(ms), cuts[18]


def credited_tier_share(day: date) -> tuple[float, float, float, float]:
    """Recompute `day` in this process, timing the credited tier's two steps (deriving the
    day's tier rows, and checking that the earlier days are derived): (total, tier, derive,
    check) in seconds."""
    spent = {"derive": 0.0, "check": 0.0}

    def timed(name: str, function: Any) -> Any:
        def wrapper(**kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(**kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return wrapper

    derive, check = tiers.tiers_derive, engine.tiers_history
    tiers.tiers_derive = timed("derive", derive)  # the engine calls both through the modules
    engine.tiers_history = timed("check", check)
    try:
        started = time.perf_counter()
        engine.recompute_day(day=day)
        total = time.perf_counter() - started
    finally:
        tiers.tiers_derive, engine.tiers_history = derive, check
    return total, spent["derive"] + spent["check"], spent["derive"], spent["check"]


class Command(BaseCommand):
    help = "Measure the scale numbers of issue 7 (seed, refresh, recompute, pages, import)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", default="default", help="seed_scale size if empty.")
        parser.add_argument("--requests", type=int, default=30, help="Per page.")
        parser.add_argument("--backfill-days", type=int, default=30)
        parser.add_argument("--import-rows", type=int, default=20_000)
        parser.add_argument("--no-refresh", action="store_true", help="Keep the aggregates.")
        parser.add_argument("--no-import", action="store_true")
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Recompute in this process (tests: a child would not see the test database).",
        )

    def say(self, name: str, value: float | str, unit: str = "", note: str = "") -> None:
        text = f"{value:,.2f}" if isinstance(value, float) else str(value)
        self.stdout.write(
            f"{name}: {text}{' ' + unit if unit else ''}{'  (' + note + ')' if note else ''}"
        )

    def handle(self, *args: object, **options: Any) -> None:
        self.say("database", connection.vendor, note=connection.settings_dict["NAME"])
        self.seed(options["size"])
        span = Activity.objects.aggregate(first=Min("day"), last=Max("day"))
        first, last = span["first"], span["last"]
        if last is None:
            self.say("recompute", "skipped", note="no activities")
            return
        self.say("activities", f"{Activity.objects.count():,}", "rows", f"{first} … {last}")
        if not options["no_refresh"]:
            mark_stale(since=first, what="bench: refresh everything")
            started = time.perf_counter()
            days = counted_days_refresh(through=last)
            self.say("counted_days_refresh", time.perf_counter() - started, "s", f"{days} days")
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                # The refresh rewrites the aggregate: let the planner and the visibility map know.
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE credits_countedday")
                self.say("vacuum analyze of counted days", time.perf_counter() - started, "s")
        self.tier_history(last)
        run = _in_process if options["in_process"] else _child
        seconds, peak, out = run(["recompute_credits", "--date", last.isoformat()])
        self.say("one day's recompute", seconds, "s", out.strip().splitlines()[0] if out else "")
        self.say("one day's recompute peak RSS", peak, "MB")
        mark_stale(
            since=last, what="bench: the day's activities"
        )  # the nightly case: the day's activities arrived since
        seconds, _, _ = run(["recompute_credits", "--date", last.isoformat()])
        self.say("nightly recompute (the day re-aggregated first)", seconds, "s")
        total, tier, derive, check = credited_tier_share(last)
        self.say(
            "credited tier share of one day's recompute",
            100 * tier / total,
            "%",
            f"{tier * 1000:.0f} ms of {total:.2f} s: derive {derive * 1000:.0f} ms, "
            f"history check {check * 1000:.0f} ms",
        )
        n = options["backfill_days"]
        lo = max(first, last - timedelta(days=n - 1))
        seconds, peak, _ = run(
            ["recompute_credits", "--from", lo.isoformat(), "--to", last.isoformat()]
        )
        days = (last - lo).days + 1
        self.say(f"{days}-day backfill", seconds, "s", f"{seconds / days:.1f} s/day, {lo} … {last}")
        self.say("recompute peak RSS (largest child)", peak, "MB")
        self.catch_up(lo, last, run)
        self.pages(last, options["requests"])
        if not options["no_import"]:
            self.imports(options["import_rows"])

    def tier_history(self, last: date) -> None:
        """The credited tier needs the tier rows of every earlier day: a program loaded
        without them derives them once (each day computed, not published)."""
        started = time.perf_counter()
        days = tiers_history(through=last - timedelta(days=1), version=data_version())
        seconds = time.perf_counter() - started
        note = f"{days} days, {seconds / days:.1f} s/day" if days else "already derived"
        self.say("tier history (first time only)", seconds, "s", note)
        started = time.perf_counter()
        with transaction.atomic():
            tiers_history(through=last - timedelta(days=1), version=data_version())
        self.say("tier history check (every run)", time.perf_counter() - started, "s")

    def catch_up(self, lo: date, last: date, run: Any) -> None:
        """A backdated change to `lo`: every published day from it on is stale; catch up."""
        started = time.perf_counter()
        mark_stale(since=lo, what="bench: a backdated change")
        self.say(
            "marking staleness", (time.perf_counter() - started) * 1000, "ms", "once per write"
        )
        stale = len(stale_days(through=last))
        seconds, _, _ = run(["recompute_credits", "--stale", "--to", last.isoformat()])
        self.say(
            f"catch-up of {stale} stale days", seconds, "s", f"{seconds / max(stale, 1):.1f} s/day"
        )

    def seed(self, size: str) -> None:
        if not Partner.objects.exists():
            call_command("seed_scale", size=size, stdout=self.stdout)
        record = seed_record_path()
        if record.exists():
            loaded = json.loads(record.read_text())
            self.say(
                "seed time", float(loaded["seconds"]), "s", f"seed_scale --size {loaded['size']}"
            )
        else:
            self.say("seed time", "unknown", note=f"program loaded before; no {record.name}")

    def pages(self, day: date, requests: int) -> None:
        user, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name="program admins"))
        client = Client()
        client.force_login(user)
        busiest = (
            CreditLine.objects.published(day)
            .values("partner__key")
            .annotate(lines=Count("pk"))
            .order_by("-lines", "partner__key")
            .values_list("partner__key", flat=True)
            .first()
        )
        pages = [
            ("standings page", f"/reports/standings/?date={day}", client),
            ("staff home page", f"/reports/home/?date={day}", client),
        ]
        if busiest:
            pages.append(
                (f"partner page ({busiest})", f"/reports/partners/{busiest}/?date={day}", client)
            )
            pages.append(
                (
                    f"projection page ({busiest})",
                    f"/reports/partners/{busiest}/projection/?date={day}",
                    client,
                )
            )
            partner_client = self._partner_login(busiest)
            if partner_client is not None:
                pages.append(
                    (f"partner home page ({busiest})", f"/reports/home/?date={day}", partner_client)
                )
        for name, url, client in pages:
            first = client.get(url)  # warm-up: caches, template compilation
            if first.status_code == 404:
                self.say(name, "skipped", note=f"{url} answers 404")
                continue
            if first.status_code != 200:
                self.say(name, "skipped", note=f"{url} answers {first.status_code}")
                continue
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                client.get(url)
                samples.append(time.perf_counter() - started)
            p50, p95 = percentiles(samples)
            self.say(f"{name} p50", p50, "ms", f"{requests} requests")
            self.say(f"{name} p95", p95, "ms")

    def _partner_login(self, key: str) -> Client | None:
        """A browser logged in as an active employee of the partner (its home page). The bench
        links a login to one employee that has none; nothing that the engine reads changes."""
        employee = (
            Employee.objects.filter(partner__key=key, is_active=True)
            .order_by("-role", "pk")
            .first()
        )
        if employee is None:
            return None
        user = employee.user
        if user is None:
            user, _ = User.objects.get_or_create(username=f"bench-partner-{key}")
            Employee.objects.filter(pk=employee.pk).update(user=user)
        client = Client()
        client.force_login(user)
        return client

    def imports(self, rows: int) -> None:
        script = ROOT / "bench" / "import_bench.py"
        if not script.exists():
            self.say("activity import", "skipped", note="bench/import_bench.py does not exist")
            return
        done = subprocess.run(
            [sys.executable, str(script), "--rows", str(rows)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        lines = [line for line in done.stdout.splitlines() if "rows/s" in line]
        if done.returncode or not lines:
            self.say("activity import", "failed", note=(done.stderr or done.stdout)[-500:])
            return
        rate = lines[-1].rsplit(":", 1)[1].split()[0].replace(",", "")
        self.say("activity import", float(rate), "rows/s", lines[-1].split(":")[0])
