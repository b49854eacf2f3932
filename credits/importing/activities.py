"""Phase 2: activity rows, streamed into the database with memory independent of the file.

Rows are checked one by one against in-memory maps of partners, employees and clients.

PostgreSQL first tries the fast path: the checked rows are COPYed straight into the activity
table, inside a savepoint, so the server writes them while Python reads the next ones. The
table's unique keys (the ref, or without one the whole content) make that safe: if any row was
imported before, or has the key of another row of the file, the COPY fails as a whole, the
savepoint is rolled back, and the file is read again through the general path below.

The general path (SQLite, files with duplicates, checks without writing): the rows go to a
temporary table (PostgreSQL: COPY; SQLite: executemany), duplicate refs inside the file are
found in SQL on that table, and `ON CONFLICT DO NOTHING` skips rows imported before.
"""

from collections.abc import Iterable, Iterator
from datetime import date, datetime, tzinfo
from itertools import chain, islice
from typing import BinaryIO

from django.db import connection, transaction
from django.utils import timezone
from psycopg.errors import UniqueViolation

from accounts.models import ClientAccount, Employee, Partner
from credits.importing.reading import RowError, header_read, rows
from credits.importing.report import ImportReport, Progress
from credits.models import Activity
from credits.staleness import mark_stale

STAGE = "import_staging"
COLUMNS = "partner_id, employee_id, client_id, at, day, tool, action, ref"
# The unique indexes that identify an activity: its ref, or without one its content.
KEYS = frozenset(constraint.name for constraint in Activity._meta.constraints)
PROGRESS_EVERY = 50_000
COPY_CHUNK = 2000  # rows per write to the COPY stream
# Rows checked against the table before the fast path starts: a file imported before (the
# usual duplicate) goes to the general path without being read twice in full.
PROBE_ROWS = 1000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

# line, partner, employee, client, at (ISO with offset), day (ISO), tool, action, ref
Staged = tuple[int, int, int, int, str, str, str, str, str]


def activities_import(
    raw: BinaryIO,
    report: ImportReport,
    *,
    tz: tzinfo,
    write: bool,
    only_partner: Partner | None,
    event_refs: dict[str, int],
    progress: Progress | None,
) -> None:
    """Check every activity row; with `write`, insert the good ones.

    On PostgreSQL, first the fast path (`_copy_direct`). Otherwise, or when it meets an
    activity's key twice:
    1. Stream valid rows into the staging table (bad rows are reported as they are found).
    2. Report refs used twice in the file; without `write`-ing, stop there.
    3. Insert the rest, skipping activities already imported; mark the days stale.
    """
    checked = _Checked(raw, report, tz=tz, only_partner=only_partner, event_refs=event_refs,
                       progress=progress)  # fmt: skip
    if write and connection.vendor == "postgresql":
        copied = _copy_direct(checked)
        if copied is not None:
            count, first_day = copied
            report.applied += count
            if count:
                mark_stale(since=date.fromisoformat(first_day))
            return
        # Read the file again (its progress shows as "activities, again"). Its rows up to the
        # last one the fast path took were already checked and their errors reported: do not
        # report them twice.
        raw.seek(0)
        checked = _Checked(raw, report, tz=tz, only_partner=only_partner, event_refs=event_refs,
                           progress=progress, maps=checked.maps,
                           quiet_until=checked.last_line)  # fmt: skip
    stage = PostgresStage() if connection.vendor == "postgresql" else SqliteStage()
    staged, first_day = stage.fill(checked)
    repeated = 0
    for line, ref, first in stage.repeated_refs():
        report.reject(line, "ref", f"{ref!r} is also used on line {first} of this file")
        repeated += 1
    if write and staged:
        if repeated:
            staged -= stage.drop_repeated()
        inserted = stage.insert()
        report.applied += inserted
        report.duplicates += staged - inserted
        if inserted:
            mark_stale(since=date.fromisoformat(first_day))
    stage.drop()


