from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from credits import catchup, engine
from credits.management.commands._days import iso_day
from credits.models import RecomputeRun
from credits.staleness import stale_days
from partnercredit.days import yesterday


class Command(BaseCommand):
    help = (
        "Compute credit lines and standings for a day (default: the day that just ended), a "
        "range of days, or every stale published day (--stale)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="One day, YYYY-MM-DD.")
        parser.add_argument("--from", dest="first", help="First day of a range.")
        parser.add_argument(
            "--to",
            dest="last",
            help="Last day of a range (with --stale: the last day to catch up).",
        )
        parser.add_argument(
            "--stale",
            action="store_true",
            help="Every stale published day up to --to (default: yesterday), oldest first.",
        )

    def handle(
        self,
        *args: object,
        date: str | None,
        first: str | None,
        last: str | None,
        stale: bool,
        **options: object,
    ) -> None:
        days = self._days(date, first, last, stale)
        if stale:  # a day another catch-up is computing is waited for, not computed twice
            for run in catchup.recompute_days_inline(days):
                self._report(run)
            return
        for day in days:
            try:
                run = engine.recompute_day(day=day)
            except (engine.RecomputeBusy, engine.DayNotEnded) as exc:
                raise CommandError(str(exc)) from exc
            self._report(run)

    def _report(self, run: RecomputeRun) -> None:
        self.stdout.write(
            f"{run.day}: {run.credit_lines} credit lines, {run.partners} partners (run {run.pk})"
        )
        for warning in run.warning_texts:
            self.stderr.write(f"{run.day}: warning: {warning}")

    def _days(
        self, one: str | None, first: str | None, last: str | None, stale: bool
    ) -> list[date]:
        if stale:
            if one or first:
                raise CommandError("--stale goes with --to only.")
            through = iso_day(last, "--to") if last else yesterday()
            days = stale_days(through=through)
            if not days:
                self.stdout.write(f"No stale day up to {through}.")
            return days
        if one and (first or last):
            raise CommandError("Use either --date or --from/--to, not both.")
        if bool(first) != bool(last):
            raise CommandError("--from and --to go together.")
        if first and last:
            lo, hi = iso_day(first, "--from"), iso_day(last, "--to")
            if hi < lo:
                raise CommandError(f"--to {hi} is before --from {lo}.")
        else:
            lo = hi = iso_day(one, "--date") if one else yesterday()
        try:
            engine.require_ended(hi)
        except engine.DayNotEnded as exc:
            raise CommandError(str(exc)) from exc
        return [lo + timedelta(days=n) for n in range((hi - lo).days + 1)]
