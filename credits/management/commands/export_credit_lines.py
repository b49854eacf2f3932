from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Partner
from credits.export_rows import CREDIT_LINE_COLUMNS, credit_line_export_rows, require_computed
from credits.management.commands._days import iso_day
from credits.staleness import stale_warning
from partnercredit import csvsafe


class Command(BaseCommand):
    help = "CSV on stdout: one row per relationship open on --date (SPEC §4)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="YYYY-MM-DD")
        parser.add_argument("--partner", help="Only this partner key.")

    def handle(self, *args: object, date: str, partner: str | None, **options: object) -> None:
        day = iso_day(date, "--date")
        chosen = None
        if partner is not None:
            chosen = Partner.objects.filter(key=partner).first()
            if chosen is None:
                raise CommandError(f"--partner: no partner with key {partner!r}.")
        run = require_computed(day)
        writer = csvsafe.writer(self.stdout)
        writer.writerow(CREDIT_LINE_COLUMNS)
        writer.writerows(credit_line_export_rows(day, partner=chosen))
        for warning in run.warning_texts:
            self.stderr.write(f"warning: {warning}")
        if stale := stale_warning(day):
            self.stderr.write(f"warning: {stale}")
