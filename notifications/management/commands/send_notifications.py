"""`send_notifications [--date D] [--dry-run]` (SPEC §4): the e-mails due on D, once each."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from credits.management.commands._days import iso_day
from notifications.services import notifications_send


class Command(BaseCommand):
    help = (
        "Send the e-mail notifications due on a day (default: today), exactly once per person "
        "and period; print one line per e-mail: recipient, kind, subject."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="The day (YYYY-MM-DD); default: today.")
        parser.add_argument(
            "--dry-run", action="store_true", help="List what is due; send and record nothing."
        )

    def handle(self, *args: object, **options: object) -> None:
        given = options["date"]
        day = iso_day(given, "--date") if isinstance(given, str) else timezone.localdate()
        dry_run = bool(options["dry_run"])
        report = notifications_send(day=day, dry_run=dry_run)
        for line in report.would_send if dry_run else report.sent:
            self.stdout.write(f"{line.recipient}\t{line.kind}\t{line.subject}")
        for reason in report.held:
            self.stderr.write(reason)
        if dry_run:
            self.stderr.write(f"Dry run: {len(report.would_send)} e-mail(s) due, none sent.")
            return
        summary = f"{len(report.sent)} sent, {report.already} already sent"
        if report.failed:
            for line in report.failed:
                self.stderr.write(f"FAILED {line.recipient}\t{line.kind}\t{line.subject}")
            raise CommandError(
                f"{summary}, {len(report.failed)} failed: they are retried by the next run."
            )
        self.stderr.write(f"{summary}.")
