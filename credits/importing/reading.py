"""Reading an events file: lines, the header, and the values of one row (SPEC §4).

The file is read as bytes and decoded line by line, so that a non-UTF-8 byte or an
over-long line becomes an error naming its line instead of aborting the whole read.
"""

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError

from credits.importing import messages
from partnercredit.iso import COUNTRIES, CURRENCIES
from partnercredit.validators import validate_amount, validate_key

COLUMNS = (
    "at",
    "event",
    "partner",
    "employee",
    "client",
    "name",
    "role",
    "country",
    "currency",
    "amount",
    "tool",
    "action",
    "kind",
    "ref",
)
ACCESS = ("partner", "employee", "client")
NEEDS: dict[str, tuple[str, ...]] = {
    "partner_joined": ("partner",),
    "partner_left": ("partner",),
    "employee_added": ("partner", "employee"),
    "employee_deactivated": ("partner", "employee"),
    "employee_reactivated": ("partner", "employee"),
    "client_added": ("client", "name", "country", "currency", "amount"),
    "mrr_changed": ("client", "amount"),
    "client_assigned": ACCESS,
    "client_unassigned": ACCESS,
    "seat_added": ACCESS,
    "seat_removed": ACCESS,
    "all_employees_removed": ("partner", "client"),
    "services_ended": ("partner", "client"),
    "activity": ("partner", "employee", "client", "tool", "action"),
    "deal_closed": ("partner", "client", "amount", "currency", "kind"),
}
ROLES = ("employee", "partner_admin", "client_access_manager")
KINDS = ("sourced", "assisted")
# Longest line accepted; longer ones are skipped unread and reported (a 10 MB line is an error,
# not a memory spike). Fields may be as long as a line.
MAX_LINE_BYTES = 1 << 20
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))

_AMOUNT = re.compile(r"-?\d{1,15}(?:\.\d{1,2})?", re.ASCII)  # ASCII: no full-width digits
MOMENT_FORM = "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][±HH:MM]"
MOMENT = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:?\d\d)?)?", re.ASCII
)


