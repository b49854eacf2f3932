"""Every row an import creates or changes, written in bulk at the end, with its audit history.

`add` and `change` are called where the services would `save()`; each call also records what
django-simple-history would have recorded for that save (a `+` or `~` record of the row as it
was then, by the acting user), so the audit trail is the same as row-by-row saving gives.

A new row gets its id when it is added (from the table's sequence, a block at a time), so rows
that refer to it can be built before anything is written. PostgreSQL then writes each table with
one COPY; SQLite with executemany.
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any

from django.db.models import Model

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
from accounts.services import Actor
from credits.importing.copying import Table, ids_take
from credits.importing.rows import instance
from credits.models import Deal, ImportedEvent

# In the order they are written: every row after the rows it refers to.
ORDER: list[type[Model]] = [
    Partner,
    PartnerSpell,
    ClientAccount,
    Employee,
    ClientMRR,
    EmployeeSpell,
    Assignment,
    Seat,
    RelationshipEnd,
    Deal,
]
HISTORY_TAIL = ("history_date", "history_type", "history_user", "history_change_reason")


@cache
def historical_model(model: type[Model]) -> type[Model] | None:
    """The django-simple-history model of `model` (None: it keeps no history)."""
    manager = getattr(model, "history", None)
    return None if manager is None else manager.model


@cache
def _tracked(model: type[Model]) -> tuple[str, ...]:
    """The attnames of the row that its history records."""
    historical = historical_model(model)
    return tuple(f.attname for f in getattr(historical, "tracked_fields", ()))


@cache
def _snapshot(model: type[Model]) -> Callable[[Any], tuple] | None:
    """The tracked values of a row, as a tuple (None: the model keeps no history)."""
    tracked = _tracked(model)
    return attrgetter(*tracked) if tracked else None


class Journal:
    def __init__(self, *, actor: Actor, now: datetime, expected: Counter | None = None) -> None:
        """`expected`: at most how many rows of each model the import will add."""
        self.actor, self.now = actor, now
        self.expected: Counter[type[Model]] = expected or Counter()
        self.actor_id = None if actor is None else actor.pk
        self.free: dict[type[Model], list[int]] = defaultdict(list)
        self.taken: dict[str, int] = {}
        self.added: Counter[type[Model]] = Counter()  # new rows so far: the next block's size
        self.new: dict[type[Model], list[Any]] = defaultdict(list)
        self.changed: dict[type[Model], dict[int, Any]] = defaultdict(dict)  # by id
        self.fields: dict[type[Model], set[str]] = defaultdict(set)
        self.history: dict[type[Model], list[tuple]] = defaultdict(list)
        self.imported: list[tuple[str, str, datetime, datetime]] = []
        self.written: Counter[str] = Counter()  # rows by table

    def add(self, row: Any) -> None:
        """A new row (its history: `+`): it gets its id now."""
        model = row.model
        free = self.free[model]
        if not free:
            wanted = max(self.expected[model] - self.added[model], 4 * self.added[model])
            free.extend(reversed(ids_take(model, wanted, self.taken)))
        self.added[model] += 1
        row.id = free.pop()
        for attname in _auto_now(model):
            setattr(row, attname, self.now)  # as its save() would
        self.new[model].append(row)
        self._record(row, "+")

    def change(self, row: Any, *fields: str) -> None:
        """`fields` of `row` were just set (its history: `~`)."""
        if not row.new:  # a row read from the database: updated at the end
            self.changed[row.model][row.id] = row
            self.fields[row.model].update(fields)
        self._record(row, "~")

    def event_imported(self, fingerprint: str, event: str, at: datetime) -> None:
        self.imported.append((fingerprint, event, at, self.now))

    def _record(self, row: Any, kind: str) -> None:
        snapshot = _snapshot(row.model)
        if snapshot is not None:
            self.history[row.model].append((*snapshot(row), self.now, kind, self.actor_id, None))

    def write(self) -> None:
        """Create the new rows, update the changed ones, then write their history."""
        for model in ORDER:
            rows = self.new.pop(model, [])
            if rows:
                self._write(Table.of(model), [row.values() for row in rows])
            for row in rows:
                row.new = False
            if model in self.changed:
                changed = [instance(row) for row in self.changed.pop(model).values()]
                fields = sorted(self.fields.pop(model))
                model._default_manager.bulk_update(changed, fields, batch_size=2000)
        self._write(Table.of(ImportedEvent, skip_pk=True), self.imported)
        self.imported = []
        for model, records in self.history.items():
            historical = historical_model(model)
            self._write(Table.of(historical, columns=(*_tracked(model), *HISTORY_TAIL)), records)
        self.history.clear()

    def _write(self, table: Table, rows: list[tuple]) -> None:
        if rows:
            self.written[table.model._meta.db_table] += table.write(rows)


@cache
def _auto_now(model: type[Model]) -> tuple[str, ...]:
    fields = model._meta.concrete_fields
    return tuple(
        f.attname for f in fields if getattr(f, "auto_now", 0) or getattr(f, "auto_now_add", 0)
    )
