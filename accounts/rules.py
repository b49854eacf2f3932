"""The checks behind every access change, without a query (STYLE §4).

`accounts.services` calls them on rows it read; the bulk importer calls them on its in-memory
model of the program, so a row refused by one is refused by the other with the same words.
Each raises ValidationError.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def partner_may_join(*, key: str, left_at: datetime | None, at: datetime) -> None:
    """A known partner (`left_at`: None while in the program) may rejoin only after it left."""
    if left_at is None:
        raise ValidationError(
            _("Partner %(partner)s is already in the program.") % {"partner": key}
        )
    if at < left_at:
        raise ValidationError(
            _("Partner %(partner)s cannot rejoin before it left (%(left)s).")
            % {"partner": key, "left": left_at}
        )


def partner_may_leave(*, key: str, has_left: bool, joined_at: datetime, at: datetime) -> None:
    if has_left:
        raise ValidationError(
            _("Partner %(partner)s has already left the program.") % {"partner": key}
        )
    if at < joined_at:
        raise ValidationError(
            _("Partner %(partner)s cannot leave before it joined.") % {"partner": key}
        )


def partner_in_program(*, key: str, has_left: bool) -> None:
    """Employees and access change only while the partner is in the program."""
    if has_left:
        raise ValidationError(_("Partner %(partner)s has left the program.") % {"partner": key})


def employee_may_be_added(*, email: str, partner_key: str, exists: bool) -> None:
    if exists:
        raise ValidationError(
            _("Employee %(email)s already exists in partner %(partner)s.")
            % {"email": email, "partner": partner_key}
        )


def employee_may_deactivate(
    *, email: str, is_active: bool, spell_start: datetime | None, at: datetime
) -> None:
    """`spell_start`: the start of the employee's open active spell (None: there is none)."""
    if not is_active or spell_start is None:
        raise ValidationError(_("Employee %(email)s is already deactivated.") % {"email": email})
    if at < spell_start:
        raise ValidationError(
            _("Employee %(email)s cannot be deactivated before %(start)s.")
            % {"email": email, "start": spell_start}
        )


def employee_may_reactivate(
    *, email: str, is_active: bool, partner_key: str, partner_left: bool
) -> None:
    if is_active:
        raise ValidationError(_("Employee %(email)s is already active.") % {"email": email})
    partner_in_program(key=partner_key, has_left=partner_left)


def client_may_be_added(*, hub_id: str, exists: bool) -> None:
    if exists:
        raise ValidationError(_("Client account %(hub_id)s already exists.") % {"hub_id": hub_id})


ALREADY = {  # by `what`
    "is assigned": gettext_lazy("%(email)s already is assigned %(client)s."),
    "has a seat in": gettext_lazy("%(email)s already has a seat in %(client)s."),
}
IS_NOT = {
    "assigned to": gettext_lazy("%(email)s is not assigned to %(client)s."),
    "seated in": gettext_lazy("%(email)s is not seated in %(client)s."),
}


def access_may_open(*, email: str, hub_id: str, what: str, overlapping: bool) -> None:
    """`overlapping`: an open row, or a closed one that covers the moment."""
    if overlapping:
        raise ValidationError(ALREADY[what] % {"email": email, "client": hub_id})


def access_may_close(*, email: str, hub_id: str, what: str, start: datetime | None) -> None:
    """`start`: the start of the open row (None: there is none; `what`: "assigned to")."""
    if start is None:
        raise ValidationError(IS_NOT[what] % {"email": email, "client": hub_id})


def relationship_may_end(*, partner_key: str, hub_id: str, has_access: bool) -> None:
    """An immediate end needs an open assignment or seat of the partner in the client."""
    if not has_access:
        raise ValidationError(
            _("%(partner)s has no access to client account %(client)s: nothing to end.")
            % {"partner": partner_key, "client": hub_id}
        )


def access_may_end(*, email: str, start: datetime, at: datetime) -> None:
    """An access row ends no earlier than it started."""
    if at < start:
        raise ValidationError(
            _("%(email)s cannot lose access before %(start)s.") % {"email": email, "start": start}
        )
