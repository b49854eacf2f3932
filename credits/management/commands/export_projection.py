import csv

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ClientAccount, Partner
from credits.management.commands._days import iso_day
from credits.projection import DEFAULT_DAYS, ProjectionError, projection_compute

COLUMNS = [
    "date",
    "partner",
    "managed_points",
    "sold_points",
    "total_points",
    "tier",
    "credited_tier",
]


class Command(BaseCommand):
    help = "CSV on stdout: the partner's projection for D+1 … D+N if no event arrives after D."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="A computed day, YYYY-MM-DD.")
        parser.add_argument("--partner", required=True, help="Partner key.")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="Days ahead.")
        parser.add_argument(
            "--without",
            nargs="+",
            action="extend",
            default=[],
            metavar="HUB_ID",
            help="What-if: the partner's relationships with these clients end on D.",
        )

    def handle(
        self,
        *args: object,
        date: str,
        partner: str,
        days: int,
        without: list[str],
        **options: object,
    ) -> None:
        day = iso_day(date, "--date")
        if days < 1:
            raise CommandError(f"--days: {days} is not a positive number of days.")
        found = Partner.objects.filter(key=partner).first()
        if found is None:
            raise CommandError(f"--partner: no partner with key {partner!r}.")
        clients = dict(ClientAccount.objects.filter(hub_id__in=without).values_list("hub_id", "pk"))
        unknown = [hub_id for hub_id in without if hub_id not in clients]
        if unknown:
            raise CommandError(f"--without: no client account with hub id {', '.join(unknown)}.")
        try:
            projection = projection_compute(
                partner_id=found.pk, day=day, days=days, without=clients.values()
            )
        except ProjectionError as exc:
            raise CommandError(
                f"--date: {exc} Run `manage.py recompute_credits --date {day}` first."
            ) from exc
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in projection.days:
            writer.writerow(
                [
                    row.day.isoformat(),
                    found.key,
                    row.managed_points,
                    row.sold_points,
                    row.total_points,
                    row.tier,
                    row.credited_tier,
                ]
            )
