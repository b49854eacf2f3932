"""`seed_demo`: a small, realistic demo world for trying the app (SPEC §4).

Several partners and currencies, a shared client with a remainder cent, relationships ended
at once and by inactivity, one at risk, a missing step, a currency with no rate, and logins
for program staff and two partner admins. Dates are relative to the day it is first loaded;
running it again changes nothing but the demo passwords.
"""

import csv
import io
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Employee, Partner
from credits import engine
from credits.importing import events_import
from credits.importing.reading import COLUMNS
from credits.models import DayResult
from partnercredit.days import yesterday

PASSWORD = "partnercredit-demo"
PARTNERS = [
    ("7001", "Northwind Agency"),
    ("7002", "Southpaw Media"),
    ("7003", "Kiwi Growth Co"),
    ("7004", "Lapsed Labs"),
]
EMPLOYEES = [
    ("7001", "ann@northwind.example", "Ann North", "partner_admin"),
    ("7001", "ned@northwind.example", "Ned North", "employee"),
    ("7001", "cam@northwind.example", "Cam North", "client_access_manager"),
    ("7001", "ola@northwind.example", "Ola North", "employee"),
    ("7002", "sue@southpaw.example", "Sue South", "partner_admin"),
    ("7002", "sam@southpaw.example", "Sam South", "employee"),
    ("7003", "kim@kiwi.example", "Kim Kiwi", "partner_admin"),
    ("7004", "lee@lapsed.example", "Lee Lapsed", "partner_admin"),
]
CLIENTS = [  # hub id, name, country, currency, MRR
    ("8001", "Orbit Foods", "US", "USD", "2000.01"),
    ("8002", "Lumen SARL", "FR", "EUR", "440.00"),
    ("8003", "Saigon Tea", "VN", "USD", "250.00"),
    ("8004", "Maple Dental", "CA", "CAD", "1300.00"),
    ("8005", "Thames Books", "GB", "GBP", "740.00"),
    ("8006", "Sakura Ramen", "JP", "JPY", "144000.00"),
    ("8007", "Kookaburra Surf", "AU", "AUD", "1540.00"),
    ("8008", "Zurich Watches", "CH", "CHF", "900.00"),
    ("8009", "Bogota Cafe", "CO", "COP", "4080000.00"),
    ("8010", "Old Harbour Inn", "US", "USD", "500.00"),
]
ACCESS = [  # employee, client: assigned and seated 90 days before the anchor day
    ("7001", "ann@northwind.example", "8001"),
    ("7001", "ned@northwind.example", "8002"),
    ("7001", "ned@northwind.example", "8004"),
    ("7001", "ann@northwind.example", "8009"),
    ("7001", "ola@northwind.example", "8001"),
    ("7002", "sue@southpaw.example", "8001"),
    ("7002", "sue@southpaw.example", "8003"),
    ("7002", "sam@southpaw.example", "8005"),
    ("7003", "kim@kiwi.example", "8006"),
    ("7003", "kim@kiwi.example", "8008"),
    ("7004", "lee@lapsed.example", "8010"),
]
# employee, client, tool/action, first day back, last day back, every n days
ACTIVITY = [
    ("7001", "ann@northwind.example", "8001", "website_page/publish", 60, 1, 3),
    ("7002", "sue@southpaw.example", "8001", "dashboard/edit", 55, 2, 5),
    ("7001", "ned@northwind.example", "8002", "sequence/create", 70, 50, 4),  # at risk
    ("7002", "sue@southpaw.example", "8003", "social/publish", 58, 3, 6),
    ("7001", "ned@northwind.example", "8004", "workflow/edit", 45, 12, 3),  # then removed
    ("7002", "sam@southpaw.example", "8005", "email/send", 90, 75, 5),  # ran out
    ("7003", "kim@kiwi.example", "8006", "blog/publish", 40, 1, 2),
    ("7003", "kim@kiwi.example", "8008", "crm/edit", 30, 2, 7),  # CHF: no rate
    ("7003", "kim@kiwi.example", "8007", "blog/publish", 20, 1, 4),  # no seat: missing step
    ("7001", "ann@northwind.example", "8009", "ads/create", 50, 22, 4),  # then services end
    ("7004", "lee@lapsed.example", "8010", "form/edit", 60, 40, 5),  # partner then left
    ("7001", "ann@northwind.example", "8001", "blog/view", 30, 1, 2),  # never qualifies
]


