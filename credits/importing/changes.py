"""What each event row changes, in memory: the access services' rules on the `World`.

One function per event, each the in-memory twin of its service in `accounts.services`: the
same checks (`accounts.rules`, so the same refusals), the same rows created or changed, the same
history, through the `Journal`. Every check of a row runs before its first change, so a refused
row leaves the world as it was (the services get that from a savepoint).
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
    PartnerSpell,
    RelationshipEnd,
    Seat,
)
from credits.importing import messages
from credits.importing.journal import Journal
from credits.importing.reading import EventRow, RowError
from credits.importing.rows import clean, new_row
from credits.importing.world import Access, EmployeeKey, Row, World
from credits.models import Deal
from partnercredit.days import program_day


@dataclass
class Changes:
    """The world an import changes, and the journal of its writes."""

    world: World
    journal: Journal

    def apply(self, row: EventRow) -> None:
        """Apply one checked row; raises RowError or ValidationError (nothing changed then)."""
        EVENTS[row.event](self, row)

    # Look-ups, as the event rows name their rows.

    def partner(self, row: EventRow) -> Row:
        partner = self.world.partners.get(row.values["partner"])
        if partner is None:
            raise RowError("partner", messages.unknown_partner(row.values["partner"]))
        return partner

    def employee(self, row: EventRow) -> tuple[Row, EmployeeKey]:
        key = (self.partner(row).key, row.values["employee"])
        employee = self.world.employees.get(key)
        if employee is None:
            raise RowError("employee", messages.unknown_employee(key[1], key[0]))
        return employee, key

    def client(self, row: EventRow) -> Row:
        client = self.world.clients.get(row.values["client"])
        if client is None:
            raise RowError("client", messages.unknown_client(row.values["client"]))
        return client

    # Changes shared by several events.

    def set(self, record: Row, **fields: object) -> None:
        for name, value in fields.items():
            setattr(record, name, value)
        self.journal.change(record, *fields)

    def deactivate(self, employee: Row, key: EmployeeKey, at: datetime) -> None:
        """Checked before: the employee is active, with an open spell started by `at`."""
        self.set(self.world.spells.pop(key), end=at)
        self.set(employee, is_active=False, deactivated_at=at)

    def end_access(self, model: Access, key: EmployeeKey, hub_id: str, at: datetime) -> None:
        record = self.world.open[(model, key[0], hub_id)].pop(key[1])
        self.set(record, end=at, ended_by_id=self.journal.actor_id)

    def relationship_end(self, partner: Row, client: Row | None, at: datetime, reason: str) -> None:
        self.journal.add(
            new_row(
                RelationshipEnd,
                partner_id=partner.id,
                at=at,
                reason=reason,
                client_id=client and client.id,
                actor_id=self.journal.actor_id,
            )
        )

    def may_deactivate(self, employee: Row, key: EmployeeKey, at: datetime) -> None:
        spell = self.world.spells.get(key)
        start = spell.start if spell is not None else None
        rules.employee_may_deactivate(
            email=employee.email, is_active=employee.is_active, spell_start=start, at=at
        )

    def spell_open(self, employee: Row, key: EmployeeKey, at: datetime) -> None:
        spell = new_row(EmployeeSpell, employee_id=employee.id, start=at)
        self.world.spells[key] = spell
        self.journal.add(spell)


def partner_joined(changes: Changes, row: EventRow) -> None:
    """A partner joins the program, or rejoins after leaving: a new membership spell."""
    key, name = row.values["partner"], row.values.get("name", "")
    partner = changes.world.partners.get(key)
    if partner is None:
        partner = new_row(Partner, key=key, name=name or key, joined_at=row.at)
        changes.journal.add(partner)
        changes.world.partner_put(partner)
    else:
        rules.partner_may_join(key=key, left_at=partner.left_at, at=row.at)
        changes.set(partner, left_at=None, joined_at=row.at, name=name or partner.name)
    spell = new_row(PartnerSpell, partner_id=partner.id, start=row.at)
    changes.journal.add(spell)
    changes.world.partner_spells[key] = spell


def partner_left(changes: Changes, row: EventRow) -> None:
    """Every relationship ends at once, the spell ends and every employee is deactivated."""
    partner, at = changes.partner(row), row.at
    rules.partner_may_leave(
        key=partner.key, has_left=partner.left_at is not None, joined_at=partner.joined_at, at=at
    )
    leaving = [e for e in changes.world.staff[partner.key] if e.is_active]
    for employee in leaving:
        changes.may_deactivate(employee, (partner.key, employee.email), at)
    changes.set(partner, left_at=at)
    spell = changes.world.partner_spells.pop(partner.key, None)
    if spell is not None:
        changes.set(spell, end=at)
    for employee in leaving:
        changes.deactivate(employee, (partner.key, employee.email), at)
    changes.relationship_end(partner, None, at, RelationshipEnd.Reason.PARTNER_LEFT)


def employee_added(changes: Changes, row: EventRow) -> None:
    partner, values = changes.partner(row), row.values
    rules.partner_in_program(key=partner.key, has_left=partner.left_at is not None)
    key, role = (partner.key, values["employee"]), values.get("role", "employee")
    rules.employee_may_be_added(
        email=key[1], partner_key=key[0], exists=key in changes.world.employees
    )
    employee = new_row(
        Employee,
        partner_id=partner.id,
        email=key[1],
        name=values.get("name", ""),
        role=Employee.Role.EMPLOYEE if role == "client_access_manager" else role,
        is_client_access_manager=role == "client_access_manager",
    )
    clean(employee)
    changes.journal.add(employee)
    changes.world.employee_put(employee)
    changes.spell_open(employee, key, row.at)


def employee_deactivated(changes: Changes, row: EventRow) -> None:
    """Delayed end (SPEC §3.4): their activities stop counting; relationships run out."""
    employee, key = changes.employee(row)
    changes.may_deactivate(employee, key, row.at)
    changes.deactivate(employee, key, row.at)


def employee_reactivated(changes: Changes, row: EventRow) -> None:
    employee, key = changes.employee(row)
    partner = changes.world.partners[key[0]]
    rules.employee_may_reactivate(
        email=employee.email,
        is_active=employee.is_active,
        partner_key=partner.key,
        partner_left=partner.left_at is not None,
    )
    changes.spell_open(employee, key, row.at)
    changes.set(employee, is_active=True, deactivated_at=None)


def client_added(changes: Changes, row: EventRow) -> None:
    values, hub_id = row.values, row.values["client"]
    rules.client_may_be_added(hub_id=hub_id, exists=hub_id in changes.world.clients)
    client = new_row(
        ClientAccount,
        hub_id=hub_id,
        name=values["name"],
        country=values["country"],
        currency=values["currency"],
    )
    clean(client)
    changes.journal.add(client)
    changes.world.clients[hub_id] = client
    _mrr(changes, client, row)


def mrr_changed(changes: Changes, row: EventRow) -> None:
    _mrr(changes, changes.client(row), row)


def _mrr(changes: Changes, client: Row, row: EventRow) -> None:
    currency = row.values.get("currency") or client.currency
    if currency != client.currency:
        changes.set(client, currency=currency)
    changes.journal.add(
        new_row(
            ClientMRR,
            client_id=client.id,
            effective_at=row.at,
            amount=row.amount,
            currency=currency,
        )
    )


def _opener(model: Access, what: str) -> Callable[[Changes, EventRow], None]:
    def open_access(changes: Changes, row: EventRow) -> None:
        (employee, key), client = changes.employee(row), changes.client(row)
        partner = changes.world.partners[key[0]]
        rules.partner_in_program(key=partner.key, has_left=partner.left_at is not None)
        overlapping = changes.world.overlapping(model, key, client.hub_id, row.at)
        rules.access_may_open(
            email=key[1], hub_id=client.hub_id, what=what, overlapping=overlapping
        )
        access = new_row(model, employee_id=employee.id, client_id=client.id, start=row.at)
        changes.journal.add(access)
        changes.world.open[(model, key[0], client.hub_id)][key[1]] = access

    return open_access


def _closer(model: Access, what: str) -> Callable[[Changes, EventRow], tuple]:
    def close_access(changes: Changes, row: EventRow) -> tuple[EmployeeKey, Row]:
        (_employee, key), client = changes.employee(row), changes.client(row)
        access = changes.world.open.get((model, key[0], client.hub_id), {}).get(key[1])
        rules.access_may_close(
            email=key[1], hub_id=client.hub_id, what=what, start=access and access.start
        )
        assert access is not None  # access_may_close refused the row otherwise
        rules.access_may_end(email=key[1], start=access.start, at=row.at)
        changes.end_access(model, key, client.hub_id, row.at)
        return key, client

    return close_access


_seat_close = _closer(Seat, "seated in")


def seat_removed(changes: Changes, row: EventRow) -> None:
    """Removing the partner's last seat in the client ends credit at once."""
    key, client = _seat_close(changes, row)
    if not changes.world.open.get((Seat, key[0], client.hub_id)):
        partner = changes.world.partners[key[0]]
        changes.relationship_end(partner, client, row.at, RelationshipEnd.Reason.LAST_SEAT_REMOVED)


