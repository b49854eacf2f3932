"""A deterministic synthetic partner program at scale, loaded through bulk paths (issue 7).

1. Partners, employees (with active spells), client accounts (mixed currencies and countries,
   about 10% shared by 2–3 partners), MRR, assignments and seats (some ended), immediate ends
   and deals are generated in Python from one seeded `random.Random` and loaded with COPY on
   PostgreSQL (executemany on SQLite). The per-row services are bypassed: far too slow here.
2. Activities are generated server-side on PostgreSQL (INSERT … SELECT generate_series, with
   the table's indexes and foreign keys dropped during the load and rebuilt after); on SQLite
   in Python, for small sizes only.
3. `EngineState.dirty_from` is set to the first day, so the engine re-aggregates everything.

Loading needs an empty program (no partner, client or activity yet).
"""

import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction

from accounts.models import (
    Assignment,
    ClientAccount,
    ClientMRR,
    Employee,
    EmployeeSpell,
    Partner,
    PartnerSpell,
    RelationshipEnd,
    Seat,
)
from credits.management.commands._days import iso_day
from credits.models import Activity, Deal, EngineState
from partnercredit.days import day_start

SIZES: dict[str, dict[str, int]] = {
    "tiny": {
        "partners": 5,
        "employees": 20,
        "clients": 40,
        "assignments": 60,
        "activities": 2_000,
        "days": 30,
    },
    "small": {
        "partners": 100,
        "employees": 1_000,
        "clients": 2_500,
        "assignments": 5_000,
        "activities": 300_000,
        "days": 120,
    },
    "medium": {
        "partners": 1_000,
        "employees": 10_000,
        "clients": 25_000,
        "assignments": 50_000,
        "activities": 3_000_000,
        "days": 120,
    },
    "default": {
        "partners": 10_000,
        "employees": 100_000,
        "clients": 250_000,
        "assignments": 500_000,
        "activities": 30_000_000,
        "days": 120,
    },
}
SQLITE_MAX_ACTIVITIES = 500_000
DEFAULT_END = date(2026, 6, 30)

# (country, currency, weight, typical MRR in units of the currency). IN, BR, MX, CO, KR and SG
# are growth markets in the shipped defaults; INR has no units-per-point rate on purpose, so
# the "no rate in force" warning shows up at scale too.
MARKETS = [
    ("US", "USD", 52, 800),
    ("DE", "EUR", 6, 700),
    ("FR", "EUR", 4, 700),
    ("NL", "EUR", 2, 700),
    ("GB", "GBP", 7, 600),
    ("AU", "AUD", 5, 1200),
    ("CA", "CAD", 5, 1000),
    ("JP", "JPY", 3, 120_000),
    ("SG", "SGD", 2, 1000),
    ("ZA", "ZAR", 2, 14_000),
    ("CO", "COP", 2, 3_000_000),
    ("IN", "USD", 3, 400),
    ("BR", "USD", 2, 500),
    ("MX", "USD", 2, 500),
    ("KR", "USD", 1, 700),
    ("IN", "INR", 1, 50_000),
    ("SE", "SEK", 1, 8_000),
]
QUALIFYING = [
    ("blog", "publish"),
    ("website_page", "publish"),
    ("landing_page", "publish"),
    ("social", "publish"),
    ("email", "send"),
    ("workflow", "create"),
    ("workflow", "edit"),
    ("form", "create"),
    ("form", "edit"),
    ("list", "create"),
    ("list", "edit"),
    ("cta", "edit"),
    ("report", "create"),
    ("dashboard", "edit"),
    ("sequence", "create"),
    ("sequence", "edit"),
    ("chatflow", "edit"),
    ("ads", "create"),
    ("crm", "create"),
    ("crm", "edit"),
    ("email", "send"),
    ("crm", "edit"),
]
NOT_QUALIFYING = [("blog", "create"), ("account", "login"), ("report", "view")]
KINDS = QUALIFYING + NOT_QUALIFYING  # 22 of 25 qualify


