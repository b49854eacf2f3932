"""The clients a partner may see and the clients it may act in: one definition each (SPEC §1).

Used by the admin (client lists, pickers, access forms), the reports and the exports, and the
import of a partner admin's upload. Program staff are not partners: they see and act
everywhere, so these take a partner, never a user.

- *May act in* (revision 2, "Client access"): a client where an assignment or a seat has ever
  been recorded for one of the partner's employees, or where staff approved the partner's
  access request. Only there may its partner admins and client access managers add
  assignments and seats and upload activities.
- *May see*: those, plus the clients where the partner has activities or sold deals (a
  deal-only client shows in the admin and has a report page).

Every lookup starts from the partner's employees or the partner itself, through the indexes
(`employee, client, …` on assignments, seats and activities; `partner` on deals), so none of
them scans all of the partner's activities or another partner's rows.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import AccessRequest, Assignment, ClientAccount, Employee, Partner, Seat


def _employees(partner: Partner) -> QuerySet:
    return Employee.objects.filter(partner=partner).values("pk")


def _approved_hub_ids(partner: Partner) -> QuerySet:
    return AccessRequest.objects.filter(
        partner=partner, status=AccessRequest.Status.APPROVED
    ).values("hub_id")


def _client_id_sets(partner: Partner) -> list[QuerySet]:
    """One `client_id` query per way a partner comes to act in a client."""
    employees = _employees(partner)
    return [
        Assignment.objects.filter(employee__in=employees).order_by().values("client_id"),
        Seat.objects.filter(employee__in=employees).order_by().values("client_id"),
        ClientAccount.objects.filter(hub_id__in=_approved_hub_ids(partner)).order_by().values("pk"),
    ]


def _acting_client_ids(partner: Partner) -> QuerySet:
    first, *rest = _client_id_sets(partner)
    return first.union(*rest)


def _seen_client_ids(partner: Partner) -> QuerySet:
    from credits.models import Activity, Deal  # credits depends on accounts, not the reverse

    first, *rest = _client_id_sets(partner)
    return first.union(
        *rest,
        Activity.objects.filter(employee__in=_employees(partner)).order_by().values("client_id"),
        Deal.objects.filter(partner=partner).order_by().values("client_id"),
    )


def clients_partner_may_act_in(partner: Partner, clients: QuerySet | None = None) -> QuerySet:
    """The clients where the partner's admins may add assignments and seats and upload activities."""
    clients = ClientAccount.objects.all() if clients is None else clients
    return clients.filter(pk__in=_acting_client_ids(partner))


def clients_partner_may_see(partner: Partner, clients: QuerySet | None = None) -> QuerySet:
    """The clients a partner's users may see: those it may act in, plus activity and deals."""
    clients = ClientAccount.objects.all() if clients is None else clients
    return clients.filter(pk__in=_seen_client_ids(partner))


def partner_may_see_client(*, partner: Partner, client: ClientAccount) -> bool:
    """Whether the client is one the partner may see."""
    return clients_partner_may_see(partner, ClientAccount.objects.filter(pk=client.pk)).exists()


def partner_may_act_in_client(*, partner: Partner, client: ClientAccount) -> bool:
    """Whether the partner's admins may add access and upload activities in the client."""
    return clients_partner_may_act_in(partner, ClientAccount.objects.filter(pk=client.pk)).exists()


def client_ids_partner_may_act_in(partner: Partner) -> set[int]:
    """The ids of `clients_partner_may_act_in`, for checks made in memory (the importer)."""
    return {row["client_id"] for row in _acting_client_ids(partner)}


def hub_ids_partner_may_act_in(partner: Partner, hub_ids: Iterable[str]) -> set[str]:
    """Which of `hub_ids` name clients the partner may act in."""
    return set(
        clients_partner_may_act_in(
            partner, ClientAccount.objects.filter(hub_id__in=list(hub_ids))
        ).values_list("hub_id", flat=True)
    )


def clients_only_they_serve(employees: list[Employee]) -> list[tuple[Employee, ClientAccount]]:
    """(employee, client) where the employee is assigned and seated, and no other active
    employee of the partner outside `employees` is: deactivating them leaves the client with
    nobody whose activity counts, so its credit runs out (SPEC §3.4)."""
    chosen = {e.pk for e in employees}
    found = []
    for employee in employees:
        seated = Seat.objects.filter(employee=employee, end__isnull=True).values("client")
        for assignment in Assignment.objects.filter(
            employee=employee, end__isnull=True, client__in=seated
        ).select_related("client"):
            others = Employee.objects.filter(
                partner_id=employee.partner_id, is_active=True
            ).exclude(pk__in=chosen)
            served = Assignment.objects.filter(
                client=assignment.client, end__isnull=True, employee__in=others
            ).filter(
                employee__in=Seat.objects.filter(client=assignment.client, end__isnull=True).values(
                    "employee"
                )
            )
            if not served.exists():
                found.append((employee, assignment.client))
    return found
