"""Light rows: the import's in-memory copy of a table row.

A slotted record with one attribute per column (the model's attnames: `partner_id`, not
`partner`) and the model's defaults: building one costs a tenth of a model instance, which
matters for the hundreds of thousands of rows a program's file creates. `clean` runs the
model's own field validation on it, as `full_clean` would.
"""

from dataclasses import field, make_dataclass
from functools import cache
from operator import attrgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model


@cache
def row_class(model: type[Model]) -> Any:
    """The record class of `model`: its columns, then `new` (not in the database yet)."""
    columns = [
        (f.attname, Any, field(default=None if f.primary_key else f.get_default()))
        for f in model._meta.concrete_fields
    ]
    cls: Any = make_dataclass(
        f"{model.__name__}Row", [*columns, ("new", bool, field(default=True))], slots=True, eq=False
    )
    attnames = tuple(name for name, _type, _default in columns)
    getter = attrgetter(*attnames)
    cls.model = model
    cls.attnames = attnames
    cls.values = lambda self: getter(self)  # the row as a tuple, in column order
    return cls


def new_row(model: type[Model], **values: Any) -> Any:
    return row_class(model)(**values)


def clean(row: Any, *, exclude: tuple[str, ...] = ()) -> None:
    """Validate and normalise the row's fields as `Model.clean_fields` does; foreign keys and
    the primary key are the import's own (it knows they exist), so they are not checked."""
    errors: dict[str, list] = {}
    for f in row.model._meta.concrete_fields:
        if f.primary_key or f.is_relation or f.name in exclude:
            continue
        raw = getattr(row, f.attname)
        if f.blank and raw in f.empty_values:
            continue
        try:
            setattr(row, f.attname, f.clean(raw, None))
        except ValidationError as exc:
            errors[f.name] = exc.error_list
    if errors:
        raise ValidationError(errors)


def instance(row: Any) -> Model:
    """A model instance with the row's values (for the few rows updated in place)."""
    obj = row.model(*row.values())
    obj._state.adding = False
    return obj
