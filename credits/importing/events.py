"""Phase 1: the few non-activity rows, applied in (at, line) order through the services."""

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import services as access
from accounts.models import ClientAccount, Employee, Partner
from credits.importing.reading import (
    KINDS,
    NEEDS,
    ROLES,
    Header,
    RowError,
    amount_parse,
    at_parse,
    choice_parse,
    country_parse,
    currency_parse,
    text_check,
)
from credits.importing.report import ImportReport
from credits.models import ImportedEvent
from credits.services import deal_record, fingerprint
from partnercredit.days import program_day

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


@dataclass
class EventRow:
    line: int
    at: datetime
    event: str
    values: dict[str, str]
    amount: Decimal | None
    ref: str

    def identity(self) -> str:
        """The fingerprint (hex) of this row: its ref, or its normalised content."""
        content = [self.event, timezone.localtime(self.at).isoformat()]
        content += [self.values.get(column, "") for column in IDENTITY]
        return fingerprint(self.ref, content).hex


def event_read(line: int, event: str, fields: list[str], header: Header, tz: tzinfo) -> EventRow:
    """Check one non-activity row's values; raises RowError."""
    raw = {column: fields[i] for column, i in header.index.items()}
    values = {c: v.strip() for c, v in raw.items() if v.strip() and c not in ("at", "event")}
    if "name" in values:
        values["name"] = text_check(raw["name"], "name", 200)  # kept verbatim, formulas too
    for column in NEEDS[event]:
        if column not in values:
            raise RowError(column, f"required for {event}")
    at = at_parse(raw["at"].strip(), tz)
    for column, size in (("partner", 32), ("client", 32), ("employee", 254)):
        if column in values:
            text_check(values[column], column, size)
    if "employee" in values:
        values["employee"] = values["employee"].lower()
    if "role" in values:
        values["role"] = choice_parse(values["role"], "role", ROLES)
    if "kind" in values:
        values["kind"] = choice_parse(values["kind"], "kind", KINDS)
    if "country" in values:
        values["country"] = country_parse(values["country"])
    if "currency" in values:
        values["currency"] = currency_parse(values["currency"])
    amount = None
    if "amount" in values:
        amount = amount_parse(values["amount"])
        values["amount"] = str(amount)
    ref = text_check(values.get("ref", ""), "ref", 200)
    return EventRow(line=line, at=at, event=event, values=values, amount=amount, ref=ref)


def events_apply(rows: list[EventRow], report: ImportReport, actor: access.Actor) -> None:
    """Apply rows in (at, file order); each in a savepoint, so a refused row leaves no trace."""
    for row in sorted(rows, key=lambda r: (r.at, r.line)):
        key = row.identity()
        if ImportedEvent.objects.filter(fingerprint=key).exists():
            report.duplicates += 1
            continue
        try:
            with transaction.atomic():
                _apply(row, actor)
                ImportedEvent.objects.create(fingerprint=key, event=row.event, at=row.at)
        except RowError as exc:
            report.reject(row.line, exc.column, exc.reason)
        except ValidationError as exc:
            report.reject(row.line, "event", f"{row.event} refused: {'; '.join(exc.messages)}")
        else:
            report.applied += 1


def _partner(values: dict[str, str]) -> Partner:
    partner = Partner.objects.filter(key=values["partner"]).first()
    if partner is None:
        raise RowError("partner", f"unknown partner {values['partner']!r}")
    return partner


def _employee(values: dict[str, str]) -> Employee:
    partner = _partner(values)
    employee = (
        Employee.objects.select_related("partner")
        .filter(partner=partner, email=values["employee"])
        .first()
    )
    if employee is None:
        raise RowError(
            "employee", f"unknown employee {values['employee']!r} of partner {partner.key}"
        )
    return employee


def _client(values: dict[str, str]) -> ClientAccount:
    client = ClientAccount.objects.filter(hub_id=values["client"]).first()
    if client is None:
        raise RowError("client", f"unknown client {values['client']!r}")
    return client


ACCESS_CHANGES = {
    "client_assigned": access.client_assign,
    "client_unassigned": access.client_unassign,
    "seat_added": access.seat_add,
    "seat_removed": access.seat_remove,
    "employee_deactivated": access.employee_deactivate,
    "employee_reactivated": access.employee_reactivate,
}


def _apply(row: EventRow, actor: access.Actor) -> None:  # noqa: C901 — one branch per event
    v, at, event = row.values, row.at, row.event
    if event == "partner_joined":
        access.partner_join(key=v["partner"], name=v.get("name", ""), at=at, actor=actor)
    elif event == "partner_left":
        access.partner_leave(partner=_partner(v), at=at, actor=actor)
    elif event == "employee_added":
        role = v.get("role", "employee")
        access.employee_add(
            partner=_partner(v),
            email=v["employee"],
            name=v.get("name", ""),
            role=Employee.Role.EMPLOYEE if role == "client_access_manager" else role,
            is_client_access_manager=role == "client_access_manager",
            at=at,
            actor=actor,
        )
    elif event in ("employee_deactivated", "employee_reactivated"):
        ACCESS_CHANGES[event](employee=_employee(v), at=at, actor=actor)
    elif event in ("client_assigned", "client_unassigned", "seat_added", "seat_removed"):
        employee = _employee(v)
        ACCESS_CHANGES[event](employee=employee, client=_client(v), at=at, actor=actor)
    elif event == "client_added":
        access.client_add(
            hub_id=v["client"],
            name=v["name"],
            country=v["country"],
            currency=v["currency"],
            amount=row.amount,
            at=at,
            actor=actor,
        )
    elif event == "mrr_changed":
        client = _client(v)
        access.client_mrr_change(
            client=client, amount=row.amount, currency=v.get("currency"), at=at, actor=actor
        )
    elif event == "all_employees_removed":
        access.client_remove_all_employees(
            partner=_partner(v), client=_client(v), at=at, actor=actor
        )
    elif event == "services_ended":
        access.services_end(partner=_partner(v), client=_client(v), at=at, actor=actor)
    elif event == "deal_closed":
        deal_record(
            partner=_partner(v),
            client=_client(v),
            closed_on=program_day(at),
            amount=row.amount,
            currency=v["currency"],
            kind=v["kind"],
            ref=row.ref,
        )
    else:  # pragma: no cover — event_read only lets known events through
        raise RowError("event", f"unknown event {event!r}")