def _copy_direct(checked: "_Checked") -> tuple[int, str | None] | None:
    """COPY the checked rows into the activity table; None if one of them was already there.

    (count, first day) when every row was new and written. None when the savepoint was rolled
    back (nothing of this phase written): a row was imported before, or two rows of the file
    have one key (a repeated ref, or the same row twice), which the general path sorts out.
    """
    head = list(islice(checked, PROBE_ROWS))
    keys = {row[8] or row[2:8] for row in head}  # the ref, or the content
    if len(keys) < len(head) or _any_imported(head):
        return None
    table = Activity._meta.db_table
    try:
        with (
            transaction.atomic(),  # a savepoint
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy,
        ):
            return _copy_write(copy, chain(head, checked), line=False)
    except UniqueViolation as exc:
        if exc.diag.constraint_name not in KEYS:
            raise
        return None


def _any_imported(head: list[Staged]) -> bool:
    """Whether any of these rows is already in the activity table (by either key)."""
    refs = [row[8] for row in head if row[8]]
    # Without a ref: (employees, clients, moments, tools, actions), one array each.
    unnamed = [row[2:5] + row[6:8] for row in head if not row[8]]
    contents = [list(column) for column in zip(*unnamed, strict=True)]
    table = Activity._meta.db_table
    with connection.cursor() as cursor:
        if refs:
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE ref <> '' AND ref = ANY(%s) LIMIT 1", [refs]
            )
            if cursor.fetchone():
                return True
        if contents:
            cursor.execute(
                f"""SELECT 1 FROM {table} a
                    JOIN unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::text[],
                                %s::text[]) k(employee_id, client_id, at, tool, action)
                      USING (employee_id, client_id, at, tool, action)
                    WHERE a.ref = '' LIMIT 1""",
                contents,
            )
            return cursor.fetchone() is not None
    return False


def _copy_write(copy, checked: Iterable[Staged], *, line: bool) -> tuple[int, str | None]:  # noqa: ANN001
    """Write the rows as COPY text, in chunks; (count, first day). `line`: with the line number."""
    count, first_day, chunk = 0, None, []
    escapes = _COPY_ESCAPES
    for number, pid, eid, cid, at, day, tool, action, ref in checked:
        if first_day is None or day < first_day:
            first_day = day
        text = tool + action + ref
        if "\\" in text or not text.isprintable():
            tool, action, ref = (s.translate(escapes) for s in (tool, action, ref))
        row = f"{pid}\t{eid}\t{cid}\t{at}\t{day}\t{tool}\t{action}\t{ref}\n"
        chunk.append(f"{number}\t{row}" if line else row)
        if len(chunk) >= COPY_CHUNK:
            copy.write("".join(chunk))
            count += len(chunk)
            chunk.clear()
    if chunk:
        copy.write("".join(chunk))
        count += len(chunk)
    return count, first_day


def _maps() -> tuple[dict, dict, dict, dict]:
    partners = dict(Partner.objects.values_list("key", "id"))
    employees = {
        (key, email): (pk, partner_id)
        for key, email, pk, partner_id in Employee.objects.values_list(
            "partner__key", "email", "id", "partner_id"
        )
    }
    owners: dict[str, str] = {email: key for (key, email) in employees}
    clients = dict(ClientAccount.objects.values_list("hub_id", "id"))
    return partners, employees, owners, clients


class _Checked:
    """The valid activity rows of the file, as staging tuples; bad ones are reported.

    Other rows were counted in pass 1. `last_line` is the line of the last row handed out (every
    row before it has been checked); rows up to `quiet_until` are checked without reporting
    their errors again. The lookups (`maps`, loaded unless given) are ready before the first
    row is asked for: once COPY has started, the connection can run no other query.
    """

    def __init__(
        self,
        raw: BinaryIO,
        report: ImportReport,
        *,
        tz: tzinfo,
        only_partner: Partner | None,
        event_refs: dict[str, int],
        progress: Progress | None,
        maps: tuple[dict, dict, dict, dict] | None = None,
        quiet_until: int = 0,
    ) -> None:
        self.last_line = 0
        self.maps = maps if maps is not None else _maps()
        self._rows = _valid_rows(raw, report, self.maps, tz=tz, only_partner=only_partner,
                                 event_refs=event_refs, progress=progress,
                                 quiet_until=quiet_until)  # fmt: skip

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


ALL_LINES = 1 << 62


