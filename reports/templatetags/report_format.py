"""How the reports write numbers: two decimals, a real minus sign, and never "−0.00"."""

from decimal import Decimal

from django import template

register = template.Library()

MINUS = "\u2212"


def _hundredths(value: Decimal | int) -> Decimal:
    """Two decimals, and any zero (also Decimal('-0.00')) as 0.00."""
    return Decimal(value).quantize(Decimal("0.01")) + 0


@register.filter
def signed(value: Decimal | int | None) -> str:
    """+1.50, −2.00, and 0.00 for any zero."""
    if value is None:
        return ""
    number = _hundredths(value)
    return "0.00" if number == 0 else f"+{number}" if number > 0 else f"{MINUS}{-number}"


@register.filter
def amount(value: Decimal | int | None) -> str:
    """1.50, −2.00, and 0.00 for any zero."""
    if value is None:
        return ""
    number = _hundredths(value)
    return f"{number}" if number >= 0 else f"{MINUS}{-number}"


@register.filter
def loss(value: Decimal | int | None) -> str:
    """A loss written as a change: 7 → −7.00; nothing lost → 0.00."""
    return "" if value is None else signed(-Decimal(value))
