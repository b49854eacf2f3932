"""The one definition of a valid key and a valid amount, used at every entry point (issue 18).

Keys: partner keys (the partner portal id) and client hub ids share one pattern,
`KEY_PATTERN`: 1–32 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or a digit.
So a key never holds a `/` (it is a URL path segment), a control character or a space, and never
starts with a character a spreadsheet reads as a formula (`= + - @`).

Amounts: MRR and deal amounts are non-negative, have at most two decimals, are written with
ASCII digits only (a full-width `１２３` is refused, not read as 123) and are at most
`MAX_AMOUNT`. Together with `MAX_POINTS_PER_UNIT` and `MAX_MULTIPLIER` that bounds the engine's
integer SQL: in hundredths, 2 × share × points-per-unit × multiplier
≤ 2 × 99,999,999,999 × 10,000 × 1,000 ≈ 2.0 × 10^18 < 2^63 − 1 ≈ 9.2 × 10^18 (bigint).
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

KEY_MAX_LENGTH = 32
KEY_REGEX = r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}"
KEY_PATTERN = re.compile(rf"\A{KEY_REGEX}\Z", re.ASCII)
KEY_RULE = gettext_lazy("1–32 letters, digits, '-', '_' or '.', starting with a letter or a digit")
# The names the entry points give `field`, translated in the messages.
FIELD_NAMES = [
    gettext_noop("Partner key"),
    gettext_noop("Hub id"),
    gettext_noop("Deal amount"),
    gettext_noop("key"),
    gettext_noop("amount"),
]

MAX_AMOUNT = Decimal("999999999.99")
MAX_POINTS_PER_UNIT = Decimal("100")
MAX_MULTIPLIER = Decimal("10")
MAX_CURRENCY_UNIT = MAX_AMOUNT

_AMOUNT_TEXT = re.compile(r"\A[0-9]+(\.[0-9]+)?\Z", re.ASCII)


def is_valid_key(value: object) -> bool:
    return isinstance(value, str) and KEY_PATTERN.match(value) is not None


def validate_key(value: object, field: str = "key") -> str:
    """The key itself if it matches `KEY_PATTERN`; a ValidationError naming `field` if not."""
    if not is_valid_key(value):
        shown = repr(value)[:40]
        raise ValidationError(
            _("%(field)s %(value)s is not valid: use %(rule)s.")
            % {"field": _(field), "value": shown, "rule": KEY_RULE},
            code="invalid_key",
        )
    return str(value)


def _as_decimal(value: object, field: str) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(_must_be_a_number(field), code="invalid_amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(
                _("%(field)s must be a finite number.") % {"field": _(field)}, code="invalid_amount"
            )
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _AMOUNT_TEXT.match(text):
            raise ValidationError(
                _(
                    "%(field)s %(value)s is not an amount: use ASCII digits and an optional "
                    "'.' with at most two decimals, e.g. 1250.00."
                )
                % {"field": _(field), "value": f"{value!r:.40}"},
                code="invalid_amount",
            )
        try:
            return Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
            raise ValidationError(
                _("%(field)s is not a number.") % {"field": _(field)}, code="invalid_amount"
            ) from exc
    raise ValidationError(_must_be_a_number(field), code="invalid_amount")


def _must_be_a_number(field: str) -> str:
    return _("%(field)s must be a number.") % {"field": _(field)}


def validate_bounded(
    value: object, field: str, *, maximum: Decimal, minimum: Decimal = Decimal(0)
) -> Decimal:
    """A Decimal in [minimum, maximum] with at most two decimals, else a ValidationError."""
    amount = _as_decimal(value, field)
    if amount < minimum:
        if minimum == 0:
            message = _("%(field)s cannot be negative (%(amount)s).")
        else:
            message = _("%(field)s cannot be below %(minimum)s (%(amount)s).")
        values = {"field": _(field), "amount": amount, "minimum": minimum}
        raise ValidationError(message % values, code="out_of_range")
    if amount > maximum:
        raise ValidationError(
            _("%(field)s %(amount)s is too large: at most %(maximum)s.")
            % {"field": _(field), "amount": amount, "maximum": f"{maximum:,}"},
            code="out_of_range",
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(
            _("%(field)s %(amount)s has more than two decimals.")
            % {"field": _(field), "amount": amount},
            code="too_many_decimals",
        )
    return amount.quantize(Decimal("0.01"))


def validate_amount(value: object, field: str = "amount") -> Decimal:
    """An MRR or deal amount: 0 ≤ value ≤ `MAX_AMOUNT`, two decimals, ASCII digits only."""
    return validate_bounded(value, field, maximum=MAX_AMOUNT)


def validate_points_per_unit(value: object, field: str = "points per unit") -> Decimal:
    return validate_bounded(value, field, maximum=MAX_POINTS_PER_UNIT)


def validate_multiplier(value: object, field: str = "multiplier") -> Decimal:
    return validate_bounded(value, field, maximum=MAX_MULTIPLIER)


def validate_currency_unit(value: object, field: str = "currency unit") -> Decimal:
    return validate_bounded(value, field, maximum=MAX_CURRENCY_UNIT, minimum=Decimal("0.01"))


# Django model/form field validators (they take one argument and return nothing).


def key_validator(value: object) -> None:
    validate_key(value, "key")


def amount_validator(value: object) -> None:
    validate_amount(value, "amount")


def points_per_unit_validator(value: object) -> None:
    validate_points_per_unit(value)


def multiplier_validator(value: object) -> None:
    validate_multiplier(value)


class AsciiDecimalField(forms.DecimalField):
    """A form's decimal whose text is checked first, so full-width digits are refused."""

    # django-stubs give forms.DecimalField the to_python of IntegerField (-> int | None).
    def to_python(self, value: object) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str) and value.strip() and not value.strip().isascii():
            raise ValidationError(
                _("%(field)s must be written with ASCII digits 0-9.")
                % {"field": self.label or _("The amount")},
                code="invalid_amount",
            )
        return super().to_python(value)


class AmountFormField(AsciiDecimalField):
    """A form's MRR or deal amount: 0 … `MAX_AMOUNT`, two decimals, ASCII digits."""

    def __init__(self, *, maximum: Decimal = MAX_AMOUNT, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_value", maximum)
        super().__init__(**kwargs)


class KeyFormField(forms.CharField):
    """A form's partner key or hub id, checked against `KEY_PATTERN`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", KEY_MAX_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value: object) -> str:
        text: str = super().clean(value)
        if text in self.empty_values:
            return text
        return validate_key(text, str(self.label or "key"))


class KeyPathConverter:
    """A partner key or hub id as one URL path segment (`<key:…>` in the URL patterns).

    Valid keys (`KEY_PATTERN`) appear as they are. A key stored before validation existed
    may hold a `/` or other characters: it is percent-encoded, so `reverse()` never fails and
    the page never answers 500 because of its name. A segment that decodes to a control
    character is not a key: 404, never a database lookup (PostgreSQL refuses NUL in text).
    """

    regex = r"[^/\x00-\x1f\x7f]+"

    def to_python(self, value: str) -> str:
        key = unquote(value)
        if _CONTROL.search(key):
            raise ValueError("not a key")
        return key

    def to_url(self, value: str) -> str:
        return value if is_valid_key(value) else quote(value, safe="")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