class RowError(Exception):
    """One bad row: the column at fault and why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


class FileError(Exception):
    """The file as a whole cannot be imported (no header, unknown columns)."""

    def __init__(self, line: int, column: str, reason: str) -> None:
        super().__init__(messages.line(line, column, reason))
        self.line, self.column, self.reason = line, column, reason


class Lines:
    """The decoded lines of a binary file, remembering which lines could not be read.

    Read in blocks and decoded a block at a time (fast); a block that is not UTF-8, or that
    holds an over-long line, is redone line by line to name the culprit.
    """

    BLOCK = 1 << 18

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.number = 0  # lines yielded so far
        self.bad: dict[int, RowError] = {}

    def __iter__(self) -> Iterator[str]:
        read, carry, skipping = self.raw.read, b"", False
        while True:
            block = read(self.BLOCK)
            data = carry + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if not data:
                return
            if cut == 0:  # no line end yet
                if len(data) > MAX_LINE_BYTES and not skipping:
                    self._bad(self.number + 1, "line", messages.line_too_long(MAX_LINE_BYTES))
                    self.number += 1
                    skipping = True
                    yield "\n"
                carry = b"" if skipping else data
                continue
            complete, carry = data[:cut], data[cut:]
            if skipping:  # the rest of an over-long line
                end = complete.find(b"\n")
                if end < 0:
                    return  # it ran to the end of the file
                skipping = False
                complete = complete[end + 1 :]
            if self.number == 0 and complete.startswith(b"\xef\xbb\xbf"):
                complete = complete[3:]
            try:
                if len(complete) > MAX_LINE_BYTES:
                    raise ValueError  # may hold an over-long line: check one by one
                text = complete.decode()
            except ValueError:
                yield from self._one_by_one(complete)
                continue
            self.number += text.count("\n") + (not text.endswith("\n"))
            yield from io.StringIO(text, newline="\n")

    def _one_by_one(self, complete: bytes) -> Iterator[str]:
        pieces = [piece + b"\n" for piece in complete.split(b"\n")]
        pieces[-1] = pieces[-1][:-1]
        for data in pieces:
            if not data:
                continue
            self.number += 1
            if len(data) > MAX_LINE_BYTES:
                self._bad(self.number, "line", messages.line_too_long(MAX_LINE_BYTES))
                yield "\n"
                continue
            try:
                yield data.decode()
            except UnicodeDecodeError as exc:
                byte = data[exc.start]
                self._bad(self.number, "encoding", messages.not_utf8(byte, exc.start + 1))
                yield "\n"

    def _bad(self, number: int, column: str, reason: str) -> None:
        self.bad[number] = RowError(column, reason)


@dataclass(slots=True)
class EventRow:
    """A checked non-activity row: its moment, event, values (stripped, normalised) and ref."""

    line: int
    at: datetime
    event: str
    values: dict[str, str]
    amount: Decimal | None
    ref: str


@dataclass
class Header:
    index: dict[str, int]
    width: int


def rows(raw: BinaryIO) -> Iterator[tuple[int, list[str] | RowError]]:
    """(line number, fields) for the header and every non-blank record, or a RowError."""
    lines = Lines(raw)
    reader = csv.reader(lines, strict=True)
    last = 0  # the line numbers are csv's count of the lines it took from `lines`
    while True:
        fields: list[str] | RowError
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            fields = RowError("row", messages.not_csv(str(exc)))
        start, last = last + 1, reader.line_num
        if lines.bad:
            bad = [n for n in lines.bad if start <= n <= last]
            if bad:
                error = lines.bad[bad[0]]
                for n in bad:
                    del lines.bad[n]
                yield bad[0], error
                continue
        if fields:
            yield start, fields


def header_read(fields: list[str] | RowError | None) -> Header:
    if fields is None:
        raise FileError(1, "header", messages.empty_file())
    if isinstance(fields, RowError):
        raise FileError(1, fields.column, fields.reason)
    names = [name.strip().lower() for name in fields]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise FileError(1, "header", messages.unknown_columns(unknown, COLUMNS))
    dupes = sorted({name for name in names if names.count(name) > 1})
    if dupes:
        raise FileError(1, "header", messages.repeated_columns(dupes))
    for required in ("at", "event"):
        if required not in names:
            raise FileError(1, "header", messages.missing_column(required))
    return Header(index={name: i for i, name in enumerate(names)}, width=len(names))


def at_parse(text: str, tz: tzinfo) -> datetime:
    """ISO calendar date or datetime; naive means program time (what make_aware does for zoneinfo).

    Only the calendar form `YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|±HH:MM]` (a week date such as
    `2026-W47-1` is refused), and only moments that exist in UTC and in program time.
    """
    value = _moment_read(text)
    aware = value.replace(tzinfo=tz) if value.tzinfo is None else value
    in_range(aware, tz, text)
    return aware


def _moment_read(text: str) -> datetime:
    if not MOMENT.fullmatch(text):
        raise RowError("at", messages.bad_moment(text, messages.expected_moment(MOMENT_FORM)))
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise RowError("at", messages.bad_moment(text, str(exc))) from None


def in_range(aware: datetime, tz: tzinfo, text: str) -> datetime:
    """`aware` in program time; a RowError when it or its UTC form is beyond year 9999."""
    try:
        aware.astimezone(UTC)
        return aware.astimezone(tz)
    except OverflowError:
        raise RowError("at", messages.bad_moment(text, messages.out_of_range())) from None


def amount_parse(text: str, column: str = "amount") -> Decimal:
    """A decimal with `.` and at most two decimals, ASCII digits, no thousands separator; not
    negative and at most `MAX_AMOUNT` (`partnercredit.validators`)."""
    text = text.strip()
    if not _AMOUNT.fullmatch(text):
        raise RowError(column, messages.not_a_decimal(text))
    value = Decimal(text)
    if value < 0:
        raise RowError(column, messages.negative(text))
    return _valid(validate_amount, value, column)


def key_parse(text: str, column: str) -> str:
    """A new partner key or hub id: `partnercredit.validators.KEY_PATTERN`."""
    return _valid(validate_key, text, column)


def _valid(validator: Callable, value: object, column: str) -> Any:
    try:
        return validator(value, column)
    except ValidationError as exc:
        raise RowError(column, "; ".join(exc.messages)) from None


def currency_parse(text: str) -> str:
    code = text.strip().upper()
    if code not in CURRENCIES:
        raise RowError("currency", messages.not_a_currency(text))
    return code


def country_parse(text: str) -> str:
    code = text.strip().upper()
    if code not in COUNTRIES:
        raise RowError("country", messages.not_a_country(text))
    return code


def choice_parse(text: str, column: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise RowError(column, messages.not_a_choice(text, choices))
    return value


def text_check(value: str, column: str, max_length: int) -> str:
    if len(value) > max_length:
        raise RowError(column, messages.too_long(max_length))
    if "\x00" in value:
        raise RowError(column, messages.nul())
    return value
