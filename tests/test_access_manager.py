"""Client access managers (SPEC §1): manage seats and read their own partner's reports, nothing
else — checked on every admin page and every report (issue 14 point 5)."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.models import Seat
from tests.builders import approve_access

pytestmark = pytest.mark.django_db

# What a client access manager may open; every other admin page refuses her.
ALLOWED: dict[tuple[str, str | None], set[str]] = {
    ("accounts", "seat"): {"changelist", "add"},
    ("accounts", "accessrequest"): {"changelist", "add"},
}


def _admin_urls() -> list[tuple[tuple[str, str | None], str, str]]:
    urls = []
    for model in admin.site._registry:
        key = (model._meta.app_label, model._meta.model_name)
        for page in ("changelist", "add"):
            try:
                urls.append((key, page, reverse(f"admin:{key[0]}_{key[1]}_{page}")))
            except NoReverseMatch:
                pass
    return urls


@pytest.mark.parametrize(("key", "page", "url"), _admin_urls())
def test_a_client_access_manager_opens_only_the_seat_and_request_pages(
    key: tuple[str, str | None], page: str, url: str, access_manager, two_partners
):
    client = Client()
    client.force_login(access_manager)
    status = client.get(url).status_code
    if page in ALLOWED.get(key, set()):
        assert status == 200, url
    else:
        assert status in (302, 403, 404), f"{url}: {status}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/reports/", 200),
        ("/reports/partners/1001/", 200),
        ("/reports/clients/777001/", 200),
        ("/reports/why/", 200),
        ("/reports/partners/2002/", 404),
        ("/reports/clients/888002/", 404),
    ],
)
def test_a_client_access_manager_reads_her_partner_reports_only(
    url: str, expected: int, access_manager, two_partners
):
    client = Client()
    client.force_login(access_manager)
    response = client.get(url, follow=True)
    assert response.status_code == expected, url
    if expected == 200:
        assert "Beta Bureau" not in response.content.decode()


def test_a_client_access_manager_adds_and_removes_seats_in_approved_clients_only(
    access_manager, two_partners
) -> None:
    from accounts.models import ClientAccount
    from tests.builders import make_client

    client = Client()
    client.force_login(access_manager)
    add = reverse("admin:accounts_seat_add")
    fresh = make_client("777060")
    refused = client.post(add, {"employee": two_partners.anna.pk, "client_hub_id": "777060"})
    assert "no access to client account 777060" in refused.content.decode()
    approve_access(two_partners.partner_a, fresh)
    assert (
        client.post(add, {"employee": two_partners.anna.pk, "client_hub_id": "777060"}).status_code
        == 302
    )
    seat = Seat.objects.get(employee=two_partners.anna, client=fresh, end=None)
    # she may not assign clients, add employees, end services, or touch partner B
    assert client.get(reverse("admin:accounts_assignment_add")).status_code == 403
    assert client.get(reverse("admin:accounts_employee_add")).status_code == 403
    end = reverse("admin:accounts_clientaccount_end_services", args=[fresh.pk])
    assert client.post(end, {"confirmation": "777060", "reason": "x"}).status_code in (403, 404)
    assert Seat.objects.filter(pk=seat.pk, end=None).exists()
    assert ClientAccount.objects.filter(hub_id="888002").exists()
    bob_seat = Seat.objects.get(employee=two_partners.bob, client=two_partners.client_b)
    client.post(
        reverse("admin:accounts_seat_changelist"),
        {"action": "remove_seats", "_selected_action": [bob_seat.pk]},
    )
    bob_seat.refresh_from_db()
    assert bob_seat.end is None
