"""How the reports write numbers: two decimals, a real minus sign, and never "−0.00"."""

from decimal import Decimal

from django import template

register = template.Library()

MINUS = "\u2212"


@register.filter
def signed(value: Decimal | int | None) -> str:
    """+1.50, −2.00, and 0.00 for any zero (also Decimal('-0.00'))."""
    if value is None:
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"))
    if amount == 0:
        return "0.00"
    return f"+{amount}" if amount > 0 else f"{MINUS}{-amount}"


@register.filter
def amount(value: Decimal | int | None) -> str:
    """1.50, −2.00, and 0.00 for any zero."""
    if value is None:
        return ""
    quantized = Decimal(value).quantize(Decimal("0.01"))
    if quantized == 0:
        return "0.00"
    return f"{quantized}" if quantized > 0 else f"{MINUS}{-quantized}"


@register.filter
def loss(value: Decimal | int | None) -> str:
    """A loss written as a change: 7 → −7.00; nothing lost → 0.00."""
    return "" if value is None else signed(-Decimal(value))
