"""Benchmark of `import_events` on a whole program in one file (issue 16).

    .venv/bin/python bench/program_bench.py                      # the 5,000,000-activity program
    .venv/bin/python bench/program_bench.py --scale 0.1          # a program ten times smaller
    .venv/bin/python bench/program_bench.py --events-only --scale 10   # 10x the event rows

Generates one events file deterministically (seed 16): at scale 1, 2,000 partners, 20,000
employees, 50,000 clients, 86,000 (employee, client) pairs each assigned and seated, a few
hundred later changes (seats removed, MRR changes, employees deactivated, partners leaving,
deals), then 5,000,000 activities over 86 days. Then, each time in a freshly created database
(`--database`, default imp_bench, on the server of $DATABASE_URL or 127.0.0.1; dropped and
created by this script):
1. the event rows alone (`import_events` of the file without its activities): event rows/s;
2. the whole file: rows/s overall and the command's peak RSS;
3. PostgreSQL's own COPY of the same file into a scratch table of text columns, and the ratio;
4. `recompute_credits --date` of the last day right after the import, against one bare SQL
   statement that computes the same credit lines from the same tables, and the ratio.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
HEADER = "at,event,partner,employee,client,name,role,country,currency,amount,tool,action,kind,ref"
WORLD_AT = datetime(2026, 1, 1, 9, 0)
FIRST_DAY, DAYS = datetime(2026, 1, 5), 86
TOOLS = [
    ("blog", "publish"),
    ("email", "send"),
    ("workflow", "create"),
    ("crm", "edit"),
    ("report", "view"),
    ("account", "login"),
    ("form", "edit"),
    ("social", "publish"),
]
MARKETS = [
    ("US", "USD", "1200.00"),
    ("DE", "EUR", "900.00"),
    ("GB", "GBP", "700.00"),
    ("IN", "INR", "50000.00"),
    ("BR", "BRL", "3000.00"),
    ("AU", "AUD", "1500.00"),
]


@dataclass
class Shape:
    partners: int
    employees: int  # per partner
    clients: int
    pairs: int
    activities: int

    @classmethod
    def at_scale(cls, scale: float, activities: int | None) -> "Shape":
        return cls(
            partners=round(2000 * scale),
            employees=10,
            clients=round(50_000 * scale),
            pairs=round(86_000 * scale),
            activities=round(5_000_000 * scale) if activities is None else activities,
        )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def world_rows(shape: Shape, rng: random.Random) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The event rows, and the (partner, employee, client) of every pair for the activities."""
    at, rows = _stamp(WORLD_AT), []
    staff = []
    for p in range(shape.partners):
        key = str(100_000 + p)
        rows.append(f"{at},partner_joined,{key},,,Partner {p},,,,,,,,")
        for e in range(shape.employees):
            email = f"e{e}@p{key}.example"
            rows.append(f"{at},employee_added,{key},{email},,Employee {e},employee,,,,,,,")
            staff.append((key, email))
    for c in range(shape.clients):
        country, currency, amount = MARKETS[c % len(MARKETS)]
        rows.append(
            f"{at},client_added,,,{5_000_000 + c},Client {c},,{country},{currency},{amount},,,,"
        )
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < shape.pairs:
        pairs.add((len(pairs) % len(staff), rng.randrange(shape.clients)))
    access = [(*staff[e], str(5_000_000 + c)) for e, c in sorted(pairs)]
    at = _stamp(WORLD_AT + timedelta(hours=1))
    for key, email, hub in access:
        rows.append(f"{at},client_assigned,{key},{email},{hub},,,,,,,,,")
        rows.append(f"{at},seat_added,{key},{email},{hub},,,,,,,,,")
    return rows + later_rows(shape, rng, access), access