@dataclass
class Shape:
    partners: int
    employees: int
    clients: int
    assignments: int
    activities: int
    days: int
    seed: int
    end: date

    @property
    def first_day(self) -> date:
        return self.end - timedelta(days=self.days - 1)


@dataclass
class World:
    """Rows in database form (integer hundredths, aware datetimes), ready to load."""

    tables: dict[type[models.Model], tuple[list[str], list[tuple]]] = field(default_factory=dict)

    def count(self, model: type[models.Model]) -> int:
        return len(self.tables.get(model, ([], []))[1])


def _moment(rng: random.Random, first: date, days: int) -> datetime:
    return day_start(first + timedelta(days=rng.randrange(days))) + timedelta(
        seconds=rng.randrange(86_400)
    )


def world_build(shape: Shape) -> World:
    """Every row but the activities, from one seeded generator."""
    rng = random.Random(shape.seed)
    first, days = shape.first_day, shape.days
    joined = day_start(first - timedelta(days=365))
    world = World()

    partners: list[tuple] = []
    # partner, client (None: every client), at, reason, note, recorded at
    ends: list[tuple[int, int | None, datetime, str, str, datetime]] = []
    for p in range(1, shape.partners + 1):
        moment = _moment(rng, first + timedelta(days=days // 3), days - days // 3)
        left = moment if rng.random() < 0.01 else None
        partners.append((p, str(1_000_000 + p), f"Scale Partner {p}", joined, left))
        if left:
            ends.append((p, None, left, RelationshipEnd.Reason.PARTNER_LEFT, "", left))
    world.tables[Partner] = (["id", "key", "name", "joined_at", "left_at"], partners)
    world.tables[PartnerSpell] = (
        ["id", "partner_id", "start", "end"],
        [(p, p, joined_at, left) for p, _, _, joined_at, left in partners],
    )

    employees: list[tuple] = []
    spells: list[tuple] = []
    staff_of: dict[int, list[int]] = {p: [] for p in range(1, shape.partners + 1)}
    for e in range(1, shape.employees + 1):
        partner = (e - 1) % shape.partners + 1
        first_of_partner = not staff_of[partner]
        staff_of[partner].append(e)
        gone = _moment(rng, first, days) if rng.random() < 0.03 else None
        role = "partner_admin" if first_of_partner else "employee"
        employees.append(
            (
                e,
                partner,
                f"e{e}@p{partner}.example",
                f"Employee {e}",
                role,
                False,
                gone is None,
                gone,
            )
        )
        spells.append((e, e, joined, gone))
    world.tables[Employee] = (
        [
            "id",
            "partner_id",
            "email",
            "name",
            "role",
            "is_client_access_manager",
            "is_active",
            "deactivated_at",
        ],
        employees,
    )
    world.tables[EmployeeSpell] = (["id", "employee_id", "start", "end"], spells)

    clients: list[tuple] = []
    mrr: list[tuple] = []
    pairs: list[tuple[int, int]] = []
    weights = [m[2] for m in MARKETS]
    for c in range(1, shape.clients + 1):
        country, currency, _, typical = rng.choices(MARKETS, weights)[0]
        clients.append((c, str(2_000_000 + c), f"Scale Client {c}", country, currency))
        amount = round(typical * rng.uniform(0.1, 3.0) * 100)
        mrr.append((len(mrr) + 1, c, joined, amount, currency))
        if rng.random() < 0.05:
            new = round(amount * rng.uniform(0.5, 1.5))
            mrr.append((len(mrr) + 1, c, _moment(rng, first, days), new, currency))
        owners = [rng.randrange(shape.partners) + 1]
        if shape.partners >= 2 and rng.random() < 0.10:
            stride = rng.randint(1, max(1, (shape.partners - 1) // 2))
            n = min(rng.choice([2, 2, 3]), shape.partners, 2 if 2 * stride >= shape.partners else 3)
            owners += [(owners[0] - 1 + k * stride) % shape.partners + 1 for k in range(1, n)]
        pairs += [(p, c) for p in owners]
    world.tables[ClientAccount] = (["id", "hub_id", "name", "country", "currency"], clients)
    world.tables[ClientMRR] = (["id", "client_id", "effective_at", "amount", "currency"], mrr)

    assignments: list[tuple] = []
    seats: list[tuple] = []
    base, extra = divmod(shape.assignments, len(pairs))
    for j, (p, c) in enumerate(pairs):
        staff = staff_of[p]
        k = min(len(staff), base + (1 if j < extra else 0))
        offset = rng.randrange(len(staff))
        rows: list[list[Any]] = []  # employee, client, assigned, unassigned, seated, unseated
        for t in range(k):
            e = staff[(offset + t) % len(staff)]
            start = joined + timedelta(days=rng.randrange(300), seconds=rng.randrange(86_400))
            rows.append([e, c, start, None, start + timedelta(minutes=5), None])
        if not rows:
            continue
        roll = rng.random()
        when = _moment(rng, first, days)
        if roll < 0.005:  # services ended: unassigned from all of P's employees at once
            ends.append((p, c, when, RelationshipEnd.Reason.SERVICES_ENDED, "", when))
            for row in rows:
                row[3] = when
        elif roll < 0.01:  # all partner employees removed from the client account
            ends.append((p, c, when, RelationshipEnd.Reason.ALL_EMPLOYEES_REMOVED, "", when))
            for row in rows:
                row[5] = when
        elif roll < 0.04:  # one seat removed; the last one ends the relationship
            rows[0][5] = when
            if len(rows) == 1:
                ends.append((p, c, when, RelationshipEnd.Reason.LAST_SEAT_REMOVED, "", when))
        elif roll < 0.07:  # one assignment removed: a delayed end
            rows[0][3] = when
        for e, c_, a_start, a_end, s_start, s_end in rows:
            assignments.append((len(assignments) + 1, e, c_, a_start, a_end))
            seats.append((len(seats) + 1, e, c_, s_start, s_end))
    world.tables[Assignment] = (["id", "employee_id", "client_id", "start", "end"], assignments)
    world.tables[Seat] = (["id", "employee_id", "client_id", "start", "end"], seats)
    world.tables[RelationshipEnd] = (
        ["partner_id", "client_id", "at", "reason", "note", "recorded_at"],
        ends,
    )

    deals = []
    currency_of = {row[0]: row[4] for row in clients}
    first_mrr = {row[1]: row[3] for row in reversed(mrr)}
    for d in range(1, 2 * shape.partners + 1):
        p, c = pairs[rng.randrange(len(pairs))]
        closed = first - timedelta(days=rng.randrange(400)) + timedelta(days=days)
        kind = "sourced" if rng.random() < 0.4 else "assisted"
        amount = round(first_mrr[c] * rng.uniform(0.5, 1.0))
        deals.append((d, p, c, closed, amount, currency_of[c], kind, f"scale-deal-{d}"))
    world.tables[Deal] = (
        ["id", "partner_id", "client_id", "closed_on", "amount", "currency", "kind", "ref"],
        deals,
    )
    return world


# --- Loading ---------------------------------------------------------------------------------


def _quoted(model: type[models.Model], columns: Sequence[str]) -> tuple[str, str]:
    qn = connection.ops.quote_name
    return qn(model._meta.db_table), ", ".join(qn(c) for c in columns)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def rows_load(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY on PostgreSQL; one executemany per batch elsewhere."""
    table, cols = _quoted(model, columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        batch: list[tuple] = []
        for row in rows:
            batch.append(tuple(_sqlite_value(v) for v in row))
            if len(batch) >= 5_000:
                cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)
                batch = []
        if batch:
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)


def _activities_python(shape: Shape, access: list[tuple[int, int, int]]) -> Iterable[tuple]:
    """The SQLite path: the same recipe as the PostgreSQL one, drawn from `random`."""
    rng = random.Random(shape.seed + 1)
    for i in range(1, shape.activities + 1):
        employee, partner, client = access[rng.randrange(len(access))]
        if rng.random() < 0.03:  # in a client the employee has no access to
            client = rng.randrange(shape.clients) + 1
        at = _moment(rng, shape.first_day, shape.days)
        tool, action = KINDS[rng.randrange(len(KINDS))]
        yield (
            i,
            partner,
            employee,
            client,
            at,
            at.astimezone(_tz()).date(),
            tool,
            action,
            f"scale-{shape.seed}-{i}",
        )


def _tz():
    from django.utils import timezone

    return timezone.get_current_timezone()


_ACTIVITIES_PG = """
    INSERT INTO credits_activity
        (id, partner_id, employee_id, client_id, at, day, tool, action, ref)
    SELECT g.i, x.partner_id, x.employee_id,
           CASE WHEN h.h3 %% 100 < 3 THEN 1 + (h.h3 / 100) %% %(clients)s ELSE x.client_id END,
           t.at, (t.at AT TIME ZONE %(tz)s)::date, k.tool, k.action,
           'scale-' || %(seed)s || '-' || g.i
    FROM generate_series(1, %(n)s) AS g(i)
    CROSS JOIN LATERAL (
        SELECT hashint8extended(g.i, %(seed)s) & 9223372036854775807 AS h1,
               hashint8extended(g.i, %(seed)s + 1) & 9223372036854775807 AS h2,
               hashint8extended(g.i, %(seed)s + 2) & 9223372036854775807 AS h3
    ) h
    JOIN scale_access x ON x.n = h.h1 %% %(access)s
    JOIN scale_kinds k ON k.k = (h.h1 / %(access)s) %% %(kinds)s
    CROSS JOIN LATERAL (
        SELECT %(first)s::timestamptz
               + make_interval(days => (h.h2 %% %(days)s)::int,
                               secs => ((h.h2 / %(days)s) %% 86400)::int) AS at
    ) t
"""


def _activity_ddl() -> tuple[list[str], list[str]]:
    """(drop, create) statements for credits_activity's secondary indexes and constraints."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
            " WHERE conrelid = 'credits_activity'::regclass AND contype IN ('f', 'u')"
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'credits_activity'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'credits_activity'::regclass)"
        )
        indexes = cursor.fetchall()
    drop = [f'ALTER TABLE credits_activity DROP CONSTRAINT "{n}"' for n, _, _ in constraints]
    drop += [f'DROP INDEX "{n}"' for n, _ in indexes]
    add = 'ALTER TABLE credits_activity ADD CONSTRAINT "{}" {}'
    # Unique constraints and indexes first, then the foreign keys (each one validating join).
    create = [add.format(n, d) for n, d, kind in constraints if kind == "u"]
    create += [d for _, d in indexes]
    create += [add.format(n, d) for n, d, kind in constraints if kind == "f"]
    return drop, create


def activities_load_pg(shape: Shape) -> None:
    with connection.cursor() as cursor:
        # Check the entities' deferred foreign keys now: ALTER TABLE refuses pending triggers.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("DROP TABLE IF EXISTS pg_temp.scale_access, pg_temp.scale_kinds")
        cursor.execute(
            "CREATE TEMP TABLE scale_access ON COMMIT DROP AS"
            " SELECT (ROW_NUMBER() OVER (ORDER BY a.id) - 1) AS n,"
            " a.employee_id, e.partner_id, a.client_id"
            " FROM accounts_assignment a JOIN accounts_employee e ON e.id = a.employee_id"
        )
        cursor.execute("CREATE UNIQUE INDEX ON scale_access (n)")
        cursor.execute(
            "CREATE TEMP TABLE scale_kinds (k int, tool text, action text) ON COMMIT DROP"
        )
        cursor.executemany(
            "INSERT INTO scale_kinds VALUES (%s, %s, %s)",
            [(k, t, a) for k, (t, a) in enumerate(KINDS)],
        )
        cursor.execute("ANALYZE scale_access")
        cursor.execute("ANALYZE scale_kinds")
        cursor.execute("SELECT COUNT(*) FROM scale_access")
        access = cursor.fetchone()[0]
        if not access:
            return
        drop, create = _activity_ddl()
        for statement in drop:
            cursor.execute(statement)
        cursor.execute(
            _ACTIVITIES_PG,
            {
                "n": shape.activities,
                "seed": shape.seed,
                "access": access,
                "kinds": len(KINDS),
                "clients": shape.clients,
                "days": shape.days,
                "first": day_start(shape.first_day),
                "tz": settings.TIME_ZONE,
            },
        )
        for statement in create:
            cursor.execute(statement)


def activities_load(shape: Shape, world: World) -> None:
    if connection.vendor == "postgresql":
        activities_load_pg(shape)
        return
    employee_partner = {row[0]: row[1] for row in world.tables[Employee][1]}
    access = [(e, employee_partner[e], c) for _, e, c, _, _ in world.tables[Assignment][1]]
    if access:
        rows_load(
            Activity,
            ["id", "partner_id", "employee_id", "client_id", "at", "day", "tool", "action", "ref"],
            _activities_python(shape, access),
        )


def seed_record_path() -> Path:
    """Where the last load into this database recorded its size and time (read by `bench`)."""
    name = str(connection.settings_dict["NAME"]).replace("/", "_")
    return Path(settings.VAR_DIR) / f"seed-scale-{name}.json"


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


class Command(BaseCommand):
    help = (
        "Load a deterministic synthetic partner program at scale (issue 7). Needs an empty program."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=list(SIZES), default="default")
        for name in ["partners", "employees", "clients", "assignments", "activities", "days"]:
            parser.add_argument(f"--{name}", type=int, help=f"Overrides the size's {name}.")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--end-date", help=f"Last program day (default {DEFAULT_END}).")

    def handle(self, *args: object, **options: Any) -> None:
        sizes = {**SIZES[options["size"]]}
        sizes.update({k: options[k] for k in sizes if options.get(k) is not None})
        end = iso_day(options["end_date"], "--end-date") if options["end_date"] else DEFAULT_END
        shape = Shape(**sizes, seed=options["seed"], end=end)
        self._check(shape)
        clock = time.perf_counter()
        world = world_build(shape)
        self.stdout.write(f"generated entities in {time.perf_counter() - clock:.1f} s")
        with transaction.atomic():
            lap = time.perf_counter()
            for model, (columns, rows) in world.tables.items():
                rows_load(model, columns, rows)
            self.stdout.write(f"loaded entities in {time.perf_counter() - lap:.1f} s")
            lap = time.perf_counter()
            activities_load(shape, world)
            self.stdout.write(
                f"loaded {shape.activities:,} activities in {time.perf_counter() - lap:.1f} s"
            )
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [*world.tables, Activity]):
                    cursor.execute(sql)
            EngineState.objects.update_or_create(pk=1, defaults={"dirty_from": shape.first_day})
        if connection.vendor == "postgresql":
            lap = time.perf_counter()
            _analyze()
            self.stdout.write(f"analyzed in {time.perf_counter() - lap:.1f} s")
        record = {"size": options["size"], "seconds": round(time.perf_counter() - clock, 1)}
        seed_record_path().parent.mkdir(parents=True, exist_ok=True)
        seed_record_path().write_text(json.dumps({**record, "shape": sizes}))
        counts = ", ".join(
            f"{m._meta.verbose_name_plural}: {world.count(m):,}" for m in world.tables
        )
        self.stdout.write(
            f"seeded {shape.first_day} … {shape.end} in {time.perf_counter() - clock:.1f} s"
            f" ({counts}; activities: {shape.activities:,})"
        )

    def _check(self, shape: Shape) -> None:
        if min(shape.partners, shape.employees, shape.clients, shape.days) < 1:
            raise CommandError("partners, employees, clients and days must be at least 1.")
        if shape.employees < shape.partners:
            raise CommandError("Need at least one employee per partner (--employees ≥ --partners).")
        if connection.vendor != "postgresql" and shape.activities > SQLITE_MAX_ACTIVITIES:
            raise CommandError(
                f"{shape.activities:,} activities is too many for SQLite (at most"
                f" {SQLITE_MAX_ACTIVITIES:,}): use --size tiny or small, or PostgreSQL"
                " (DATABASE_URL=postgres://…)."
            )
        if Partner.objects.exists() or ClientAccount.objects.exists() or Activity.objects.exists():
            raise CommandError("seed_scale needs an empty program: use a fresh database.")
