"""The SPEC §4 exports as rows, for the export_credit_lines and export_standings commands."""

from collections.abc import Iterator
from datetime import date

from django.core.management.base import CommandError
from django.db.models.functions import Length

from accounts.models import Partner
from credits.models import CreditLine, DayResult, RecomputeRun, Standing

CREDIT_LINE_COLUMNS = [
    "date",
    "partner",
    "client",
    "currency",
    "mrr",
    "partners_sharing",
    "share",
    "points",
    "relationship_started",
    "last_qualifying_activity",
    "credit_until",
]
STANDING_COLUMNS = [
    "date",
    "partner",
    "managed_points",
    "sold_points",
    "total_points",
    "managed_clients",
    "qualifying_activities",
    "tier",
    "credited_tier",
]


def require_computed(day: date) -> RecomputeRun:
    """The run published for `day`; an error naming the day if it was never computed."""
    result = DayResult.objects.select_related("run").filter(day=day).first()
    if result is None:
        raise CommandError(
            f"{day} has not been computed: run `manage.py recompute_credits --date {day}` first."
        )
    return result.run


def credit_line_export_rows(day: date, *, partner: Partner | None = None) -> Iterator[list]:
    lines = CreditLine.objects.published(day).select_related("partner", "client")
    if partner is not None:
        lines = lines.filter(partner=partner)
    lines = lines.order_by(
        Length("partner__key"), "partner__key", Length("client__hub_id"), "client__hub_id"
    )
    for line in lines.iterator(chunk_size=5000):
        yield [
            line.day.isoformat(),
            line.partner.key,
            line.client.hub_id,
            line.currency,
            line.mrr,
            line.partners_sharing,
            line.share,
            "" if line.points is None else line.points,
            line.relationship_started.isoformat(),
            line.last_qualifying_activity.isoformat(),
            line.credit_until.isoformat(),
        ]


def standing_export_rows(day: date) -> Iterator[list]:
    standings = Standing.objects.published(day).select_related("partner")
    for s in standings.order_by(Length("partner__key"), "partner__key").iterator(chunk_size=5000):
        yield [
            s.day.isoformat(),
            s.partner.key,
            s.managed_points,
            s.sold_points,
            s.total_points,
            s.managed_clients,
            s.qualifying_activities,
            s.tier,
            s.credited_tier,
        ]
