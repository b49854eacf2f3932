"""The in-memory model of the program that the event rows of one import change.

Loaded at the start from the rows the file names (its partners with all their employees and
open spells, its clients with their access rows), then changed row by row in memory; the
`Journal` remembers every new and changed row for the bulk write at the end.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice

from django.db.models import Q

from accounts.models import Assignment, ClientAccount, Employee, EmployeeSpell, Partner, Seat

Access = type[Assignment] | type[Seat]
EmployeeKey = tuple[str, str]  # (partner key, e-mail)
CHUNK = 2000  # values per IN list


class World:
    """Partners by key, employees by (key, e-mail), clients by hub id, and their access."""

    def __init__(self) -> None:
        self.partners: dict[str, Partner] = {}
        self.employees: dict[EmployeeKey, Employee] = {}
        self.staff: dict[str, list[Employee]] = defaultdict(list)  # by partner key
        self.spells: dict[EmployeeKey, EmployeeSpell] = {}  # the open active spells
        self.clients: dict[str, ClientAccount] = {}
        # Open access rows by (model, partner key, hub id), then by e-mail.
        self.open: dict[tuple[Access, str, str], dict[str, Assignment | Seat]] = defaultdict(dict)
        # (start, end) of closed access rows that end after the file's first moment.
        self.closed: dict[tuple[Access, EmployeeKey, str], list[tuple[datetime, datetime]]] = (
            defaultdict(list)
        )

    @classmethod
    def load(cls, *, partners: set[str], clients: set[str], since: datetime | None) -> "World":
        """The rows an import of these partner keys and hub ids may read or change."""
        world = cls()
        for partner in _chunked(Partner.objects.filter, "key__in", partners):
            world.partners[partner.key] = partner
        world._load_employees()
        for client in _chunked(ClientAccount.objects.filter, "hub_id__in", clients):
            world.clients[client.hub_id] = client
        if since is not None:
            for model in (Assignment, Seat):
                world._load_access(model, since)
        return world

    def _load_employees(self) -> None:
        by_id = {partner.pk: partner for partner in self.partners.values()}
        for employee in _chunked(Employee.objects.filter, "partner_id__in", set(by_id)):
            employee.partner = by_id[employee.partner_id]
            self.employee_put(employee)
        employees = {e.pk: e for e in self.employees.values()}
        open_spells = EmployeeSpell.objects.filter(end__isnull=True).filter
        for spell in _chunked(open_spells, "employee_id__in", set(employees)):
            employee = employees[spell.employee_id]
            spell.employee = employee
            self.spells[(employee.partner.key, employee.email)] = spell

    def _load_access(self, model: Access, since: datetime) -> None:
        employees = {e.pk: e for e in self.employees.values()}
        clients = {c.pk: c for c in self.clients.values()}
        rows = model.objects.filter(Q(end__isnull=True) | Q(end__gt=since)).filter
        for row in _chunked(rows, "client_id__in", set(clients)):
            employee = employees.get(row.employee_id)
            if employee is None:
                continue  # another partner's
            row.employee, row.client = employee, clients[row.client_id]
            key = employee.partner.key
            if row.end is None:
                self.open[(model, key, row.client.hub_id)][employee.email] = row
            else:
                self.closed[(model, (key, employee.email), row.client.hub_id)].append(
                    (row.start, row.end)
                )

    def employee_put(self, employee: Employee) -> None:
        key = employee.partner.key
        self.employees[(key, employee.email)] = employee
        self.staff[key].append(employee)

    def overlapping(self, model: Access, employee: Employee, hub_id: str, at: datetime) -> bool:
        """An open row, or a closed one that covers `at` (as `accounts.services._overlapping`)."""
        key = employee.partner.key
        if employee.email in self.open.get((model, key, hub_id), ()):
            return True
        closed = self.closed.get((model, (key, employee.email), hub_id), ())
        return any(start <= at < end for start, end in closed)


def _chunked(filter_, lookup: str, values: Iterable) -> Iterator:  # noqa: ANN001
    """The rows of `filter_(**{lookup: chunk})` for every chunk of `values`."""
    iterator = iter(sorted(values))
    while chunk := list(islice(iterator, CHUNK)):
        yield from filter_(**{lookup: chunk})
