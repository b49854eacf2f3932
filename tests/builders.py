"""Small builders over the real services, with explicit dates (STYLE §10, §12)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from accounts import services as access
from accounts.models import ClientAccount, Employee, Partner
from credits.models import Activity, CreditLine, DayResult, Deal, RecomputeRun, Standing
from credits.services import activity_record, deal_record

EPOCH = "2026-01-01"


def at(value: str) -> datetime:
    """'2026-04-03' or '2026-04-03T10:00' in program time → aware datetime."""
    parsed = datetime.fromisoformat(value)
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def make_partner(key: str, name: str = "", joined: str = EPOCH) -> Partner:
    return access.partner_join(key=key, name=name or f"Partner {key}", at=at(joined))


def make_employee(
    partner: Partner,
    email: str,
    *,
    role: str = "employee",
    is_client_access_manager: bool = False,
    user: User | None = None,
    added: str = EPOCH,
) -> Employee:
    employee = access.employee_add(
        partner=partner,
        email=email,
        name=email.split("@")[0].title(),
        role=role,
        is_client_access_manager=is_client_access_manager,
        at=at(added),
    )
    if user is not None:
        employee.user = user
        employee.save(update_fields=["user"])
    return employee


def make_client(
    hub_id: str,
    amount: str = "1000.00",
    currency: str = "USD",
    country: str = "US",
    added: str = EPOCH,
) -> ClientAccount:
    return access.client_add(
        hub_id=hub_id,
        name=f"Client {hub_id}",
        country=country,
        currency=currency,
        amount=Decimal(amount),
        at=at(added),
    )


def give_access(employee: Employee, client: ClientAccount, when: str = EPOCH) -> None:
    """Steps 2 and 3: assign the client and add the seat."""
    access.client_assign(employee=employee, client=client, at=at(when))
    access.seat_add(employee=employee, client=client, at=at(when))


def act(
    employee: Employee,
    client: ClientAccount,
    when: str,
    tool: str = "blog",
    action: str = "publish",
) -> Activity:
    return activity_record(employee=employee, client=client, at=at(when), tool=tool, action=action)


def deal(
    partner: Partner,
    client: ClientAccount,
    closed: str,
    amount: str,
    kind: str = "sourced",
    currency: str = "USD",
) -> Deal:
    return deal_record(
        partner=partner,
        client=client,
        closed_on=date.fromisoformat(closed),
        amount=Decimal(amount),
        currency=currency,
        kind=kind,
    )


@dataclass
class TwoPartners:
    partner_a: Partner
    partner_b: Partner
    anna: Employee  # partner A's employee with access to client_a
    bob: Employee  # partner B's employee with access to client_b
    client_a: ClientAccount
    client_b: ClientAccount


def two_partners_build(partner_a: Partner, partner_b: Partner) -> TwoPartners:
    """Partner A and B each with an employee, a client, activity, a deal, results and an end."""
    anna = make_employee(partner_a, "anna@alpha.example")
    bob = make_employee(partner_b, "bob@beta.example")
    client_a, client_b, ended = make_client("777001"), make_client("888002"), make_client("777003")
    give_access(anna, client_a)
    give_access(anna, ended)
    give_access(bob, client_b)
    access.client_remove_all_employees(
        partner=partner_a, client=ended, at=at("2026-01-03"), note="secret alpha reason"
    )
    for employee, client in ((anna, client_a), (bob, client_b)):
        act(employee, client, "2026-01-05T10:00")
        deal(employee.partner, client, "2026-01-10", "500.00")
    run = RecomputeRun.objects.create(day=date(2026, 1, 5), status="succeeded")
    DayResult.objects.create(day=run.day, run=run, computed_at=timezone.now())
    for partner, client, employee in ((partner_a, client_a, anna), (partner_b, client_b, bob)):
        CreditLine.objects.create(
            run=run,
            day=run.day,
            partner=partner,
            client=client,
            currency="USD",
            mrr=Decimal("1000"),
            partners_sharing=1,
            share=Decimal("1000"),
            points=Decimal("10"),
            relationship_started=run.day,
            last_qualifying_activity=run.day,
            last_employee=employee,
            credit_until=date(2026, 3, 6),
        )
        Standing.objects.create(
            run=run,
            day=run.day,
            partner=partner,
            managed_points=Decimal("10"),
            sold_points=Decimal("0"),
            total_points=Decimal("10"),
            managed_clients=1,
            qualifying_activities=1,
        )
    return TwoPartners(partner_a, partner_b, anna, bob, client_a, client_b)


def approve_access(partner: Partner, client: ClientAccount, when: str = EPOCH) -> None:
    """Program staff approve the partner's request for access to the client (SPEC §1)."""
    request = access.access_request(partner=partner, hub_id=client.hub_id, at=at(when))
    access.access_request_decide(request=request, approve=True, at=at(when))
