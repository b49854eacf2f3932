"""Checking activity rows: the context they are checked against and the hot loop.

Rows are checked one by one against in-memory maps of partners, employees and clients (the
`Context`, loaded once before the first row: once a COPY has started the connection can run no
other query). A good row becomes a `Staged` tuple, ready for the writer.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import BinaryIO

from django.utils import timezone

from accounts.models import ClientAccount, Employee, Partner
from accounts.selectors import clients_partner_may_act_in
from credits.importing import messages
from credits.importing.reading import MOMENT, MOMENT_FORM, RowError, header_read, in_range, rows
from credits.importing.report import ImportReport, Progress

PROGRESS_EVERY = 50_000
ALL_LINES = 1 << 62
NEEDED = ("partner", "employee", "client", "tool", "action")
# Longest accepted values (the activity table's columns).
MAX_TOOL, MAX_REF = 40, 200

# line, partner, employee, client, at (ISO with offset), day (ISO), tool, action, ref
Staged = tuple[int, int, int, int, str, str, str, str, str]


@dataclass
class Maps:
    """Partner ids by key, (employee id, partner id) by (key, e-mail), client ids by hub id."""

    partners: dict[str, int]
    employees: dict[tuple[str, str], tuple[int, int]]
    clients: dict[str, int]

    @classmethod
    def load(cls, only_partner: Partner | None = None) -> "Maps":
        """Everyone; for a partner admin's upload, that partner and the clients it may act in."""
        partners, employees = Partner.objects.all(), Employee.objects.all()
        clients = ClientAccount.objects.all()
        if only_partner is not None:
            partners, employees = (
                partners.filter(pk=only_partner.pk),
                employees.filter(partner=only_partner),
            )
            clients = clients_partner_may_act_in(only_partner, clients)
        rows = employees.values_list("partner__key", "email", "id", "partner_id")
        return cls(
            partners=dict(partners.values_list("key", "id")),
            employees={(key, email): (pk, partner) for key, email, pk, partner in rows},
            clients=dict(clients.values_list("hub_id", "id")),
        )


@dataclass
class Context:
    """What every activity row of one import is checked against."""

    tz: tzinfo
    only_partner: Partner | None
    event_refs: dict[str, int]  # refs of the file's event rows, with their line
    progress: Progress | None
    maps: Maps


class Moments:
    """`at` text → (ISO moment with offset, ISO program day), as the COPY wants them.

    A naive moment's offset and day depend only on its date and hour (time zones change offset
    on the hour), so they are computed once per hour: `make_aware` and `isoformat` per row would
    cost more than the rest of the row.
    """

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.hours: dict[str, tuple[str, str]] = {}

    def __call__(self, text: str) -> tuple[str, str]:
        if not MOMENT.fullmatch(text):
            raise RowError("at", messages.bad_moment(text, messages.expected_moment(MOMENT_FORM)))
        try:
            at = datetime.fromisoformat(text)
        except ValueError as exc:
            raise RowError("at", messages.bad_moment(text, str(exc))) from None
        if at.tzinfo is not None:
            local = in_range(at, self.tz, text)
            return local.isoformat(), local.date().isoformat()
        hour = self.hours.get(text[:13]) or self._hour(at, text)
        if len(text) == 19 and text[10] == "T":  # already YYYY-MM-DDTHH:MM:SS
            return text + hour[0], hour[1]
        return at.isoformat() + hour[0], hour[1]

    def _hour(self, at: datetime, text: str) -> tuple[str, str]:
        """(the ISO offset suffix, the ISO day) of a naive program-time moment's hour."""
        aware = timezone.make_aware(at, self.tz)
        in_range(aware, self.tz, text)
        if len(self.hours) > 100_000:
            self.hours.clear()
        hour = aware.isoformat()[len(at.isoformat()) :], at.date().isoformat()
        self.hours[text[:13]] = hour
        return hour


