"""CSV and XLSX downloads of report tables; text that looks like a formula is neutralised."""

import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from partnercredit import csvsafe
from reports.queries import StandingRow

STANDINGS_HEADER = [
    "date",
    "partner",
    "name",
    "managed_points",
    "sold_points",
    "total_points",
    "tier",
    "next_tier",
    "points_to_next_tier",
    "binding_minimum",
    "change_30_days",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def standings_table(day: date, rows: Iterable[StandingRow]) -> list[list[object]]:
    """One list per row: dates as ISO text, points as Decimal, empty for missing values."""
    return [
        [
            day.isoformat(),
            row.partner.key,
            row.partner.name,
            row.standing.managed_points,
            row.standing.sold_points,
            row.standing.total_points,
            row.standing.tier,
            row.next.tier.name if row.next.tier else "",
            "" if row.next.points_needed is None else row.next.points_needed,
            row.next.binding,
            "" if row.change is None else row.change,
        ]
        for row in rows
    ]


def csv_response(filename: str, header: Sequence[str], table: list[list[object]]) -> HttpResponse:
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(header)
    writer.writerows(table)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _xlsx_cell(sheet: Any, value: object) -> object:
    """Text is written as a typed string cell: never a formula, and no apostrophe shows."""
    if not isinstance(value, str):
        return value
    text = WriteOnlyCell(sheet, value=None)
    text.value = value
    text.data_type = "s"
    return text


def xlsx_response(filename: str, header: Sequence[str], table: list[list[object]]) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("report")
    sheet.append(list(header))
    for row in table:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
