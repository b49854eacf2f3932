from django.core.management.base import BaseCommand, CommandParser

from credits.export_rows import STANDING_COLUMNS, require_computed, standing_export_rows
from credits.management.commands._days import iso_day
from credits.staleness import stale_warning
from partnercredit import csvsafe


class Command(BaseCommand):
    help = "CSV on stdout: one row per partner in the program on --date (SPEC §4)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="YYYY-MM-DD")

    def handle(self, *args: object, date: str, **options: object) -> None:
        day = iso_day(date, "--date")
        run = require_computed(day)
        writer = csvsafe.writer(self.stdout)
        writer.writerow(STANDING_COLUMNS)
        writer.writerows(standing_export_rows(day))
        for warning in run.warning_texts:
            self.stderr.write(f"warning: {warning}")
        if stale := stale_warning(day):
            self.stderr.write(f"warning: {stale}")