def later_rows(shape: Shape, rng: random.Random, access: list[tuple[str, str, str]]) -> list[str]:
    """Changes during the activity period: every path of the importer, a few hundred times."""
    rows, middle = [], FIRST_DAY + timedelta(days=DAYS // 2)
    ends = ("seat_removed", "client_unassigned", "services_ended", "all_employees_removed")
    touched: set[tuple[str, str]] = set()  # one change per (partner, client): none refused
    for i, (key, email, hub) in enumerate(rng.sample(access, max(1, len(access) // 200))):
        if (key, hub) in touched:
            continue
        touched.add((key, hub))
        event = ends[i % 4]
        at = _stamp(middle + timedelta(minutes=i))
        rows.append(f"{at},{event},{key},{email if i % 4 < 2 else ''},{hub},,,,,,,,,")
    for c in rng.sample(range(shape.clients), max(1, shape.clients // 20)):
        rows.append(f"{_stamp(middle)},mrr_changed,,,{5_000_000 + c},,,,,1500.00,,,,")
    for i, (key, _email, hub) in enumerate(rng.sample(access, max(1, shape.pairs // 50))):
        kind = ("sourced", "assisted")[i % 2]
        rows.append(f"{_stamp(middle)},deal_closed,{key},,{hub},,,,USD,800.00,,,{kind},d-{i}")
    for p in rng.sample(range(shape.partners), max(1, shape.partners // 200)):
        rows.append(f"{_stamp(middle + timedelta(days=1))},partner_left,{100_000 + p},,,,,,,,,,,")
    return rows


def file_write(path: Path, shape: Shape, *, events_only: bool) -> int:
    """Write the program; the number of event rows."""
    rng = random.Random(16)
    events, access = world_rows(shape, rng)
    with open(path, "w") as out:
        out.write(HEADER + "\n")
        out.write("\n".join(events) + "\n")
        if not events_only:
            step = DAYS * 86_400 / max(1, shape.activities)
            start = FIRST_DAY.replace(tzinfo=UTC).timestamp()
            chunk = []
            for i in range(shape.activities):
                key, email, hub = access[rng.randrange(len(access))]
                tool, action = TOOLS[i % len(TOOLS)]
                at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + int(i * step)))
                chunk.append(f"{at},activity,{key},{email},{hub},,,,,,{tool},{action},,a{i}\n")
                if len(chunk) == 10_000:
                    out.write("".join(chunk))
                    chunk.clear()
            out.write("".join(chunk))
    return len(events)


def database_url(name: str) -> str:
    base = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunparse(base._replace(path=f"/{name}"))


def database_fresh(name: str) -> str:
    """Drop and create the benchmark database, migrated; its URL."""
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    manage("migrate", "-v0", url=url)
    return url


def manage(*args: str, url: str) -> tuple[float, float, float]:
    """Run `manage.py args` against `url`; (seconds, CPU seconds, peak RSS in MB)."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    process = subprocess.Popen([str(PYTHON), str(ROOT / "manage.py"), *args], env=env)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"manage.py {' '.join(args)} failed")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# `import_events FILE`, timed inside its process: wall seconds, this process's CPU seconds, its
# PostgreSQL backend's CPU seconds (from /proc: the server runs on this machine), peak RSS in MB.
IMPORT = """
import os, resource, time
from django.core.management import call_command
from django.db import connection

def backend_cpu():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

backend, cpu, started = backend_cpu(), own_cpu(), time.perf_counter()
call_command("import_events", {path!r})
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{wall:.3f}} {{own_cpu() - cpu:.3f}} {{backend_cpu() - backend:.3f}} {{peak:.0f}}")
"""


def import_timed(path: Path, url: str) -> tuple[float, float, float, float]:
    """`import_events path`: (seconds, its CPU seconds, its backend's CPU seconds, peak MB)."""
    wall, cpu, backend, peak = shell(IMPORT.format(path=str(path)), url)[-4:]
    return float(wall), float(cpu), float(backend), float(peak)


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def shell(code: str, url: str) -> list[str]:
    """Run Python in `manage.py shell` against `url`; its output's words."""
    env = {**os.environ, "DATABASE_URL": url}
    command = [str(PYTHON), str(ROOT / "manage.py"), "shell", "-c", code]
    return subprocess.run(
        command, env=env, check=True, capture_output=True, text=True
    ).stdout.split()


def copy_rate(url: str, path: Path) -> float:
    """PostgreSQL's own COPY of the file into a scratch table of text columns: seconds."""
    columns = ", ".join(f"{name} text" for name in HEADER.split(","))
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TEMPORARY TABLE scratch ({columns})")
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY scratch FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            open(path, "rb") as raw,
        ):
            while block := raw.read(1 << 20):
                copy.write(block)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = the issue's program")
    parser.add_argument("--activities", type=int, help="activity rows (default 5,000,000 × scale)")
    parser.add_argument("--events-only", action="store_true", help="only step 1")
    parser.add_argument("--database", default="imp_bench")
    parser.add_argument("--dir", help="where to write the file (default: a temporary folder)")
    args = parser.parse_args()
    shape = Shape.at_scale(args.scale, args.activities)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        run(shape, Path(tmp), args)


def run(shape: Shape, tmp: Path, args: argparse.Namespace) -> None:
    print(f"program: {shape}", flush=True)
    started = time.perf_counter()
    world = tmp / "events.csv"
    events = file_write(world, shape, events_only=True)
    print(f"generated {events:,} event rows in {time.perf_counter() - started:.1f} s", flush=True)
    url = database_fresh(args.database)
    seconds, cpu, backend, rss = import_timed(world, url)
    print(
        f"event rows: {events:,} in {seconds:.1f} s: {events / seconds:,.0f} rows/s; CPU: "
        f"importer {cpu:.1f} s + PostgreSQL {backend:.1f} s ({load()}; peak RSS {rss:,.0f} MB)",
        flush=True,
    )
    if args.events_only:
        return
    program = tmp / "program.csv"
    started = time.perf_counter()
    file_write(program, shape, events_only=False)
    rows = events + shape.activities
    size = program.stat().st_size / 1e6
    print(f"generated {rows:,} rows ({size:,.0f} MB) in {time.perf_counter() - started:.1f} s")
    url = database_fresh(args.database)
    seconds, cpu, backend, rss = import_timed(program, url)
    copy = copy_rate(url, program)
    print(
        f"import_events: {rows:,} rows in {seconds:.1f} s: {rows / seconds:,.0f} rows/s, "
        f"peak RSS {rss:,.0f} MB; CPU: importer {cpu:.1f} s + PostgreSQL {backend:.1f} s "
        f"({load()})",
        flush=True,
    )
    print(
        f"COPY of the same file: {copy:.1f} s: {rows / copy:,.0f} rows/s; "
        f"import_events / COPY = {copy / seconds:.2f}",
        flush=True,
    )
    recompute_compare(url)


# What `recompute_credits --date D` does (`engine.recompute_day`), in its two parts, timed.
RECOMPUTE = """
import time
from datetime import date
from credits import engine
day = date.fromisoformat({day!r})
started = time.perf_counter()
days = engine.counted_days_refresh(through=day)
refreshed = time.perf_counter()
run = engine.recompute_day(day=day)
print(f"{{refreshed - started:.3f}} {{days}} {{time.perf_counter() - refreshed:.3f}} 0 {{run.credit_lines}}")
"""


def recompute_compare(url: str) -> None:
    """`recompute_credits --date` of the last day (timed inside the process) vs the bare SQL."""
    from bench.bare_sql import bare_credit_lines  # the same credit lines in one statement

    day = (FIRST_DAY + timedelta(days=DAYS - 1)).date()
    code = RECOMPUTE.format(day=day.isoformat())
    out = shell(code, url)
    refresh, days, day_only, engine_lines = (
        float(out[-5]),
        int(out[-4]),
        float(out[-3]),
        int(out[-1]),
    )
    seconds = refresh + day_only
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        lines = bare_credit_lines(conn, day)
        bare = time.perf_counter() - started
    print(
        f"recompute_credits --date {day} right after the import: {seconds:.2f} s "
        f"({engine_lines:,} credit lines) = re-aggregating the {days} stale days {refresh:.2f} s "
        f"+ the day itself {day_only:.2f} s (day itself / bare SQL = {day_only / max(bare, 1e-9):.1f})"
    )
    print(
        f"bare SQL, the same {lines:,} credit lines in one statement: {bare:.2f} s; "
        f"recompute / bare SQL = {seconds / bare:.1f}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
