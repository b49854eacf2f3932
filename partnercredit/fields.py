"""Exact money and points: stored as integer hundredths, handled in Python as Decimal.

Integers keep SQL arithmetic exact on both PostgreSQL and SQLite (SQLite has no decimal type),
so the credit engine can split and convert in the database without floats.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Combinable, Expression
from django.utils.translation import gettext as _

from partnercredit.validators import AsciiDecimalField

HUNDREDTH = Decimal("0.01")


def to_hundredths(value: Decimal | int | str) -> int:
    """Decimal → integer hundredths; refuses values with more than two decimals."""
    amount = Decimal(value)
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValidationError(_("%(value)s has more than two decimals.") % {"value": value})
    return int(scaled)


def from_hundredths(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(HUNDREDTH)


class Hundredths(models.BigIntegerField):
    """A Decimal with two places, stored as a BigInteger of hundredths."""

    # For django-stubs: set as a number or an expression, read as a Decimal. The stubs type an
    # integer field's values as int; narrowing them in a subclass is how the stubs' own
    # NullBooleanField does it, hence the ignores.
    _pyi_private_set_type: Decimal | int | str | Combinable  # type: ignore[assignment]
    _pyi_private_get_type: Decimal  # type: ignore[assignment]
    _pyi_lookup_exact_type: Decimal | int | str  # type: ignore[assignment]

    def from_db_value(
        self, value: int | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Decimal | None:
        return None if value is None else from_hundredths(value)

    def to_python(self, value: object) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return Decimal(str(value)).quantize(HUNDREDTH)
        except ArithmeticError as exc:
            raise ValidationError(
                _("%(value)s is not a decimal number.") % {"value": repr(value)}
            ) from exc

    def get_prep_value(self, value: Decimal | int | str | None) -> int | None:
        if value is None:
            return None
        return to_hundredths(value)

    def formfield(self, **kwargs: Any) -> AsciiDecimalField:
        return AsciiDecimalField(max_digits=17, decimal_places=2, required=not self.blank, **kwargs)


def unchecked_key(
    to: type[models.Model], *, on_delete: Any, related_name: str = "+", null: bool = False
) -> "models.ForeignKey[Any, Any]":
    """A foreign key the database neither checks nor indexes, for the tables written in bulk
    (activities, counted days, credit lines): their writers take the ids from existing rows,
    their reads go through composite indexes, and every check and index costs each row."""
    return models.ForeignKey(
        to,
        on_delete=on_delete,
        related_name=related_name,
        null=null,
        db_index=False,
        db_constraint=False,
    )