def demo_events(anchor: date) -> bytes:
    """The demo world as an import_events file, anchored on `anchor` (the last computed day)."""
    start = (anchor - timedelta(days=100)).isoformat()
    access_day = (anchor - timedelta(days=90)).isoformat()
    rows: list[dict] = []
    rows += [{"at": start, "event": "partner_joined", "partner": k, "name": n} for k, n in PARTNERS]
    rows += [
        {"at": start, "event": "employee_added", "partner": p, "employee": e, "name": n, "role": r}
        for p, e, n, r in EMPLOYEES
    ]
    rows += [
        {
            "at": start,
            "event": "client_added",
            "client": h,
            "name": n,
            "country": c,
            "currency": cur,
            "amount": a,
        }
        for h, n, c, cur, a in CLIENTS
    ]
    for p, e, c in ACCESS:
        for event in ("client_assigned", "seat_added"):
            rows.append(
                {"at": access_day, "event": event, "partner": p, "employee": e, "client": c}
            )
    rows.append(
        {
            "at": access_day,
            "event": "client_assigned",
            "partner": "7003",
            "employee": "kim@kiwi.example",
            "client": "8007",
        }
    )
    for n, (p, e, c, tool_action, first, last, every) in enumerate(ACTIVITY):
        tool, action = tool_action.split("/")
        for back in range(first, last - 1, -every):
            day = anchor - timedelta(days=back)
            rows.append(
                {
                    "at": f"{day}T{9 + n % 8:02d}:30:00",
                    "event": "activity",
                    "partner": p,
                    "employee": e,
                    "client": c,
                    "tool": tool,
                    "action": action,
                    "ref": f"demo-{n}-{back}",
                }
            )

    def on(back: int) -> str:
        return f"{anchor - timedelta(days=back)}T18:00:00"

    rows += [
        {
            "at": on(80),
            "event": "employee_deactivated",
            "partner": "7001",
            "employee": "ola@northwind.example",
        },
        {"at": on(10), "event": "all_employees_removed", "partner": "7001", "client": "8004"},
        {"at": on(20), "event": "services_ended", "partner": "7001", "client": "8009"},
        {"at": on(25), "event": "partner_left", "partner": "7004"},
        {"at": on(30), "event": "mrr_changed", "client": "8006", "amount": "172800.00"},
        {
            "at": on(40),
            "event": "deal_closed",
            "partner": "7002",
            "client": "8003",
            "currency": "USD",
            "amount": "400.00",
            "kind": "sourced",
            "ref": "demo-deal-1",
        },
        {
            "at": on(100),
            "event": "deal_closed",
            "partner": "7001",
            "client": "8001",
            "currency": "USD",
            "amount": "1000.00",
            "kind": "assisted",
            "ref": "demo-deal-2",
        },
        {
            "at": on(20),
            "event": "deal_closed",
            "partner": "7003",
            "client": "8006",
            "currency": "JPY",
            "amount": "288000.00",
            "kind": "sourced",
            "ref": "demo-deal-3",
        },
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


class Command(BaseCommand):
    help = "Load a small demo world with logins, and compute its last 35 days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=35, help="How many days to compute.")

    def handle(self, *args: object, days: int, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates logins with a known password: not in production.")
        anchor = yesterday()
        if Partner.objects.filter(key="7001").exists():
            self.stdout.write("Demo world already loaded.")
        else:
            report = events_import(path_or_file=io.BytesIO(demo_events(anchor)), skip_invalid=False)
            if not report.committed:
                raise CommandError(f"demo world did not import: {report.errors[:5]}")
            self.stdout.write(f"Demo world loaded: {report.summary()}")
        self._logins()
        for back in range(days - 1, -1, -1):
            day = anchor - timedelta(days=back)
            if not DayResult.objects.filter(day=day).exists():
                engine.recompute_day(day=day)
        self.stdout.write(f"Computed {days} days up to {anchor}.")
        self.stdout.write(
            f"\nDemo logins (password for all: {PASSWORD}):\n"
            "  staff     program admin: everything\n"
            "  reviewer  credit reviewer: reads everything\n"
            "  ann       partner admin of Northwind Agency (7001)\n"
            "  sue       partner admin of Southpaw Media (7002)\n"
            "  cam       client access manager at Northwind Agency\n"
        )

    def _logins(self) -> None:
        staff = self._user("staff", superuser=True)
        staff.groups.add(Group.objects.get(name="program admins"))
        self._user("reviewer").groups.add(Group.objects.get(name="credit reviewers"))
        for username, email in [
            ("ann", "ann@northwind.example"),
            ("sue", "sue@southpaw.example"),
            ("cam", "cam@northwind.example"),
        ]:
            user = self._user(username)
            Employee.objects.filter(email=email).update(user=user)

    @staticmethod
    def _user(username: str, *, superuser: bool = False) -> User:
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(PASSWORD)
        user.save()
        return user