class Checker:
    """The valid activity rows of a file, as `Staged` tuples; bad ones are reported.

    Other rows were counted and checked by the first pass. `last_line` is the line of the last
    row handed out (every row before it has been checked); rows up to `quiet_until` (a second
    reading of the file) are checked without reporting their errors again.
    """

    def __init__(
        self, raw: BinaryIO, report: ImportReport, context: Context, quiet_until: int = 0
    ) -> None:
        self.report, self.context, self.quiet_until = report, context, quiet_until
        self.last_line = 0
        self.moment = Moments(context.tz)
        self.only = context.only_partner.pk if context.only_partner is not None else None
        self._records = rows(raw)
        header = header_read(next(self._records, (1, None))[1])
        self.width = header.width
        self.missing = [column for column in NEEDED if column not in header.index]
        index = {column: header.index.get(column, 0) for column in NEEDED}  # 0: missing
        self.i_at, self.i_event = header.index["at"], header.index["event"]
        self.i_who = (index["partner"], index["employee"], index["client"])
        self.i_what = (index["tool"], index["action"])
        self.i_ref = header.index.get("ref")
        self._rows = self._valid()

    def __iter__(self) -> Iterator[Staged]:
        return self

    def __next__(self) -> Staged:
        try:
            row = next(self._rows)
        except StopIteration:
            self.last_line = ALL_LINES
            raise
        self.last_line = row[0]
        return row

    def _valid(self) -> Iterator[Staged]:
        """The hot loop: each activity row checked, the good ones handed out."""
        report, progress, width, i_event = (
            self.report,
            self.context.progress,
            self.width,
            self.i_event,
        )
        stage = "activities" if not self.quiet_until else "activities, again"
        check, seen = self.check, 0
        for line, fields in self._records:
            seen += 1
            if progress is not None and seen % PROGRESS_EVERY == 0:
                progress(stage, seen, report.rows_read)
            if type(fields) is not list or len(fields) != width:
                continue  # reported by the first pass
            event = fields[i_event]
            if event != "activity" and event.strip() != "activity":
                continue
            try:
                yield check(line, fields)
            except RowError as exc:
                if line > self.quiet_until:
                    report.reject(line, exc.column, exc.reason)

    def check(self, line: int, fields: list[str]) -> Staged:
        """One activity row as a `Staged` tuple; raises RowError."""
        if self.missing:
            raise RowError(self.missing[0], messages.no_column("activity"))
        at, day = self.moment(fields[self.i_at].strip())
        partner_id, employee_id, client_id = self._who(fields)
        tool, action, ref = self._what(fields)
        return line, partner_id, employee_id, client_id, at, day, tool, action, ref

    def _who(self, fields: list[str]) -> tuple[int, int, int]:
        i_partner, i_employee, i_client = self.i_who
        maps = self.context.maps
        key = fields[i_partner].strip()
        partner_id = maps.partners.get(key)  # a partner admin's maps hold only their partner
        if partner_id is None:
            if not key:
                raise RowError("partner", messages.required("activity"))
            if self.only is not None:
                raise RowError("partner", messages.not_your_partner(key))
            raise RowError("partner", messages.unknown_partner(key))
        email = fields[i_employee].strip().lower()
        found = maps.employees.get((key, email))
        if found is None:
            reason = messages.unknown_employee(email, key) if email else None
            raise RowError("employee", reason or messages.required("activity"))
        hub = fields[i_client].strip()
        client_id = maps.clients.get(hub)
        if client_id is None:
            if not hub:
                raise RowError("client", messages.required("activity"))
            unknown = messages.unknown_client if self.only is None else messages.no_client_access
            raise RowError("client", unknown(hub))
        return partner_id, found[0], client_id

    def _what(self, fields: list[str]) -> tuple[str, str, str]:
        """Tool and action lower-cased (SPEC §2), and the ref."""
        i_tool, i_action = self.i_what
        tool = fields[i_tool].strip().lower()
        action = fields[i_action].strip().lower()
        ref = fields[self.i_ref].strip() if self.i_ref is not None else ""
        if not tool or not action:
            raise RowError("tool" if not tool else "action", messages.required("activity"))
        if len(tool) > MAX_TOOL or len(action) > MAX_TOOL or len(ref) > MAX_REF:
            column = (
                "tool" if len(tool) > MAX_TOOL else "action" if len(action) > MAX_TOOL else "ref"
            )
            raise RowError(column, messages.too_long(MAX_REF if column == "ref" else MAX_TOOL))
        if "\x00" in tool or "\x00" in action or "\x00" in ref:
            raise RowError("row", messages.nul())
        if ref and ref in self.context.event_refs:
            raise RowError("ref", messages.repeated_ref(ref, self.context.event_refs[ref]))
        return tool, action, ref
