"""The credit engine's freshness and credited-tier reads this app relies on, in one place.

`credits.tiers` (credited tier history and outlook) is being built beside this app: until it
is there, its reads here answer "nothing known" (no changes, no outlook) instead of failing.
"""

from datetime import date
from importlib import import_module
from types import ModuleType
from typing import Any

from credits import staleness


def _tiers() -> ModuleType | None:
    try:
        return import_module("credits.tiers")
    except ImportError:
        return None


def is_stale(day: date) -> bool:
    """A later change made the published results of `day` stale (SPEC §3.11)."""
    known = staleness.day_freshness(day)
    return known is not None and known.is_stale


def stale_days(*, through: date) -> list[date]:
    """Published days up to `through` that are stale, oldest first."""
    return staleness.stale_days(through=through)


def credited_history(partner_id: int) -> list[Any]:
    """Every change of the partner's credited tier (day, tier_from, tier_to, reason)."""
    tiers = _tiers()
    return list(tiers.credited_history(partner_id)) if tiers else []


def keep_outlook(partner_id: int, day: date) -> Any | None:
    """What the partner needs to keep its credited tier at the next recalibration."""
    tiers = _tiers()
    return tiers.keep_outlook(partner_id, day) if tiers else None
