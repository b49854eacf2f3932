"""The checks behind every access change, without a query (STYLE §4).

`accounts.services` calls them on rows it read; the bulk importer calls them on its in-memory
model of the program, so a row refused by one is refused by the other with the same words.
Each raises ValidationError.
"""

from datetime import datetime

from django.core.exceptions import ValidationError


def partner_may_join(*, key: str, left_at: datetime | None, at: datetime) -> None:
    """A known partner (`left_at`: None while in the program) may rejoin only after it left."""
    if left_at is None:
        raise ValidationError(f"Partner {key} is already in the program.")
    if at < left_at:
        raise ValidationError(f"Partner {key} cannot rejoin before it left ({left_at}).")


def partner_may_leave(*, key: str, has_left: bool, joined_at: datetime, at: datetime) -> None:
    if has_left:
        raise ValidationError(f"Partner {key} has already left the program.")
    if at < joined_at:
        raise ValidationError(f"Partner {key} cannot leave before it joined.")


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


def access_may_open(*, email: str, hub_id: str, what: str, overlapping: bool) -> None:
    """`overlapping`: an open row, or a closed one that covers the moment."""
    if overlapping:
        raise ValidationError(f"{email} already {what} {hub_id}.")


def access_may_close(*, email: str, hub_id: str, what: str, start: datetime | None) -> None:
    """`start`: the start of the open row (None: there is none; `what`: "assigned to")."""
    if start is None:
        raise ValidationError(f"{email} is not {what} {hub_id}.")


def relationship_may_end(*, partner_key: str, hub_id: str, has_access: bool) -> None:
    """An immediate end needs an open assignment or seat of the partner in the client."""
    if not has_access:
        raise ValidationError(
            f"{partner_key} has no access to client account {hub_id}: nothing to end."
        )


def access_may_end(*, email: str, start: datetime, at: datetime) -> None:
    """An access row ends no earlier than it started."""
    if at < start:
        raise ValidationError(f"{email} cannot lose access before {start}.")