def _ender(model: Access, reason: str) -> Callable[[Changes, EventRow], None]:
    """End every open row of `model` of the partner in the client, and record the end."""

    def end_relationship(changes: Changes, row: EventRow) -> None:
        partner, client = changes.partner(row), changes.client(row)
        opened = changes.world.open
        has_access = any(opened.get((m, partner.key, client.hub_id)) for m in (Assignment, Seat))
        rules.relationship_may_end(
            partner_key=partner.key, hub_id=client.hub_id, has_access=has_access
        )
        emails = list(opened.get((model, partner.key, client.hub_id), {}).items())
        for email, access in emails:
            rules.access_may_end(email=email, start=access.start, at=row.at)
        for email, _access in emails:
            changes.end_access(model, (partner.key, email), client.hub_id, row.at)
        changes.relationship_end(partner, client, row.at, reason)

    return end_relationship


def deal_closed(changes: Changes, row: EventRow) -> None:
    """A closed deal; it earns sold points for the sold-credit window (SPEC §3.8)."""
    deal = new_row(
        Deal,
        partner_id=changes.partner(row).id,
        client_id=changes.client(row).id,
        closed_on=program_day(row.at),
        amount=row.amount,
        currency=row.values["currency"],
        kind=row.values["kind"],
        ref=row.ref,
    )
    clean(deal)
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
