"""Phase 2: activity rows, streamed into the database with memory independent of the file.

The parts: `activity_check` (the context the rows are checked against, and the checker with
the hot loop) and `activity_write` (the COPY fast path and the staging-table path). This module
only chooses the path.
"""

from datetime import date
from typing import BinaryIO

from django.db import connection

from credits.importing import activity_write as writer
from credits.importing import messages
from credits.importing.activity_check import Checker, Context
from credits.importing.report import ImportReport


def activities_import(
    raw: BinaryIO, report: ImportReport, context: Context, *, write: bool
) -> date | None:
    """Check every activity row; with `write`, insert the good ones. The earliest day written.

    On PostgreSQL, first the fast path (`copy_direct`). Otherwise, or when it meets an
    activity's key twice, through a staging table (`_staged`).
    """
    checker = Checker(raw, report, context)
    if write and connection.vendor == "postgresql":
        copied = writer.copy_direct(checker)
        if copied is not None:
            report.applied += copied[0]
            return _day(copied[1]) if copied[0] else None
        # Read the file again (its progress shows as "activities, again"). Its rows up to the
        # last one the fast path took were already checked and their errors reported: do not
        # report them twice.
        raw.seek(0)
        checker = Checker(raw, report, context, quiet_until=checker.last_line)
    return _staged(checker, report, write=write)


def _staged(checker: Checker, report: ImportReport, *, write: bool) -> date | None:
    """1. Stream the valid rows into the staging table (bad ones reported as they are found).
    2. Report refs used twice in the file; without `write`-ing, stop there.
    3. Insert the rest, skipping activities already imported.
    """
    stage = writer.stage_for_vendor()
    staged, first_day = stage.fill(checker)
    repeated = 0
    for line, ref, first in stage.repeated_refs():
        report.reject(line, "ref", messages.repeated_ref(ref, first))
        repeated += 1
    inserted = 0
    if write and staged:
        if repeated:
            staged -= stage.drop_repeated()
        inserted = stage.insert()
        report.applied += inserted
        report.duplicates += staged - inserted
    stage.drop()
    return _day(first_day) if inserted else None


def _day(iso: str | None) -> date | None:
    return date.fromisoformat(iso) if iso else None
