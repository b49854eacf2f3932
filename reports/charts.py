"""Server-side SVG charts: no JavaScript, nothing from a CDN."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from credits.models import Standing, Tier

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 60, 110, 16, 36
GREY = "#595959"  # 7:1 against white
SERIES = [
    ("managed_points", gettext_lazy("Managed"), "#417690"),
    ("sold_points", gettext_lazy("Sold"), "#c48a1a"),
    ("total_points", gettext_lazy("Total"), "#2e7d32"),
]


@dataclass(frozen=True)
class _Scale:
    first: date
    last: date
    top: Decimal

    def x(self, day: date) -> float:
        span = max((self.last - self.first).days, 1)
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - self.first).days / span

    def y(self, value: Decimal) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(value / self.top))


def points_chart(standings: list[Standing], tiers: list[Tier]) -> SafeString:
    """Managed, sold and total points over time, with each tier's total-points minimum."""
    if not standings:
        return format_html('<p class="help">{}</p>', _("No computed days to draw."))
    scale, parts = _frame(
        standings, tiers, "points-chart", _("Managed, sold and total points over time")
    )
    for index, (attr, label, colour) in enumerate(SERIES):
        parts.append(
            _polyline(standings, scale, attr, colour, _("%(series)s points") % {"series": label})
        )
        parts.append(_legend(index, str(label), colour))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped


def projection_chart(history: list, ahead: list, tiers: list[Tier], day: date) -> SafeString:
    """Total, managed and sold points: the published history (solid) up to `day` and the
    projection after it (dashed), with each tier's total-points minimum drawn."""
    everything = list(history) + list(ahead)
    if not everything:
        return format_html('<p class="help">{}</p>', _("No computed days to draw."))
    aria_label = _("Points before and after %(day)s: history solid, projection dashed") % {
        "day": f"{day:%Y-%m-%d}"
    }
    scale, parts = _frame(everything, tiers, "projection-chart", aria_label)
    x = scale.x(day)
    parts.append(
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="{GREY}" '
        f'class="today-line"/><text x="{x + 3:.1f}" y="{TOP + 12}" font-size="11" '
        f'fill="{GREY}">{day:%Y-%m-%d}</text>'
    )
    for index, (attr, label, colour) in enumerate(SERIES):
        names = {"label": label}
        parts.append(
            _polyline(
                history, scale, attr, colour, _("%(label)s points (published)") % names, "history"
            )
        )
        if ahead:  # the projection starts where the history ends
            joined = history[-1:] + list(ahead)
            title = _("%(label)s points (projected)") % names
            parts.append(
                _polyline(joined, scale, attr, colour, title, "ahead", ' stroke-dasharray="6 4"')
            )
        parts.append(_legend(index, str(label), colour))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped


def _frame(rows: list, tiers: list[Tier], css_class: str, label: str) -> tuple[_Scale, list[str]]:
    """The scale for `rows` (room for the next tier minimum above them), the SVG's start, its
    axes and the tier minimums as dashed lines."""
    thresholds = [(t.name, t.min_total_points) for t in tiers if t.min_total_points is not None]
    highest = max([s.total_points for s in rows] + [Decimal(1)])
    # Show the next threshold above the data, not every far-away one.
    above = [v for _, v in thresholds if v > highest]
    top = max(highest, min(above) if above else highest) * Decimal("1.1")
    scale = _Scale(rows[0].day, rows[-1].day, top)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" class="{css_class}" '
        f'aria-label="{escape(label)}">',
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}" fill="none" stroke="#ccc"/>',
        *_axes(scale),
    ]
    for name, value in thresholds:
        if value > top:
            continue
        y = scale.y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#999" stroke-dasharray="4 3" class="tier-line"/>'
            f'<text x="{WIDTH - RIGHT + 4}" y="{y + 4:.1f}" font-size="11" fill="{GREY}">'
            f"{escape(name)} {value:g}</text>"
        )
    return scale, parts


def _polyline(
    rows: list, scale: _Scale, attr: str, colour: str, title: str, kind: str = "", dash: str = ""
) -> str:
    points = " ".join(f"{scale.x(s.day):.1f},{scale.y(getattr(s, attr)):.1f}" for s in rows)
    css_class = f"series-{attr} {kind}".strip()
    return (
        f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{points}" '
        f'class="{css_class}"><title>{escape(title)}</title></polyline>'
    )


def _legend(index: int, label: "StrOrPromise", colour: str) -> str:
    return (
        f'<text x="{LEFT + 10 + 90 * index}" y="{HEIGHT - 6}" font-size="12" '
        f'fill="{colour}">■ {escape(label)}</text>'
    )


def _axes(scale: _Scale) -> list[str]:
    bottom = HEIGHT - BOTTOM
    labels = [
        f'<text x="{LEFT - 6}" y="{scale.y(v) + 4:.1f}" font-size="11" text-anchor="end" '
        f'fill="{GREY}">{v:.0f}</text>'
        for v in (Decimal(0), scale.top / 2, scale.top)
    ]
    labels.append(
        f'<text x="{LEFT}" y="{bottom + 14}" font-size="11" fill="{GREY}">{scale.first}</text>'
    )
    labels.append(
        f'<text x="{WIDTH - RIGHT}" y="{bottom + 14}" font-size="11" text-anchor="end" '
        f'fill="{GREY}">{scale.last}</text>'
    )
    return labels
