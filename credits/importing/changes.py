"""What each event row changes, in memory: the access services' rules on the `World`.

One function per event, each the in-memory twin of its service in `accounts.services`: the
same checks (`accounts.rules`, so the same refusals), the same rows created or changed, the same
history, through the `Journal`. Every check runs before the first change, so a refused row
leaves the world as it was (the services get that from a savepoint).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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
from accounts.services import Actor
from credits.importing import messages
from credits.importing.journal import Journal
from credits.importing.reading import EventRow, RowError
from credits.importing.world import Access, World
from credits.models import Deal
from partnercredit.days import program_day

Values = dict[str, str]


@dataclass
class Changes:
    """The world an import changes, the journal of its writes, and who acts."""

    world: World
    journal: Journal
    actor: Actor

    def apply(self, row: EventRow) -> None:
        """Apply one checked row; raises RowError or ValidationError (nothing changed then)."""
        EVENTS[row.event](self, row)

    # Look-ups, as the event rows name their rows.

    def partner(self, values: Values) -> Partner:
        partner = self.world.partners.get(values["partner"])
        if partner is None:
            raise RowError("partner", messages.unknown_partner(values["partner"]))
        return partner

    def employee(self, values: Values) -> Employee:
        partner = self.partner(values)
        employee = self.world.employees.get((partner.key, values["employee"]))
        if employee is None:
            raise RowError("employee", messages.unknown_employee(values["employee"], partner.key))
        return employee

    def client(self, values: Values) -> ClientAccount:
        client = self.world.clients.get(values["client"])
        if client is None:
            raise RowError("client", messages.unknown_client(values["client"]))
        return client

    # Changes shared by several events.

    def set(self, obj: object, **fields: object) -> None:
        for name, value in fields.items():
            setattr(obj, name, value)
        self.journal.change(obj, *fields)

    def deactivate(self, employee: Employee, at: datetime) -> None:
        """Checked before: the employee is active, with an open spell started by `at`."""
        spell = self.world.spells.pop((employee.partner.key, employee.email))
        spell.end = at
        self.journal.change(spell, "end")
        self.set(employee, is_active=False, deactivated_at=at)

    def end_access(self, row: Assignment | Seat, at: datetime) -> None:
        employee = row.employee
        del self.world.open[(type(row), employee.partner.key, row.client.hub_id)][employee.email]
        self.set(row, end=at, ended_by=self.actor)

    def relationship_end(self, partner: Partner, client: ClientAccount | None, at: datetime,
                         reason: str) -> None:  # fmt: skip
        end = RelationshipEnd(partner=partner, client=client, at=at, reason=reason,
                              note="", actor=self.actor)  # fmt: skip
        self.journal.add(end)


def partner_joined(changes: Changes, row: EventRow) -> None:
    values, at = row.values, row.at
    key, name = values["partner"], values.get("name", "")
    partner = changes.world.partners.get(key)
    if partner is None:
        partner = Partner(key=key, name=name or key, joined_at=at)
        changes.world.partners[key] = partner
        changes.journal.add(partner)
        return
    rules.partner_may_join(key=key, in_program=partner.left_at is None)
    changes.set(partner, left_at=None, joined_at=at, name=name or partner.name)


def partner_left(changes: Changes, row: EventRow) -> None:
    values, at = row.values, row.at
    partner = changes.partner(values)
    rules.partner_may_leave(key=partner.key, has_left=partner.left_at is not None)
    leaving = [e for e in changes.world.staff[partner.key] if e.is_active]
    for employee in leaving:
        _may_deactivate(changes, employee, at)
    changes.set(partner, left_at=at)
    for employee in leaving:
        changes.deactivate(employee, at)
    changes.relationship_end(partner, None, at, RelationshipEnd.Reason.PARTNER_LEFT)


def _may_deactivate(changes: Changes, employee: Employee, at: datetime) -> None:
    spell = changes.world.spells.get((employee.partner.key, employee.email))
    start = spell.start if spell is not None else None
    rules.employee_may_deactivate(
        email=employee.email, is_active=employee.is_active, spell_start=start, at=at
    )


def employee_added(changes: Changes, row: EventRow) -> None:
    values, at = row.values, row.at
    partner = changes.partner(values)
    rules.partner_in_program(key=partner.key, has_left=partner.left_at is not None)
    email, role = values["employee"], values.get("role", "employee")
    exists = (partner.key, email) in changes.world.employees
    rules.employee_may_be_added(email=email, partner_key=partner.key, exists=exists)
    employee = Employee(
        partner=partner,
        email=email,
        name=values.get("name", ""),
        role=Employee.Role.EMPLOYEE if role == "client_access_manager" else role,
        is_client_access_manager=role == "client_access_manager",
    )
    employee.full_clean(exclude=["user", "partner"], validate_unique=False,
                        validate_constraints=False)  # fmt: skip
    changes.world.employee_put(employee)
    changes.journal.add(employee)
    spell = EmployeeSpell(employee=employee, start=at)
    changes.world.spells[(partner.key, email)] = spell
    changes.journal.add(spell)


def employee_deactivated(changes: Changes, row: EventRow) -> None:
    values, at = row.values, row.at
    employee = changes.employee(values)
    _may_deactivate(changes, employee, at)
    changes.deactivate(employee, at)


def employee_reactivated(changes: Changes, row: EventRow) -> None:
    values, at = row.values, row.at
    employee = changes.employee(values)
    partner = employee.partner
    rules.employee_may_reactivate(email=employee.email, is_active=employee.is_active,
                                  partner_key=partner.key,
                                  partner_left=partner.left_at is not None)  # fmt: skip
    spell = EmployeeSpell(employee=employee, start=at)
    changes.world.spells[(partner.key, employee.email)] = spell
    changes.journal.add(spell)
    changes.set(employee, is_active=True, deactivated_at=None)


def client_added(changes: Changes, row: EventRow) -> None:
    values = row.values
    hub_id = values["client"]
    rules.client_may_be_added(hub_id=hub_id, exists=hub_id in changes.world.clients)
    client = ClientAccount(hub_id=hub_id, name=values["name"], country=values["country"],
                           currency=values["currency"])  # fmt: skip
    client.full_clean(validate_unique=False)
    changes.world.clients[hub_id] = client
    changes.journal.add(client)
    _mrr(changes, client, row)


def mrr_changed(changes: Changes, row: EventRow) -> None:
    _mrr(changes, changes.client(row.values), row)


def _mrr(changes: Changes, client: ClientAccount, row: EventRow) -> None:
    values, at = row.values, row.at
    amount = row.amount
    rules.mrr_may_be(hub_id=client.hub_id, amount=amount)
    currency = values.get("currency") or client.currency
    if currency != client.currency:
        changes.set(client, currency=currency)
    changes.journal.add(ClientMRR(client=client, effective_at=at, amount=amount,
                                  currency=currency))  # fmt: skip


def _opener(model: Access, what: str) -> Callable:
    def open_access(changes: Changes, row: EventRow) -> None:
        values, at = row.values, row.at
        employee, client = changes.employee(values), changes.client(values)
        partner = employee.partner
        rules.partner_in_program(key=partner.key, has_left=partner.left_at is not None)
        overlapping = changes.world.overlapping(model, employee, client.hub_id, at)
        rules.access_may_open(email=employee.email, hub_id=client.hub_id, what=what,
                              overlapping=overlapping)  # fmt: skip
        row = model(employee=employee, client=client, start=at)
        changes.world.open[(model, partner.key, client.hub_id)][employee.email] = row
        changes.journal.add(row)

    return open_access


def _closer(model: Access, what: str) -> Callable:
    def close_access(changes: Changes, row: EventRow) -> Access:
        values, at = row.values, row.at
        employee, client = changes.employee(values), changes.client(values)
        row = changes.world.open.get((model, employee.partner.key, client.hub_id), {}).get(
            employee.email
        )
        start = row.start if row is not None else None
        rules.access_may_close(email=employee.email, hub_id=client.hub_id, what=what,
                               start=start)  # fmt: skip
        rules.access_may_end(email=employee.email, start=row.start, at=at)
        changes.end_access(row, at)
        return row

    return close_access


_seat_close = _closer(Seat, "seated in")


def seat_removed(changes: Changes, row: EventRow) -> None:
    """Removing the partner's last seat in the client ends credit at once."""
    seat = _seat_close(changes, row)
    partner, client = seat.employee.partner, seat.client
    if not changes.world.open.get((Seat, partner.key, client.hub_id)):
        changes.relationship_end(partner, client, row.at, RelationshipEnd.Reason.LAST_SEAT_REMOVED)


