"""The credited tier's share of one day's recompute (issue 13): times the tier derivation and
the tier-history check inside `recompute_day` of the last two seeded days, in this process.

    DATABASE_URL=postgres://…/<a seeded, computed program> .venv/bin/python bench/credited_tier_cost.py
"""

import os
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnercredit.settings")


def timed(spent: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(**kwargs)
        finally:
            spent[name] += time.perf_counter() - started

    return wrapper


def main() -> None:
    import django

    django.setup()
    from django.db.models import Max

    from credits import engine, tiers
    from credits.models import Activity

    spent = {"derive": 0.0, "history": 0.0}
    tiers.tiers_derive = timed(spent, "derive", tiers.tiers_derive)
    engine.tiers_history = timed(spent, "history", engine.tiers_history)
    last: date = Activity.objects.aggregate(d=Max("day"))["d"]
    for day in (last - timedelta(days=1), last):
        spent.update(derive=0.0, history=0.0)
        started = time.perf_counter()
        engine.recompute_day(day=day)
        total = time.perf_counter() - started
        tier = spent["derive"] + spent["history"]
        print(
            f"{day}: recompute {total:.2f} s; credited tier {tier * 1000:.0f} ms "
            f"(derive {spent['derive'] * 1000:.0f} ms, history check "
            f"{spent['history'] * 1000:.0f} ms) = {100 * tier / total:.1f} %"
        )


if __name__ == "__main__":
    main()
