"""Every row an import creates or changes, written in bulk at the end, with its audit history.

`add` and `change` are called where the services would `save()`; each call also records what
django-simple-history would have recorded for that save (a `+` or `~` record of the row as it
was then, by the acting user), so the audit trail is the same as row-by-row saving gives.
"""

from collections import defaultdict
from datetime import datetime

from django.db.models import ForeignKey, Model

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
from credits.models import Deal, ImportedEvent

# In the order they are written: every row after the rows it refers to.
ORDER: list[type[Model]] = [Partner, ClientAccount, Employee, ClientMRR, EmployeeSpell,
                            Assignment, Seat, RelationshipEnd, Deal, ImportedEvent]  # fmt: skip
BATCH = 5000


class Journal:
    def __init__(self, *, actor: Actor, now: datetime) -> None:
        self.actor, self.now = actor, now
        self.new: dict[type[Model], list[Model]] = defaultdict(list)
        self.changed: dict[type[Model], dict[int, Model]] = defaultdict(dict)  # by id()
        self.fields: dict[type[Model], set[str]] = defaultdict(set)
        self.history: dict[type[Model], list[tuple[Model, str, list]]] = defaultdict(list)

    def add(self, obj: Model) -> None:
        """A new row (its history: `+`)."""
        for field in obj._meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                setattr(obj, field.attname, self.now)  # as its save() would
        self.new[type(obj)].append(obj)
        self._record(obj, "+")

    def change(self, obj: Model, *fields: str) -> None:
        """`fields` of `obj` were just set (its history: `~`)."""
        model = type(obj)
        if obj.pk is not None:  # a row read from the database: updated at the end
            self.changed[model][id(obj)] = obj
            self.fields[model].update(fields)
        self._record(obj, "~")

    def _record(self, obj: Model, kind: str) -> None:
        history = getattr(type(obj), "history", None)
        if history is None:
            return
        values = []
        for field in history.model.tracked_fields:
            value = getattr(obj, field.attname)
            if value is None and isinstance(field, ForeignKey) and field.is_cached(obj):
                value = field.get_cached_value(obj)  # a new row: its id is known at the end
            values.append(value)
        self.history[history.model].append((obj, kind, values))

    def write(self) -> None:
        """Create the new rows, update the changed ones, then write their history."""
        for model in ORDER:
            if self.new.get(model):
                model.objects.bulk_create(self.new.pop(model), batch_size=BATCH)
            if self.changed.get(model):
                rows = list(self.changed.pop(model).values())
                model.objects.bulk_update(rows, sorted(self.fields[model]), batch_size=BATCH)
        for historical, records in self.history.items():
            historical.objects.bulk_create(
                [self._historical(historical, *record) for record in records], batch_size=BATCH
            )
        self.history.clear()

    def _historical(self, historical: type[Model], obj: Model, kind: str, values: list) -> Model:
        attrs = {
            field.attname: value.pk if isinstance(value, Model) else value
            for field, value in zip(historical.tracked_fields, values, strict=True)
        }
        attrs[obj._meta.pk.attname] = obj.pk
        return historical(
            history_date=self.now,
            history_type=kind,
            history_user=self.actor,
            history_change_reason=None,
            **attrs,
        )