def _ender(model: Access, reason: str) -> Callable:
    """End every open row of `model` of the partner in the client, and record the end."""

    def end_relationship(changes: Changes, row: EventRow) -> None:
        values, at = row.values, row.at
        partner, client = changes.partner(values), changes.client(values)
        rows = list(changes.world.open.get((model, partner.key, client.hub_id), {}).values())
        for row in rows:
            rules.access_may_end(email=row.employee.email, start=row.start, at=at)
        for row in rows:
            changes.end_access(row, at)
        changes.relationship_end(partner, client, at, reason)

    return end_relationship


def deal_closed(changes: Changes, row: EventRow) -> None:
    values, at = row.values, row.at
    deal = Deal(partner=changes.partner(values), client=changes.client(values),
                closed_on=program_day(at), amount=row.amount,
                currency=values["currency"], kind=values["kind"], ref=row.ref)  # fmt: skip
    deal.full_clean(exclude=["partner", "client"], validate_unique=False,
                    validate_constraints=False)  # fmt: skip
    changes.journal.add(deal)


EVENTS: dict[str, Callable[[Changes, EventRow], object]] = {
    "partner_joined": partner_joined,
    "partner_left": partner_left,
    "employee_added": employee_added,
    "employee_deactivated": employee_deactivated,
    "employee_reactivated": employee_reactivated,
    "client_added": client_added,
    "mrr_changed": mrr_changed,
    "client_assigned": _opener(Assignment, "is assigned"),
    "client_unassigned": _closer(Assignment, "assigned to"),
    "seat_added": _opener(Seat, "has a seat in"),
    "seat_removed": seat_removed,
    "all_employees_removed": _ender(Seat, RelationshipEnd.Reason.ALL_EMPLOYEES_REMOVED),
    "services_ended": _ender(Assignment, RelationshipEnd.Reason.SERVICES_ENDED),
    "deal_closed": deal_closed,
}
