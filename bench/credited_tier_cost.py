"""The credited tier's share of one day's recompute (issue 13): times the tier derivation and
the tier-history check inside `recompute_day` of the last two seeded days, in this process.

    DATABASE_URL=postgres://…/<a seeded, computed program> .venv/bin/python bench/credited_tier_cost.py
"""

import os
import sys
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnercredit.settings")


def main() -> None:
    import django

    django.setup()
    from django.db.models import Max

    from credits.management.commands.bench import credited_tier_share
    from credits.models import Activity

    last: date = Activity.objects.aggregate(d=Max("day"))["d"]
    for day in (last - timedelta(days=1), last):
        total, tier, derive, check = credited_tier_share(day)
        print(
            f"{day}: recompute {total:.2f} s; credited tier {tier * 1000:.0f} ms "
            f"(derive {derive * 1000:.0f} ms, history check {check * 1000:.0f} ms) "
            f"= {100 * tier / total:.1f} %"
        )


if __name__ == "__main__":
    main()
