"""The credit engine's freshness and credited-tier reads this app relies on, in one place."""

from datetime import date

from credits import staleness, tiers


def is_stale(day: date) -> bool:
    """A later change made the published results of `day` stale (SPEC §3.11)."""
    known = staleness.day_freshness(day)
    return known is not None and known.is_stale


def stale_days(*, through: date) -> list[date]:
    """Published days up to `through` that are stale, oldest first."""
    return staleness.stale_days(through=through)


def credited_history(partner_id: int) -> list[tiers.TierChange]:
    """Every change of the partner's credited tier (day, tier_from, tier_to, reason)."""
    return tiers.credited_history(partner_id)


def keep_outlook(partner_id: int, day: date) -> tiers.Outlook | None:
    """What the partner needs to keep its credited tier at the next recalibration."""
    return tiers.keep_outlook(partner_id, day)
