from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from credits import engine
from credits.management.commands._days import iso_day
from partnercredit.days import yesterday


class Command(BaseCommand):
    help = "Compute credit lines and standings for a day (default: the day that just ended)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="One day, YYYY-MM-DD.")
        parser.add_argument("--from", dest="first", help="First day of a range.")
        parser.add_argument("--to", dest="last", help="Last day of a range.")

    def handle(self, *args: object, date: str | None, first: str | None, last: str | None,
               **options: object) -> None:  # fmt: skip
        if date and (first or last):
            raise CommandError("Use either --date or --from/--to, not both.")
        if bool(first) != bool(last):
            raise CommandError("--from and --to go together.")
        if first:
            lo, hi = iso_day(first, "--from"), iso_day(last, "--to")
            if hi < lo:
                raise CommandError(f"--to {hi} is before --from {lo}.")
        else:
            lo = hi = iso_day(date, "--date") if date else yesterday()
        for offset in range((hi - lo).days + 1):
            day = lo + timedelta(days=offset)
            try:
                run = engine.recompute_day(day=day)
            except engine.RecomputeBusy as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{day}: {run.credit_lines} credit lines, {run.partners} partners (run {run.pk})"
            )
            for warning in run.warnings:
                self.stderr.write(f"{day}: warning: {warning}")