def _valid_rows(  # noqa: C901 — the hot loop, kept flat on purpose
    raw: BinaryIO,
    report: ImportReport,
    maps: tuple[dict, dict, dict, dict],
    *,
    tz: tzinfo,
    only_partner: Partner | None,
    event_refs: dict[str, int],
    progress: Progress | None,
    quiet_until: int,
) -> Iterator[Staged]:
    partners, employees, owners, clients = maps
    records = rows(raw)
    header = header_read(next(records, (1, None))[1])
    index = header.index
    width = header.width
    i_event, i_at = index["event"], index["at"]
    i_partner, i_employee, i_client = (index.get(c) for c in ("partner", "employee", "client"))
    i_tool, i_action, i_ref = (index.get(c) for c in ("tool", "action", "ref"))
    missing = [c for c in ("partner", "employee", "client", "tool", "action") if c not in index]
    only = only_partner.pk if only_partner is not None else None
    fromiso = datetime.fromisoformat
    local_hours: dict[str, tuple[str, str]] = {}
    total = report.rows_read
    seen = 0
    for line, fields in records:
        seen += 1
        if progress is not None and seen % PROGRESS_EVERY == 0:
            # (quiet_until is set on the second reading, after the fast path gave up)
            progress("activities" if not quiet_until else "activities, again", seen, total)
        if type(fields) is not list or len(fields) != width:
            continue  # reported in pass 1
        event = fields[i_event]
        if event != "activity" and event.strip() != "activity":
            continue
        try:
            if missing:
                raise RowError(missing[0], "required for activity (no such column)")
            text = fields[i_at].strip()
            try:
                at = fromiso(text)
            except ValueError as exc:
                raise RowError(
                    "at", f"{text!r} is not a valid ISO date or datetime ({exc})"
                ) from None
            if at.tzinfo is None:
                # Program time. The offset and the day depend only on the date and the hour
                # (text[:13]; time zones change offset on the hour), so they are computed once
                # per hour: `make_aware` and `isoformat` per row would cost more than the rest.
                hour = local_hours.get(text[:13])
                if hour is None:
                    hour = _local_hour(at, tz)
                    if len(local_hours) > 100_000:
                        local_hours.clear()
                    local_hours[text[:13]] = hour
                if len(text) == 19 and text[10] == "T" and text[13] == ":" and text[16] == ":":
                    at_iso = text + hour[0]  # already YYYY-MM-DDTHH:MM:SS
                else:
                    at_iso = at.isoformat() + hour[0]
                day = hour[1]
            else:
                local = at.astimezone(tz)
                at_iso, day = local.isoformat(), local.date().isoformat()
            key = fields[i_partner].strip()
            partner_id = partners.get(key)
            if partner_id is None:
                raise RowError(
                    "partner", f"unknown partner {key!r}" if key else "required for activity"
                )
            if only is not None and partner_id != only:
                raise RowError(
                    "partner", f"{key} is not your partner: you may import only its own activities"
                )
            email = fields[i_employee].strip().lower()
            found = employees.get((key, email))
            if found is None:
                if not email:
                    raise RowError("employee", "required for activity")
                if email in owners:
                    raise RowError("employee", f"{email} is not an employee of partner {key}")
                raise RowError("employee", f"unknown employee {email!r}")
            employee_id = found[0]
            hub = fields[i_client].strip()
            client_id = clients.get(hub)
            if client_id is None:
                raise RowError(
                    "client", f"unknown client {hub!r}" if hub else "required for activity"
                )
            tool = fields[i_tool].strip().lower()
            action = fields[i_action].strip().lower()
            ref = fields[i_ref].strip() if i_ref is not None else ""
            if not tool or not action:
                raise RowError("tool" if not tool else "action", "required for activity")
            if len(tool) > 40 or len(action) > 40 or len(ref) > 200:
                column = "tool" if len(tool) > 40 else "action" if len(action) > 40 else "ref"
                raise RowError(column, f"longer than {200 if column == 'ref' else 40} characters")
            if "\x00" in tool or "\x00" in action or "\x00" in ref:
                raise RowError("row", "contains a NUL character")
            if ref and ref in event_refs:
                raise RowError(
                    "ref", f"{ref!r} is also used on line {event_refs[ref]} of this file"
                )
        except RowError as exc:
            if line > quiet_until:
                report.reject(line, exc.column, exc.reason)
            continue
        yield line, partner_id, employee_id, client_id, at_iso, day, tool, action, ref


