"""Benchmark of `import_events` (issue 5): activity rows per second and peak memory.

    DATABASE_URL=postgres://… .venv/bin/python bench/import_bench.py --rows 1000000

Generates a world (partners, employees, clients with access) and N activity rows into a
temporary CSV, imports it with the same function as the command, and prints the numbers.
Each run uses fresh keys, so it can be repeated on the same database. `--again` imports the
same file a second time (every row a duplicate) and prints that rate too.
"""

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnercredit.settings")

import django

django.setup()

from credits.importing import events_import  # noqa: E402
from credits.importing.reading import COLUMNS as HEADER  # noqa: E402

TOOLS = ["blog", "website_page", "email", "social", "workflow", "crm", "report", "account"]
ACTIONS = ["publish", "send", "create", "edit", "view", "login"]


def world_write(path: Path, partners: int, employees: int, clients: int) -> list[tuple]:
    """Partners, employees, clients and access; returns (partner, employee, client) triples."""
    run = uuid.uuid4().hex[:8]
    rng = random.Random(42)
    staff: list[tuple[str, str, str]] = []
    with open(path, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(HEADER)
        for p in range(partners):
            key = f"{run}-p{p}"
            w.writerow(["2025-01-01", "partner_joined", key, "", "", f"Partner {p}"] + [""] * 8)
            for e in range(employees):
                email = f"e{e}@{key}.example"
                w.writerow(
                    ["2025-01-01", "employee_added", key, email, "", f"E {e}", "employee"]
                    + [""] * 7
                )
                staff.append((key, email, f"{run}-c{rng.randrange(clients)}"))
        for c in range(clients):
            client = ["2025-01-01", "client_added", "", "", f"{run}-c{c}", f"Client {c}", ""]
            w.writerow(client + ["US", "USD", "1000.00"] + [""] * 4)
        for key, email, hub in staff:
            for event in ("client_assigned", "seat_added"):
                w.writerow(["2025-01-02", event, key, email, hub] + [""] * 9)
    return staff


def activities_write(path: Path, rows: int, staff: list[tuple], *, random_refs: bool) -> None:
    """Refs like a source system's ids (`<run>-a<i>`), or with `random_refs` random UUIDs."""
    run = uuid.uuid4().hex[:8]
    rng = random.Random()
    with open(path, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(HEADER)
        second = 0
        for i in range(rows):
            key, email, hub = staff[i % len(staff)]
            second += 7
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1738368000 + second))
            ref = f"{rng.getrandbits(128):032x}" if random_refs else f"{run}-a{i}"
            who = [stamp, "activity", key, email, hub]
            w.writerow(who + [""] * 5 + [TOOLS[i % 8], ACTIONS[i % 6], "", ref])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="activity rows")
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--employees", type=int, default=20, help="per partner")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--again", action="store_true", help="then re-import the same file")
    parser.add_argument(
        "--random-refs", action="store_true", help="random refs instead of increasing ones"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world, path = Path(tmp) / "world.csv", Path(tmp) / "activities.csv"
        staff = world_write(world, args.partners, args.employees, args.clients)
        started = time.perf_counter()
        report = events_import(path_or_file=world)
        print(f"world: {report.summary()} in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        activities_write(path, args.rows, staff, random_refs=args.random_refs)
        print(
            f"generated {path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - started:.1f} s"
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        report = events_import(path_or_file=path)
        elapsed = time.perf_counter() - started
        if args.again and report.committed:
            started = time.perf_counter()
            again = events_import(path_or_file=path)
            again_elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"activities: {report.summary()}")
    if not report.committed:
        print("\n".join(report.errors[:20]))
        sys.exit(1)
    from django.db import connection

    print(f"database: {connection.vendor}")
    print(
        f"imported {args.rows:,} activity rows in {elapsed:.1f} s: {args.rows / elapsed:,.0f} rows/s"
    )
    print(f"peak RSS: {peak:,.0f} MB (before importing: {rss_before:,.0f} MB)")
    if args.again:
        print(f"again: {again.summary()}")
        print(
            f"re-imported the same {args.rows:,} rows in {again_elapsed:.1f} s: "
            f"{args.rows / again_elapsed:,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
