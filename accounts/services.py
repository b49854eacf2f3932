"""Every change to partners, employees, clients and access (STYLE §4).

The admin, the importer and the tests all call these. Each takes the moment it happens (`at`)
so that history can be replayed, and the acting user for the audit trail. Access is
effective-dated: ending an assignment or seat sets its `end`, nothing is deleted.
"""

from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Model, Q, QuerySet

from accounts import rules
from accounts.models import (
    Assignment,
    ClientAccount,
    ClientMRR,
    Employee,
    EmployeeSpell,
    Partner,
    RelationshipEnd,
    Seat,
)
from credits.staleness import mark_stale
from partnercredit.days import program_day

Actor = AbstractBaseUser | None


def _save(obj: Model, actor: Actor) -> None:
    """Save, attributing the history record to `actor` (the request user when there is one)."""
    if actor is not None:
        obj._history_user = actor  # read by django-simple-history
    obj.save()


def _changed(at: datetime) -> None:
    mark_stale(since=program_day(at))


@transaction.atomic
def partner_join(*, key: str, name: str = "", at: datetime, actor: Actor = None) -> Partner:
    """A partner joins the program, or rejoins after leaving."""
    partner = Partner.objects.filter(key=key).first()
    if partner is None:
        partner = Partner(key=key, name=name or key, joined_at=at)
    else:
        rules.partner_may_join(key=key, in_program=partner.left_at is None)
        partner.left_at = None
        partner.joined_at = at
        partner.name = name or partner.name
    _save(partner, actor)
    return partner


@transaction.atomic
def partner_leave(*, partner: Partner, at: datetime, actor: Actor = None, note: str = "") -> None:
    """The partner leaves: every relationship ends at once and every employee is deactivated."""
    rules.partner_may_leave(key=partner.key, has_left=partner.left_at is not None)
    partner.left_at = at
    _save(partner, actor)
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
    _changed(at)


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
    _changed(at)
    return employee


@transaction.atomic
def employee_deactivate(*, employee: Employee, at: datetime, actor: Actor = None) -> Employee:
    """Delayed end (SPEC §3.4): their activities stop counting; relationships run out."""
    spell = employee.spells.filter(end__isnull=True).first()
    start = spell.start if spell is not None else None
    rules.employee_may_deactivate(
        email=employee.email, is_active=employee.is_active, spell_start=start, at=at
    )
    spell.end = at
    spell.save(update_fields=["end"])
    employee.is_active = False
    employee.deactivated_at = at
    _save(employee, actor)
    _changed(at)
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
    _changed(at)
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
    rules.mrr_may_be(hub_id=client.hub_id, amount=amount)
    currency = (currency or client.currency).upper()
    if currency != client.currency:
        client.currency = currency
        _save(client, actor)
    mrr = ClientMRR(client=client, effective_at=at, amount=amount, currency=currency)
    _save(mrr, actor)
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


def _open(model: type[Assignment] | type[Seat], employee: Employee, client: ClientAccount,
          at: datetime, actor: Actor, what: str) -> Assignment | Seat:  # fmt: skip
    partner = employee.partner
    rules.partner_in_program(key=partner.key, has_left=partner.left_at is not None)
    overlapping = _overlapping(model, employee, client, at)
    rules.access_may_open(
        email=employee.email, hub_id=client.hub_id, what=what, overlapping=overlapping
    )
    row = model(employee=employee, client=client, start=at)
    _save(row, actor)
    _changed(at)
    return row


def _close(model: type[Assignment] | type[Seat], employee: Employee, client: ClientAccount,
           at: datetime, actor: Actor, what: str) -> Assignment | Seat:  # fmt: skip
    row = model.objects.filter(employee=employee, client=client, end__isnull=True).first()
    start = row.start if row is not None else None
    rules.access_may_close(email=employee.email, hub_id=client.hub_id, what=what, start=start)
    rules.access_may_end(email=employee.email, start=row.start, at=at)
    row.end = at
    row.ended_by = actor
    _save(row, actor)
    _changed(at)
    return row


@transaction.atomic
def client_assign(*, employee: Employee, client: ClientAccount, at: datetime,
                  actor: Actor = None) -> Assignment:  # fmt: skip
    """Step 2: assign the client to the employee in the partner account."""
    return _open(Assignment, employee, client, at, actor, "is assigned")


@transaction.atomic
def client_unassign(*, employee: Employee, client: ClientAccount, at: datetime,
                    actor: Actor = None) -> Assignment:  # fmt: skip
    """Delayed end: the employee's later activities in the client stop counting."""
    return _close(Assignment, employee, client, at, actor, "assigned to")


@transaction.atomic
def seat_add(*, employee: Employee, client: ClientAccount, at: datetime,
             actor: Actor = None) -> Seat:  # fmt: skip
    """Step 3: the employee becomes a user in the client's account."""
    return _open(Seat, employee, client, at, actor, "has a seat in")


@transaction.atomic
def seat_remove(*, employee: Employee, client: ClientAccount, at: datetime,
                actor: Actor = None) -> Seat:  # fmt: skip
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


def open_seats(*, partner: Partner, client: ClientAccount):  # noqa: ANN201
    """The partner's seats in the client that have not been removed."""
    return Seat.objects.filter(employee__partner=partner, client=client, end__isnull=True)


def _end_relationship(
    rows: QuerySet, *, partner: Partner, client: ClientAccount, at: datetime, actor: Actor,
    reason: str, note: str,
) -> int:  # fmt: skip
    """End every open access row in `rows` at `at`, and record the immediate end."""
    ended = 0
    for row in rows.filter(end__isnull=True).select_related("employee"):
        rules.access_may_end(email=row.employee.email, start=row.start, at=at)
        row.end = at
        row.ended_by = actor
        _save(row, actor)
        ended += 1
    end = RelationshipEnd(
        partner=partner, client=client, at=at, reason=reason, note=note, actor=actor
    )
    _save(end, actor)
    _changed(at)
    return ended


@transaction.atomic
def client_remove_all_employees(*, partner: Partner, client: ClientAccount, at: datetime,
                                actor: Actor = None, note: str = "") -> int:  # fmt: skip
    """ "Remove all partner employees from this client account": one action, immediate end."""
    return _end_relationship(
        open_seats(partner=partner, client=client), partner=partner, client=client, at=at,
        actor=actor, reason=RelationshipEnd.Reason.ALL_EMPLOYEES_REMOVED, note=note,
    )  # fmt: skip


@transaction.atomic
def services_end(*, partner: Partner, client: ClientAccount, at: datetime, actor: Actor = None,
                 note: str = "") -> int:  # fmt: skip
    """The partner ends services for the client: unassign it from everyone, end at once."""
    return _end_relationship(
        Assignment.objects.filter(employee__partner=partner, client=client), partner=partner,
        client=client, at=at, actor=actor, reason=RelationshipEnd.Reason.SERVICES_ENDED, note=note,
    )  # fmt: skip
