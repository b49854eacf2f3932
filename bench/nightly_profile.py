"""Where the nightly recompute's time goes (issue 16, item 4): the last day's activities marked
as just arrived (the day re-aggregated first), then `recompute_day` of it in this process, with
every step and every SQL statement of the engine timed.

    DATABASE_URL=postgres://…/<a seeded, computed program> .venv/bin/python bench/nightly_profile.py
    … --fresh    the aggregates left as they are (one day's recompute without the refresh)
"""

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnercredit.settings")

spent: dict[str, float] = defaultdict(float)
counts: dict[str, int] = defaultdict(int)


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started
            counts[name] += 1

    return wrapper


def statement(sql: str) -> str:
    """A short name for an engine statement: its verb and first table."""
    words = re.sub(r"\s+", " ", sql).strip()
    found = re.match(r"(WITH .*?\)\s*)?(\w+)\W.*?(?:INTO|FROM|UPDATE)\s+(\w+)", words)
    if not found:
        return words[:40]
    return f"{found.group(2)} {found.group(3)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="do not mark the day stale")
    options = parser.parse_args()

    import django

    django.setup()
    from django.db.models import Max

    from credits import engine, standings
    from credits.models import Activity
    from credits.staleness import mark_stale

    real_execute = engine.execute

    def execute(sql: str, params: dict) -> Any:
        return timed(f"  sql: {statement(sql)}", real_execute)(sql, params)

    engine.execute = execute
    for name in ("counted_days_refresh", "chunk_compute", "tiers_history", "_publish"):
        setattr(engine, name, timed(name, getattr(engine, name)))
    engine.standings_compute = timed("standings_compute", standings.standings_compute)

    last: date = Activity.objects.aggregate(d=Max("day"))["d"]
    if not options.fresh:
        mark_stale(since=last, what="bench: the day's activities arrived")
    started = time.perf_counter()
    run = engine.recompute_day(day=last)
    total = time.perf_counter() - started
    print(f"{last}: {run.credit_lines:,} credit lines, {run.partners:,} partners")
    print(f"recompute_day: {total:.2f} s{' (aggregates fresh)' if options.fresh else ''}")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        share = 100 * seconds / total
        print(f"{name}: {seconds:.2f} s  ({share:.0f} %, {counts[name]} call(s))")


if __name__ == "__main__":
    main()
