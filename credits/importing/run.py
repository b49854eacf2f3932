"""One import, all or nothing: phase 1 applies the access/MRR/deal rows, phase 2 the activities."""

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone

from accounts.models import Partner
from accounts.services import Actor
from credits.importing import messages
from credits.importing.activities import activities_import
from credits.importing.activity_check import Context, Maps
from credits.importing.copying import statistics_refresh
from credits.importing.events import event_read, events_apply
from credits.importing.reading import NEEDS, EventRow, FileError, RowError, header_read, rows
from credits.importing.report import ErrorSink, ImportReport, Progress
from credits.models import Activity
from credits.staleness import deferred, mark_stale
from partnercredit.days import program_day


class _RollBack(Exception):
    """Raised inside the transaction to undo an import that had bad rows."""


def events_import(
    *,
    path_or_file: str | Path | BinaryIO,
    skip_invalid: bool = False,
    only_partner: Partner | None = None,
    actor: Actor = None,
    progress: Progress | None = None,
    on_error: ErrorSink | None = None,
) -> ImportReport:
    """Import an events file in one transaction.

    Any bad row (without `skip_invalid`) or a bad file writes nothing: `report.committed` is
    False and `report.errors` lists the rows. `only_partner` (a partner admin's upload) accepts
    only that partner's activity rows. `path_or_file` is a path or a seekable binary file.
    """
    report, written = ImportReport(on_error=on_error), Counter[str]()
    with _opened(path_or_file) as raw:
        try:
            with transaction.atomic(), deferred(what=f"Import of {_name(raw)}"):
                written = _run(raw, report, skip_invalid, only_partner, actor, progress)
                if report.rejected and not skip_invalid:
                    raise _RollBack
        except _RollBack:
            report.applied = 0
        except FileError as exc:
            report.applied = 0
            report.reject(exc.line, exc.column, exc.reason)
        else:
            report.committed = True
            statistics_refresh(written)
    report.sort_errors()
    return report


def _name(raw: BinaryIO) -> str:
    return Path(str(getattr(raw, "name", "") or "an upload")).name


@contextlib.contextmanager
def _opened(path_or_file: str | Path | BinaryIO) -> Iterator[BinaryIO]:
    if isinstance(path_or_file, str | Path):
        with open(path_or_file, "rb") as raw:
            yield raw
    else:
        path_or_file.seek(0)
        yield path_or_file


def _run(
    raw: BinaryIO,
    report: ImportReport,
    skip_invalid: bool,
    only_partner: Partner | None,
    actor: Actor,
    progress: Progress | None,
) -> Counter[str]:
    """Both phases; the rows written by table. Staleness is marked from the first day changed."""
    tz = timezone.get_default_timezone()  # the program time zone
    events = _first_pass(raw, report, tz, only_partner, progress)
    event_refs: dict[str, int] = {}
    for row in events:
        if row.ref and row.ref in event_refs:
            report.reject(row.line, "ref", messages.repeated_ref(row.ref, event_refs[row.ref]))
        elif row.ref:
            event_refs[row.ref] = row.line
    first, written = events_apply(events, report, actor)
    raw.seek(0)
    maps = Maps.load(only_partner)
    context = Context(
        tz=tz, only_partner=only_partner, event_refs=event_refs, progress=progress, maps=maps
    )
    applied = report.applied
    first_day = activities_import(raw, report, context, write=skip_invalid or not report.rejected)
    written[Activity._meta.db_table] += report.applied - applied
    days = [day for day in (first and program_day(first), first_day) if day is not None]
    if days:
        mark_stale(since=min(days))
    return written


def _first_pass(raw, report, tz, only_partner, progress) -> list[EventRow]:
    """Count every row, check the non-activity ones and keep them (they are few)."""
    records = rows(raw)
    header = header_read(next(records, (1, None))[1])
    events: list[EventRow] = []
    for line, fields in records:
        report.rows_read += 1
        if progress is not None and report.rows_read % 50_000 == 0:
            progress("reading", report.rows_read, 0)
        if isinstance(fields, RowError):
            report.reject(line, fields.column, fields.reason)
            continue
        if len(fields) != header.width:
            report.reject(line, "row", messages.width(len(fields), header.width))
            continue
        event = fields[header.index["event"]].strip()
        if event == "activity":
            continue
        try:
            if event not in NEEDS:
                raise RowError(
                    "event", messages.unknown_event(event) if event else messages.event_required()
                )
            if only_partner is not None:
                raise RowError("event", messages.activities_only(event))
            events.append(event_read(line, event, fields, header, tz))
        except RowError as exc:
            report.reject(line, exc.column, exc.reason)
    if not report.rows_read:
        raise FileError(2, "file", "no rows after the header")
    return events
