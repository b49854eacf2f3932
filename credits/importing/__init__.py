"""Importing events files (SPEC §4): `events_import` is what the command, the admin upload
and the tests call."""

from credits.importing.report import ImportReport
from credits.importing.run import events_import

__all__ = ["ImportReport", "events_import"]
