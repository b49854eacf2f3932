"""Writes of incoming program data: activities and sold deals."""

import hashlib
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from accounts.models import ClientAccount, Employee, Partner
from credits.models import Activity, Deal
from credits.staleness import mark_stale
from partnercredit.days import program_day
from partnercredit.validators import validate_amount


def fingerprint(ref: str, content: Iterable[str]) -> uuid.UUID:
    """The identity of an imported non-activity row: its `ref`, or without one its content.

    (Activities are identified by the same two keys, as unique indexes on their columns.)
    """
    text = f"ref\x1f{ref}" if ref else "row\x1f" + "\x1f".join(content)
    return uuid.UUID(bytes=hashlib.blake2b(text.encode(), digest_size=16).digest())


@transaction.atomic
def activity_record(
    *,
    employee: Employee,
    client: ClientAccount,
    at: datetime,
    tool: str,
    action: str,
    ref: str = "",
) -> Activity:
    """Store one activity. Whether it counts is decided by the engine, from the state at `at`."""
    activity = Activity.objects.create(
        partner_id=employee.partner_id,
        employee=employee,
        client=client,
        at=at,
        day=program_day(at),
        tool=tool.strip().lower(),  # compared case-insensitively (SPEC §2)
        action=action.strip().lower(),
        ref=ref,
    )
    mark_stale(
        since=activity.day, what=f"Activity {activity.tool}/{activity.action} in {client.hub_id}"
    )
    return activity


def deal_record(
    *,
    partner: Partner,
    client: ClientAccount,
    closed_on: date,
    amount: Decimal,
    currency: str,
    kind: str,
    ref: str = "",
) -> Deal:
    """A closed deal; it earns sold points for the sold-credit window (SPEC §3.8)."""
    deal = Deal(
        partner=partner,
        client=client,
        closed_on=closed_on,
        amount=validate_amount(amount, "Deal amount"),
        currency=currency.upper(),
        kind=kind,
        ref=ref,
    )
    deal.full_clean()
    deal.save()
    mark_stale(since=closed_on, what=f"Deal closed in {client.hub_id}", counted=False)
    return deal
