"""The in-memory model of the program that the event rows of one import change.

Loaded at the start from the rows the file names (its partners with all their employees and
open spells, its clients with their access rows), as light rows (`rows.row_class`), then changed
row by row in memory; the `Journal` remembers every new and changed row for the bulk write.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.db.models import Model, Q, QuerySet

from accounts.models import (
    Assignment,
    ClientAccount,
    Employee,
    EmployeeSpell,
    Partner,
    PartnerSpell,
    Seat,
)
from credits.importing.rows import row_class

Access = type[Assignment] | type[Seat]
Row = Any  # a light row of some table
EmployeeKey = tuple[str, str]  # (partner key, e-mail)
CHUNK = 2000  # values per IN list


class World:
    """Partners by key, employees by (key, e-mail), clients by hub id, and their access."""

    def __init__(self) -> None:
        self.partners: dict[str, Row] = {}
        self.partner_keys: dict[int, str] = {}  # by partner id
        self.partner_spells: dict[str, Row] = {}  # the open membership spells, by key
        self.employees: dict[EmployeeKey, Row] = {}
        self.staff: dict[str, list[Row]] = defaultdict(list)  # by partner key
        self.spells: dict[EmployeeKey, Row] = {}  # the open active spells
        self.clients: dict[str, Row] = {}
        # Open access rows by (model, partner key, hub id), then by e-mail.
        self.open: dict[tuple[Access, str, str], dict[str, Row]] = defaultdict(dict)
        # (start, end) of closed access rows that end after the file's first moment.
        self.closed: dict[tuple[Access, EmployeeKey, str], list[tuple[datetime, datetime]]] = (
            defaultdict(list)
        )

    @classmethod
    def load(cls, *, partners: set[str], clients: set[str], since: datetime | None) -> "World":
        """The rows an import of these partner keys and hub ids may read or change."""
        world = cls()
        for partner in _rows(Partner, Partner.objects.all(), "key", partners):
            world.partner_put(partner)
        open_spells = PartnerSpell.objects.filter(end__isnull=True)
        for spell in _rows(PartnerSpell, open_spells, "partner_id", set(world.partner_keys)):
            world.partner_spells[world.partner_keys[spell.partner_id]] = spell
        world._load_employees()
        for client in _rows(ClientAccount, ClientAccount.objects.all(), "hub_id", clients):
            world.clients[client.hub_id] = client
        if since is not None:
            for model in (Assignment, Seat):
                world._load_access(model, since)
        return world

    def _load_employees(self) -> None:
        ids = set(self.partner_keys)
        for employee in _rows(Employee, Employee.objects.all(), "partner_id", ids):
            self.employee_put(employee)
        by_id = {e.id: (self.partner_keys[e.partner_id], e.email) for e in self.employees.values()}
        spells = EmployeeSpell.objects.filter(end__isnull=True)
        for spell in _rows(EmployeeSpell, spells, "employee_id", set(by_id)):
            self.spells[by_id[spell.employee_id]] = spell

    def _load_access(self, model: Access, since: datetime) -> None:
        employees = {
            e.id: (self.partner_keys[e.partner_id], e.email) for e in self.employees.values()
        }
        hubs = {c.id: c.hub_id for c in self.clients.values()}
        rows = model.objects.filter(Q(end__isnull=True) | Q(end__gt=since))
        for row in _rows(model, rows, "client_id", set(hubs)):
            key = employees.get(row.employee_id)
            if key is None:
                continue  # another partner's
            if row.end is None:
                self.open[(model, key[0], hubs[row.client_id])][key[1]] = row
            else:
                self.closed[(model, key, hubs[row.client_id])].append((row.start, row.end))

    def partner_put(self, partner: Row) -> None:
        self.partners[partner.key] = partner
        self.partner_keys[partner.id] = partner.key

    def employee_put(self, employee: Row) -> None:
        key = self.partner_keys[employee.partner_id]
        self.employees[(key, employee.email)] = employee
        self.staff[key].append(employee)

    def overlapping(self, model: Access, employee: EmployeeKey, hub_id: str, at: datetime) -> bool:
        """An open row, or a closed one that covers `at` (as `accounts.services._overlapping`)."""
        if employee[1] in self.open.get((model, employee[0], hub_id), ()):
            return True
        closed = self.closed.get((model, employee, hub_id), ())
        return any(start <= at < end for start, end in closed)


def _rows(model: type[Model], queryset: QuerySet, column: str, values: Iterable) -> Iterator[Row]:
    """Light rows of `queryset` whose `column` is one of `values`, read a chunk at a time."""
    cls = row_class(model)
    iterator = iter(sorted(values))
    while chunk := list(islice(iterator, CHUNK)):
        for values_ in queryset.filter(**{f"{column}__in": chunk}).values_list(*cls.attnames):
            yield cls(*values_, new=False)
