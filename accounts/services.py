"""Every change to partners, employees, clients and access (STYLE §4).

The admin, the importer and the tests all call these. Each takes the moment it happens (`at`)
so that history can be replayed, and the acting user for the audit trail. Access is
effective-dated: ending an assignment or seat sets its `end`, nothing is deleted.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import rules
from accounts.models import (
    AccessRequest,
    Assignment,
    ClientAccount,
    ClientMRR,
    Employee,
    EmployeeSpell,
    Partner,
    PartnerSpell,
    RelationshipEnd,
    Seat,
)
from accounts.permissions import PROGRAM_ADMINS, is_program_staff, partner_of
from accounts.selectors import partner_may_act_in_client
from credits.staleness import mark_stale
from partnercredit.days import program_day
from partnercredit.validators import validate_amount, validate_key

# Who makes a change: the User model that the `actor`, `ended_by`, `requested_by` and
# `decided_by` foreign keys hold; None when no signed-in user makes it.
Actor = User | None

# Assignments and seats share their open/close logic; each call returns the model it was given.
_Access = TypeVar("_Access", Assignment, Seat)


def _save(obj: Model, actor: Actor) -> None:
    """Save, attributing the history record to `actor` (the request user when there is one)."""
    if actor is not None:
        # django-simple-history reads this attribute for the history row's user; it ships no
        # types, so the model's type has no such attribute.
        obj._history_user = actor  # type: ignore[attr-defined]
    obj.save()


def _changed(at: datetime, what: str) -> None:
    mark_stale(since=program_day(at), what=what)


@transaction.atomic
def partner_join(*, key: str, name: str = "", at: datetime, actor: Actor = None) -> Partner:
    """A partner joins the program, or rejoins after leaving: a new membership spell. Its
    employees stay deactivated until someone reactivates them (SPEC §3.3)."""
    key = validate_key(key, "Partner key")
    partner = Partner.objects.select_for_update().filter(key=key).first()
    if partner is None:
        partner = Partner(key=key, name=name or key, joined_at=at)
    else:
        rules.partner_may_join(key=key, left_at=partner.left_at, at=at)
        partner.left_at = None
        partner.joined_at = at
        partner.name = name or partner.name
    _save(partner, actor)
    PartnerSpell.objects.create(partner=partner, start=at)
    _changed(at, f"Partner {key} joined")
    return partner


@transaction.atomic
def partner_leave(*, partner: Partner, at: datetime, actor: Actor = None, note: str = "") -> None:
    """The partner leaves: every relationship ends at once and every employee is deactivated."""
    rules.partner_may_leave(
        key=partner.key, has_left=partner.left_at is not None, joined_at=partner.joined_at, at=at
    )
    partner.left_at = at
    _save(partner, actor)
    PartnerSpell.objects.filter(partner=partner, end__isnull=True).update(end=at)
    for employee in partner.employees.filter(is_active=True):
        employee_deactivate(employee=employee, at=at, actor=actor)
    _save(
        RelationshipEnd(
            partner=partner,
            at=at,
            reason=RelationshipEnd.Reason.PARTNER_LEFT,
            note=note,
            actor=actor,
        ),
        actor,
    )
    _changed(at, f"Partner {partner.key} left the program")


@transaction.atomic
def employee_add(
    *,
    partner: Partner,
    email: str,
    name: str = "",
    role: str = Employee.Role.EMPLOYEE,
    is_client_access_manager: bool = False,
    at: datetime,
    actor: Actor = None,
) -> Employee:
    rules.partner_in_program(key=partner.key, has_left=partner.left_at is not None)
    email = email.strip().lower()
    exists = Employee.objects.filter(partner=partner, email=email).exists()
    rules.employee_may_be_added(email=email, partner_key=partner.key, exists=exists)
    employee = Employee(
        partner=partner,
        email=email,
        name=name,
        role=role,
        is_client_access_manager=is_client_access_manager,
    )
    employee.full_clean(exclude=["user"])
    _save(employee, actor)
    EmployeeSpell.objects.create(employee=employee, start=at)
    _changed(at, f"Employee {email} added to partner {partner.key}")
    return employee


@transaction.atomic
def employee_deactivate(*, employee: Employee, at: datetime, actor: Actor = None) -> Employee:
    """Delayed end (SPEC §3.4): their activities stop counting; relationships run out."""
    spell = employee.spells.filter(end__isnull=True).first()
    start = spell.start if spell is not None else None
    rules.employee_may_deactivate(
        email=employee.email, is_active=employee.is_active, spell_start=start, at=at
    )
    assert spell is not None  # employee_may_deactivate refuses an employee without one
    spell.end = at
    spell.save(update_fields=["end"])
    employee.is_active = False
    employee.deactivated_at = at
    _save(employee, actor)
    _changed(at, f"Employee {employee.email} deactivated")
    return employee


@transaction.atomic
def employee_reactivate(*, employee: Employee, at: datetime, actor: Actor = None) -> Employee:
    partner = employee.partner
    rules.employee_may_reactivate(
        email=employee.email,
        is_active=employee.is_active,
        partner_key=partner.key,
        partner_left=partner.left_at is not None,
    )
    EmployeeSpell.objects.create(employee=employee, start=at)
    employee.is_active = True
    employee.deactivated_at = None
    _save(employee, actor)
    _changed(at, f"Employee {employee.email} reactivated")
    return employee


@transaction.atomic
def client_add(
    *,
    hub_id: str,
    name: str,
    country: str,
    currency: str,
    amount: Decimal,
    at: datetime,
    actor: Actor = None,
) -> ClientAccount:
    hub_id = validate_key(hub_id, "Hub id")
    amount = validate_amount(amount, "MRR")
    exists = ClientAccount.objects.filter(hub_id=hub_id).exists()
    rules.client_may_be_added(hub_id=hub_id, exists=exists)
    client = ClientAccount(hub_id=hub_id, name=name, country=country.upper(), currency=currency)
    client.full_clean()
    _save(client, actor)
    client_mrr_change(client=client, amount=amount, currency=currency, at=at, actor=actor)
    return client


@transaction.atomic
def client_mrr_change(
    *,
    client: ClientAccount,
    amount: Decimal,
    currency: str | None = None,
    at: datetime,
    actor: Actor = None,
) -> ClientMRR:
    amount = validate_amount(amount, f"MRR of client {client.hub_id}")
    currency = (currency or client.currency).upper()
    if currency != client.currency:
        client.currency = currency
        _save(client, actor)
    mrr = ClientMRR(client=client, effective_at=at, amount=amount, currency=currency)
    _save(mrr, actor)
    mark_stale(since=program_day(at), what=f"MRR of {client.hub_id} set", counted=False)
    return mrr


def _overlapping(
    model: type[Assignment] | type[Seat], employee: Employee, client: ClientAccount, at: datetime
) -> bool:
    """An open row, or a closed one that covers `at`."""
    return (
        model.objects.filter(employee=employee, client=client)
        .filter(Q(end__isnull=True) | Q(start__lte=at, end__gt=at))
        .exists()
    )


def _lock_partner(partner_id: int) -> Partner:
    """Serialise every access change of one partner (row lock until the transaction ends).

    Opening, closing and ending access read the partner's rows and then write: without the
    lock two concurrent changes both pass the check (a double close, a lost end, two "last
    seat removed" ends or none). A partner's access changes are rare; the lock is cheap.
    """
    return Partner.objects.select_for_update().get(pk=partner_id)


def _require_client_access(employee: Employee, client: ClientAccount, actor: Actor) -> None:
    """A partner's user acts only for their own partner, in clients it may act in (SPEC §1)."""
    if actor is None or is_program_staff(actor):
        return
    own = partner_of(actor)
    if own is None or own.pk != employee.partner_id:
        raise PermissionDenied(_("You may change only your own partner's access."))
    if not partner_may_act_in_client(partner=own, client=client):
        raise ValidationError(no_access_message(client.hub_id))


def no_access_message(hub_id: str) -> str:
    """The one answer for a client that does not exist and one the partner may not act in."""
    return _(
        "Your partner has no access to client account %(hub_id)s. "
        "Ask program staff for it under Access requests."
    ) % {"hub_id": hub_id}


def _open(
    model: type[_Access],
    employee: Employee,
    client: ClientAccount,
    at: datetime,
    actor: Actor,
    what: str,
) -> _Access:
    partner = _lock_partner(employee.partner_id)
    rules.partner_in_program(key=partner.key, has_left=partner.left_at is not None)
    _require_client_access(employee, client, actor)
    overlapping = _overlapping(model, employee, client, at)
    rules.access_may_open(
        email=employee.email, hub_id=client.hub_id, what=what, overlapping=overlapping
    )
    row = model(employee=employee, client=client, start=at)
    _save(row, actor)
    _changed(at, f"{employee.email} {what} {client.hub_id}")
    return row


def _close(
    model: type[_Access],
    employee: Employee,
    client: ClientAccount,
    at: datetime,
    actor: Actor,
    what: str,
) -> _Access:
    _lock_partner(employee.partner_id)
    row = model.objects.filter(employee=employee, client=client, end__isnull=True).first()
    start = row.start if row is not None else None
    rules.access_may_close(email=employee.email, hub_id=client.hub_id, what=what, start=start)
    assert row is not None  # access_may_close refuses when there is no open row
    rules.access_may_end(email=employee.email, start=row.start, at=at)
    row.end = at
    row.ended_by = actor
    _save(row, actor)
    _changed(at, f"{employee.email} no longer {what} {client.hub_id}")
    return row


@transaction.atomic
def client_assign(
    *, employee: Employee, client: ClientAccount, at: datetime, actor: Actor = None
) -> Assignment:
    """Step 2: assign the client to the employee in the partner account."""
    return _open(Assignment, employee, client, at, actor, "is assigned")


@transaction.atomic
def client_unassign(
    *, employee: Employee, client: ClientAccount, at: datetime, actor: Actor = None
) -> Assignment:
    """Delayed end: the employee's later activities in the client stop counting."""
    return _close(Assignment, employee, client, at, actor, "assigned to")


@transaction.atomic
def seat_add(
    *, employee: Employee, client: ClientAccount, at: datetime, actor: Actor = None
) -> Seat:
    """Step 3: the employee becomes a user in the client's account."""
    return _open(Seat, employee, client, at, actor, "has a seat in")


@transaction.atomic
def seat_remove(
    *, employee: Employee, client: ClientAccount, at: datetime, actor: Actor = None
) -> Seat:
    """Remove one seat; removing the partner's last seat in the client ends credit at once."""
    seat = _close(Seat, employee, client, at, actor, "seated in")
    if not open_seats(partner=employee.partner, client=client).exists():
        _save(
            RelationshipEnd(
                partner=employee.partner,
                client=client,
                at=at,
                reason=RelationshipEnd.Reason.LAST_SEAT_REMOVED,
                actor=actor,
            ),
            actor,
        )
    return seat


def open_seats(*, partner: Partner, client: ClientAccount) -> QuerySet[Seat]:
    """The partner's seats in the client that have not been removed."""
    return Seat.objects.filter(employee__partner=partner, client=client, end__isnull=True)


def open_assignments(*, partner: Partner, client: ClientAccount) -> QuerySet[Assignment]:
    """The partner's assignments of the client that have not been ended."""
    return Assignment.objects.filter(employee__partner=partner, client=client, end__isnull=True)


def partners_with_access(*, client: ClientAccount) -> QuerySet[Partner]:
    """The partners with an open assignment or seat in the client: whose relationship can end."""
    assigned = Assignment.objects.filter(client=client, end__isnull=True)
    seated = Seat.objects.filter(client=client, end__isnull=True)
    return Partner.objects.filter(
        Q(pk__in=assigned.values("employee__partner"))
        | Q(pk__in=seated.values("employee__partner"))
    )


def last_seat_of(*, seats: Iterable[Seat]) -> list[tuple[Partner, ClientAccount]]:
    """The (partner, client) pairs whose last open seat is among `seats`: removing them ends credit."""
    chosen: dict[tuple[int, int], set[int]] = {}
    pairs: dict[tuple[int, int], tuple[Partner, ClientAccount]] = {}
    for seat in seats:
        if seat.end is not None:
            continue
        key = (seat.employee.partner_id, seat.client_id)
        chosen.setdefault(key, set()).add(seat.pk)
        pairs[key] = (seat.employee.partner, seat.client)
    return [
        pairs[key]
        for key, ids in chosen.items()
        if not open_seats(partner=pairs[key][0], client=pairs[key][1]).exclude(pk__in=ids).exists()
    ]


def _end_relationship(
    model: type[Assignment] | type[Seat],
    *,
    partner: Partner,
    client: ClientAccount,
    at: datetime,
    actor: Actor,
    reason: str,
    note: str,
) -> int:
    """End every open access row of the partner's in the client at `at`; record the immediate end."""
    partner = _lock_partner(partner.pk)
    if actor is not None and not is_program_staff(actor):
        own = partner_of(actor)
        if own is None or own.pk != partner.pk:
            raise PermissionDenied(_("You may end only your own partner's relationships."))
    has_access = partners_with_access(client=client).filter(pk=partner.pk).exists()
    rules.relationship_may_end(partner_key=partner.key, hub_id=client.hub_id, has_access=has_access)
    ended = 0
    rows = model.objects.filter(employee__partner=partner, client=client, end__isnull=True)
    for row in rows.select_related("employee"):
        rules.access_may_end(email=row.employee.email, start=row.start, at=at)
        row.end = at
        row.ended_by = actor
        _save(row, actor)
        ended += 1
    end = RelationshipEnd(
        partner=partner, client=client, at=at, reason=reason, note=note, actor=actor
    )
    _save(end, actor)
    _changed(at, f"{end.get_reason_display()}: partner {partner.key} in {client.hub_id}")
    return ended


@transaction.atomic
def client_remove_all_employees(
    *, partner: Partner, client: ClientAccount, at: datetime, actor: Actor = None, note: str = ""
) -> int:
    """ "Remove all partner employees from this client account": one action, immediate end."""
    return _end_relationship(
        Seat,
        partner=partner,
        client=client,
        at=at,
        actor=actor,
        reason=RelationshipEnd.Reason.ALL_EMPLOYEES_REMOVED,
        note=note,
    )


@transaction.atomic
def services_end(
    *, partner: Partner, client: ClientAccount, at: datetime, actor: Actor = None, note: str = ""
) -> int:
    """The partner ends services for the client: unassign it from everyone, end at once."""
    return _end_relationship(
        Assignment,
        partner=partner,
        client=client,
        at=at,
        actor=actor,
        reason=RelationshipEnd.Reason.SERVICES_ENDED,
        note=note,
    )


# --- access requests (SPEC §1, revision 2) ------------------------------------------------------

ACCESS_REQUEST_ANSWER = gettext_lazy(
    "Your request for access to client account {hub_id} is recorded. Program staff review "
    "every request; once approved, the client shows in your client list."
)


@transaction.atomic
def access_request(
    *, partner: Partner, hub_id: str, at: datetime, actor: Actor = None, note: str = ""
) -> AccessRequest:
    """A partner asks for access to a client by hub id.

    Never looks the hub id up: the answer (and the work done) is the same whether or not such
    a client exists, so a request cannot probe for other partners' clients. Asking again while
    a request is pending returns that request.
    """
    hub_id = validate_key(hub_id.strip(), "Hub id")
    partner = _lock_partner(partner.pk)
    if partner.left_at is not None:
        raise ValidationError(
            _("Partner %(partner)s has left the program.") % {"partner": partner.key}
        )
    pending = AccessRequest.objects.filter(
        partner=partner, hub_id=hub_id, status=AccessRequest.Status.PENDING
    ).first()
    if pending is not None:
        return pending
    request = AccessRequest(
        partner=partner, hub_id=hub_id, note=note, requested_by=actor, requested_at=at
    )
    _save(request, actor)
    transaction.on_commit(lambda: _tell_staff(request))
    return request


def _tell_staff(request: AccessRequest) -> None:
    """E-mail the program admins that a request waits (the admin queue is the record)."""
    recipients = list(
        User.objects.filter(groups__name=PROGRAM_ADMINS, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(
            subject=f"partnercredit: {request.partner.key} asks for access to {request.hub_id}",
            message=f"{request}. Review it in the admin under Access requests.",
            from_email=None,
            recipient_list=recipients,
            fail_silently=True,
        )


@transaction.atomic
def access_request_decide(
    *, request: AccessRequest, approve: bool, at: datetime, actor: Actor = None
) -> AccessRequest:
    """Program staff approve or refuse a pending request; approving needs the client to exist."""
    request = AccessRequest.objects.select_for_update().select_related("partner").get(pk=request.pk)
    if request.status != AccessRequest.Status.PENDING:
        raise ValidationError(
            _("The request of %(partner)s for %(hub_id)s was already %(status)s.")
            % {
                "partner": request.partner.key,
                "hub_id": request.hub_id,
                "status": request.get_status_display().lower(),
            }
        )
    if approve and not ClientAccount.objects.filter(hub_id=request.hub_id).exists():
        raise ValidationError(
            _("No client account has hub id %(hub_id)s: add it first, or refuse.")
            % {"hub_id": request.hub_id}
        )
    request.status = AccessRequest.Status.APPROVED if approve else AccessRequest.Status.REFUSED
    request.decided_by = actor
    request.decided_at = at
    _save(request, actor)
    return request
