"""Phase 1: the non-activity rows, checked in memory in (at, line) order and written in bulk.

Each row is read (`event_read`), then applied to an in-memory `World` of the rows it names by
the access services' own rules (`changes`); the rows it creates or changes, with their audit
history, and the fingerprints that make a re-import skip it, are written together at the end
(`Journal`). A refused row changes nothing: every check of a row runs before its first change.
"""

import uuid
from collections import Counter
from datetime import datetime, tzinfo

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model
from django.utils import timezone

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
from accounts.services import Actor
from credits.importing import messages
from credits.importing.changes import Changes
from credits.importing.journal import Journal
from credits.importing.reading import (
    KINDS,
    NEEDS,
    ROLES,
    EventRow,
    Header,
    RowError,
    amount_parse,
    at_parse,
    choice_parse,
    country_parse,
    currency_parse,
    key_parse,
    text_check,
)
from credits.importing.report import ImportReport
from credits.importing.world import World
from credits.models import Deal, ImportedEvent
from credits.services import fingerprint

# Columns that make up a row's identity when it has no ref, in this order.
IDENTITY = (
    "partner",
    "employee",
    "client",
    "name",
    "role",
    "country",
    "currency",
    "amount",
    "kind",
)
# The rows each event may add (so that ids are taken from the sequences in few blocks).
MAKES: dict[str, tuple[type[Model], ...]] = {
    "partner_joined": (Partner, PartnerSpell),
    "partner_left": (RelationshipEnd,),
    "employee_added": (Employee, EmployeeSpell),
    "employee_reactivated": (EmployeeSpell,),
    "client_added": (ClientAccount, ClientMRR),
    "mrr_changed": (ClientMRR,),
    "client_assigned": (Assignment,),
    "seat_added": (Seat,),
    "seat_removed": (RelationshipEnd,),
    "all_employees_removed": (RelationshipEnd,),
    "services_ended": (RelationshipEnd,),
    "deal_closed": (Deal,),
}
WRITE_EVERY = 50_000  # rows applied between two bulk writes
# The longest partner key, hub id and e-mail (the model fields).
SIZES = (("partner", 32), ("client", 32), ("employee", 254))
CREATES = {"partner_joined": "partner", "client_added": "client"}
PARSERS = {
    "role": lambda text: choice_parse(text, "role", ROLES),
    "kind": lambda text: choice_parse(text, "kind", KINDS),
    "country": country_parse,
    "currency": currency_parse,
    "employee": str.lower,  # e-mails compare case-insensitively (SPEC §2)
}


def identity(row: EventRow, moments: dict | None = None) -> str:
    """The fingerprint (hex) of a row: its ref, or its normalised content.

    `moments`: program-time ISO texts already computed, by moment (rows share few moments).
    """
    moment = moments.get(row.at) if moments is not None else None
    if moment is None:
        moment = timezone.localtime(row.at).isoformat()
        if moments is not None:
            moments[row.at] = moment
    content = [row.event, moment, *[row.values.get(column, "") for column in IDENTITY]]
    return fingerprint(row.ref, content).hex


def event_read(line: int, event: str, fields: list[str], header: Header, tz: tzinfo) -> EventRow:
    """Check one non-activity row's values; raises RowError."""
    raw = {column: fields[i] for column, i in header.index.items()}
    values = {c: v.strip() for c, v in raw.items() if v.strip() and c not in ("at", "event")}
    if "name" in values:
        values["name"] = text_check(raw["name"], "name", 200)  # kept verbatim, formulas too
    for column in NEEDS[event]:
        if column not in values:
            raise RowError(column, messages.required(event))
    at = at_parse(raw["at"].strip(), tz)
    for column, size in SIZES:
        if column in values:
            text_check(values[column], column, size)
    for column, parse in PARSERS.items():
        if column in values:
            values[column] = parse(values[column])
    if event in CREATES:  # a new partner key or hub id must be a valid key
        values[CREATES[event]] = key_parse(values[CREATES[event]], CREATES[event])
    amount = None
    if "amount" in values:
        amount = amount_parse(values["amount"])
        values["amount"] = str(amount)
    ref = text_check(values.get("ref", ""), "ref", 200)
    return EventRow(line=line, at=at, event=event, values=values, amount=amount, ref=ref)


def events_apply(
    rows: list[EventRow], report: ImportReport, actor: Actor
) -> tuple[datetime | None, Counter[str]]:
    """Apply the rows in (at, file order) and write what they changed.

    The first moment applied, and the rows written by table.

    A row whose fingerprint was imported before (or applied earlier in this file) is a
    duplicate; a refused row is reported and changes nothing. `rows` is emptied as it goes, and
    the journal written every `WRITE_EVERY` rows, so memory holds the world, not the file.
    """
    rows.sort(key=lambda row: (row.at, row.line), reverse=True)  # popped from the end
    moments: dict = {}
    keys = [identity(row, moments) for row in rows]
    done = _imported(keys)
    world = World.load(
        partners={row.values["partner"] for row in rows if "partner" in row.values},
        clients={row.values["client"] for row in rows if "client" in row.values},
        since=rows[-1].at if rows else None,
    )
    expected = Counter(model for row in rows for model in MAKES.get(row.event, ()))
    journal = Journal(actor=actor, now=timezone.now(), expected=expected)
    changes, first = Changes(world=world, journal=journal), None
    while rows:
        row, key = rows.pop(), keys.pop()
        if key in done:
            report.duplicates += 1
        elif _applied(changes, row, report):
            done.add(key)
            journal.event_imported(key, row.event, row.at)
            first = first or row.at
        if len(rows) % WRITE_EVERY == 0:
            journal.write()
    return first, journal.written


def _applied(changes: Changes, row: EventRow, report: ImportReport) -> bool:
    try:
        changes.apply(row)
    except RowError as exc:
        report.reject(row.line, exc.column, exc.reason)
    except ValidationError as exc:
        report.reject(row.line, "event", messages.refused(row.event, exc.messages))
    else:
        report.applied += 1
        return True
    return False


def _imported(keys: list[str]) -> set[str]:
    """The fingerprints among `keys` that were imported before."""
    found: set[str] = set()
    if not keys or not ImportedEvent.objects.exists():
        return found
    table = ImportedEvent._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(keys), 10_000):
            chunk = keys[start : start + 10_000]
            if connection.vendor == "postgresql":
                sql = f"SELECT fingerprint::text FROM {table} WHERE fingerprint = ANY(%s::uuid[])"
                cursor.execute(sql, [chunk])
            else:
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT fingerprint FROM {table} WHERE fingerprint IN ({marks})", chunk
                )
            found.update(uuid.UUID(value).hex for (value,) in cursor.fetchall())
    return found
