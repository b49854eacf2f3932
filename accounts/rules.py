"""The checks behind every access change, without a query (STYLE §4).

`accounts.services` calls them on rows it read; the bulk importer calls them on its in-memory
model of the program, so a row refused by one is refused by the other with the same words.
Each raises ValidationError.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError


def partner_may_join(*, key: str, in_program: bool) -> None:
    """A partner joins once; it may rejoin only after leaving."""
    if in_program:
        raise ValidationError(f"Partner {key} is already in the program.")


def partner_may_leave(*, key: str, has_left: bool) -> None:
    if has_left:
        raise ValidationError(f"Partner {key} has already left the program.")


def partner_in_program(*, key: str, has_left: bool) -> None:
    """Employees and access change only while the partner is in the program."""
    if has_left:
        raise ValidationError(f"Partner {key} has left the program.")


def employee_may_be_added(*, email: str, partner_key: str, exists: bool) -> None:
    if exists:
        raise ValidationError(f"Employee {email} already exists in partner {partner_key}.")


def employee_may_deactivate(
    *, email: str, is_active: bool, spell_start: datetime | None, at: datetime
) -> None:
    """`spell_start`: the start of the employee's open active spell (None: there is none)."""
    if not is_active or spell_start is None:
        raise ValidationError(f"Employee {email} is already deactivated.")
    if at < spell_start:
        raise ValidationError(f"Employee {email} cannot be deactivated before {spell_start}.")


def employee_may_reactivate(
    *, email: str, is_active: bool, partner_key: str, partner_left: bool
) -> None:
    if is_active:
        raise ValidationError(f"Employee {email} is already active.")
    partner_in_program(key=partner_key, has_left=partner_left)


def client_may_be_added(*, hub_id: str, exists: bool) -> None:
    if exists:
        raise ValidationError(f"Client account {hub_id} already exists.")


def mrr_may_be(*, hub_id: str, amount: Decimal) -> None:
    if amount < 0:
        raise ValidationError(f"MRR of client {hub_id} cannot be negative ({amount}).")


def access_may_open(*, email: str, hub_id: str, what: str, overlapping: bool) -> None:
    """`overlapping`: an open row, or a closed one that covers the moment."""
    if overlapping:
        raise ValidationError(f"{email} already {what} {hub_id}.")


def access_may_close(*, email: str, hub_id: str, what: str, start: datetime | None) -> None:
    """`start`: the start of the open row (None: there is none; `what`: "assigned to")."""
    if start is None:
        raise ValidationError(f"{email} is not {what} {hub_id}.")


def access_may_end(*, email: str, start: datetime, at: datetime) -> None:
    """An access row ends no earlier than it started."""
    if at < start:
        raise ValidationError(f"{email} cannot lose access before {start}.")