def _local_hour(at: datetime, tz: tzinfo) -> tuple[str, str]:
    """(the ISO offset suffix, the ISO day) of a naive program-time moment."""
    aware = timezone.make_aware(at, tz)
    return aware.isoformat()[len(at.isoformat()) :], at.date().isoformat()


_REPEATED = f"""
    SELECT s.line, s.ref, d.first FROM {STAGE} s
    JOIN (SELECT ref, MIN(line) AS first FROM {STAGE} WHERE ref <> ''
          GROUP BY ref HAVING COUNT(*) > 1) d ON d.ref = s.ref
    WHERE s.line > d.first ORDER BY s.line
"""


class Stage:
    """The temporary table that holds checked activity rows until the insert."""

    create: str

    def fill(self, checked: Iterable[Staged]) -> tuple[int, str | None]:
        raise NotImplementedError

    def _execute(self, sql: str, params: tuple = ()) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _open(self) -> None:
        self._execute(f"DROP TABLE IF EXISTS {STAGE}")
        self._execute(self.create)

    def repeated_refs(self) -> Iterator[tuple[int, str, int]]:
        with connection.cursor() as cursor:
            cursor.execute(_REPEATED)
            while batch := cursor.fetchmany(1000):
                yield from batch

    def drop_repeated(self) -> int:
        return self._execute(
            f"DELETE FROM {STAGE} WHERE line IN (SELECT line FROM ({_REPEATED}) r)"
        )

    def insert(self) -> int:
        # In the order of the (employee, client, at) index: about twice as fast as file order
        # on a large table, because index pages are touched in sequence.
        table = Activity._meta.db_table
        return self._execute(
            f"INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM {STAGE} WHERE true "
            "ORDER BY employee_id, client_id, at ON CONFLICT DO NOTHING"
        )

    def drop(self) -> None:
        self._execute(f"DROP TABLE IF EXISTS {STAGE}")


class PostgresStage(Stage):
    create = f"""
        CREATE TEMPORARY TABLE {STAGE} (
            line bigint NOT NULL, partner_id bigint NOT NULL, employee_id bigint NOT NULL,
            client_id bigint NOT NULL, at timestamptz NOT NULL, day date NOT NULL,
            tool varchar(40) NOT NULL, action varchar(40) NOT NULL, ref varchar(200) NOT NULL
        ) ON COMMIT DROP
    """

    def _open(self) -> None:
        super()._open()
        self._execute("SET LOCAL work_mem = '256MB'")  # sorts of the staged rows, in memory

    def fill(self, checked: Iterable[Staged]) -> tuple[int, str | None]:
        self._open()
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {STAGE} (line, {COLUMNS}) FROM STDIN") as copy,
        ):
            return _copy_write(copy, checked, line=True)


class SqliteStage(Stage):
    create = f"""
        CREATE TEMPORARY TABLE {STAGE} (
            line integer NOT NULL, partner_id integer NOT NULL, employee_id integer NOT NULL,
            client_id integer NOT NULL, at text NOT NULL, day text NOT NULL, tool text NOT NULL,
            action text NOT NULL, ref text NOT NULL
        )
    """
    BATCH = 5000

    def fill(self, checked: Iterable[Staged]) -> tuple[int, str | None]:
        self._open()
        adapt, fromiso = connection.ops.adapt_datetimefield_value, datetime.fromisoformat
        sql = f"INSERT INTO {STAGE} (line, {COLUMNS}) VALUES ({', '.join(['%s'] * 9)})"
        count, first_day, batch = 0, None, []
        with connection.cursor() as cursor:
            for line, pid, eid, cid, at, day, tool, action, ref in checked:
                if first_day is None or day < first_day:
                    first_day = day
                batch.append((line, pid, eid, cid, adapt(fromiso(at)), day, tool, action, ref))
                if len(batch) >= self.BATCH:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
        return count, first_day
