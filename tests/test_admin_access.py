"""Managing employees and their access in the admin: each action once, through the services."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from accounts.models import Assignment, Employee, EmployeeSpell, RelationshipEnd, Seat
from accounts.permissions import PROGRAM_ADMINS
from tests.builders import approve_access, make_client, make_employee


def _action(client, model: str, action: str, *pks: int, query: str = "", confirm: str = ""):
    """Run an admin action; `confirm`: type it on the confirmation page the action shows."""
    url = reverse(f"admin:accounts_{model}_changelist") + query
    data = {"action": action, "_selected_action": list(pks)}
    if confirm:
        data.update(confirmed="Confirm", confirmation=confirm)
    return client.post(url, data, follow=True)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db
def test_employee_list_shows_active_employees_by_default_and_all_on_request(
    client, two_partners, partner_admin
):
    gone = make_employee(two_partners.partner_a, "gone@alpha.example")
    _action(client, "employee", "deactivate", gone.pk)  # not logged in: nothing happens
    client.force_login(partner_admin)
    _action(client, "employee", "deactivate", gone.pk)
    url = reverse("admin:accounts_employee_changelist")
    assert "gone@alpha.example" not in client.get(url).content.decode()
    assert "gone@alpha.example" in client.get(url + "?active=all").content.decode()
    assert "gone@alpha.example" in client.get(url + "?active=no").content.decode()


@pytest.mark.django_db
def test_partner_admin_adds_an_employee_through_the_service(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    response = client.post(
        reverse("admin:accounts_employee_add"),
        {"email": "New@Alpha.example", "name": "Nina", "role": "employee"},
    )
    assert response.status_code == 302
    nina = Employee.objects.get(email="new@alpha.example")
    assert nina.partner == two_partners.partner_a  # their own partner, not chosen
    assert EmployeeSpell.objects.filter(employee=nina, end__isnull=True).exists()
    assert nina.history.latest().history_user == partner_admin


@pytest.mark.django_db
def test_partner_admin_cannot_add_an_employee_twice(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    response = client.post(
        reverse("admin:accounts_employee_add"), {"email": "anna@alpha.example", "role": "employee"}
    )
    assert response.status_code == 200
    assert "already an employee of 1001" in response.content.decode()
    assert Employee.objects.filter(email="anna@alpha.example").count() == 1


@pytest.mark.django_db
def test_partner_admin_deactivates_and_reactivates_employees_with_a_count(
    client, two_partners, partner_admin
):
    extra = make_employee(two_partners.partner_a, "extra@alpha.example")
    client.force_login(partner_admin)
    response = _action(
        client, "employee", "deactivate", two_partners.anna.pk, extra.pk, confirm="777001"
    )  # anna is the last of partner A who earns credit in 777001
    assert "2 employees deactivated." in _messages(response)
    assert not Employee.objects.filter(
        pk__in=[two_partners.anna.pk, extra.pk], is_active=True
    ).exists()
    response = _action(client, "employee", "reactivate", extra.pk, query="?active=no")
    assert "1 employee reactivated." in _messages(response)
    extra.refresh_from_db()
    assert extra.is_active


@pytest.mark.django_db
def test_outsider_cannot_deactivate_partner_a_employees_by_posting_their_ids(
    client, two_partners, outsider
):
    client.force_login(outsider)
    _action(client, "employee", "deactivate", two_partners.anna.pk)
    two_partners.anna.refresh_from_db()
    assert two_partners.anna.is_active


@pytest.mark.django_db
def test_employee_page_shows_assignments_and_seats_with_links_to_add(
    client, two_partners, partner_admin
):
    client.force_login(partner_admin)
    page = client.get(reverse("admin:accounts_employee_change", args=[two_partners.anna.pk]))
    content = page.content.decode()
    assert "assigned clients (step 2)" in content.lower()
    assert "seats in client accounts (step 3)" in content.lower()
    assert "Client 777001 (777001)" in content
    assert f"{reverse('admin:accounts_seat_add')}?employee={two_partners.anna.pk}" in content


@pytest.mark.django_db
def test_access_manager_adds_and_removes_a_seat_but_cannot_add_employees(
    client, two_partners, access_manager
):
    client.force_login(access_manager)
    assert client.get(reverse("admin:accounts_employee_add")).status_code == 403
    assert client.get(reverse("admin:accounts_employee_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_assignment_add")).status_code == 403
    fresh = make_client("777009")
    approve_access(two_partners.partner_a, fresh)
    response = client.post(
        reverse("admin:accounts_seat_add"),
        {"employee": two_partners.anna.pk, "client_hub_id": "777009"},
    )
    assert response.status_code == 302
    seat = Seat.objects.get(employee=two_partners.anna, client=fresh, end__isnull=True)
    assert seat.history.latest().history_user == access_manager
    response = _action(client, "seat", "remove_seats", seat.pk, confirm="777009")
    assert "1 seat ended." in _messages(response)
    seat.refresh_from_db()
    assert seat.end is not None and seat.ended_by == access_manager
    last = RelationshipEnd.objects.get(client=fresh)
    assert last.reason == RelationshipEnd.Reason.LAST_SEAT_REMOVED


@pytest.mark.django_db
def test_seat_form_rejects_an_unknown_hub_id_and_a_second_open_seat(
    client, two_partners, partner_admin
):
    client.force_login(partner_admin)
    url = reverse("admin:accounts_seat_add")
    unknown = client.post(url, {"employee": two_partners.anna.pk, "client_hub_id": "nope"})
    assert "Your partner has no access to client account nope." in unknown.content.decode()
    twice = client.post(url, {"employee": two_partners.anna.pk, "client_hub_id": "777001"})
    assert "already has a seat in 777001" in twice.content.decode()


@pytest.mark.django_db
def test_partner_admin_cannot_give_partner_b_employee_a_seat(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    response = client.post(
        reverse("admin:accounts_seat_add"),
        {"employee": two_partners.bob.pk, "client_hub_id": "777001"},
    )
    assert response.status_code == 200  # the form refuses a choice it does not offer
    assert not Seat.objects.filter(employee=two_partners.bob, client=two_partners.client_a).exists()


@pytest.mark.django_db
def test_partner_admin_assigns_and_unassigns_a_client(client, two_partners, partner_admin):
    fresh = make_client("777010")
    approve_access(two_partners.partner_a, fresh)
    client.force_login(partner_admin)
    response = client.post(
        reverse("admin:accounts_assignment_add"),
        {"employee": two_partners.anna.pk, "client_hub_id": "777010"},
    )
    assert response.status_code == 302
    row = Assignment.objects.get(employee=two_partners.anna, client=fresh)
    response = _action(client, "assignment", "unassign", row.pk)
    assert "1 assignment ended." in _messages(response)
    row.refresh_from_db()
    assert row.end is not None


@pytest.mark.django_db
def test_assignment_list_shows_open_rows_by_default(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    url = reverse("admin:accounts_seat_changelist")
    assert "777003" not in client.get(url).content.decode()  # its seat was removed
    assert "777003" in client.get(url + "?open=all").content.decode()


@pytest.mark.django_db
def test_client_page_shows_only_own_partner_employees_with_access(
    client, two_partners, partner_admin, staff
):
    from tests.builders import give_access

    give_access(two_partners.bob, two_partners.client_a)  # a shared client
    url = reverse("admin:accounts_clientaccount_change", args=[two_partners.client_a.pk])
    client.force_login(partner_admin)
    content = client.get(url).content.decode()
    assert "anna@alpha.example" in content
    assert "bob@beta.example" not in content
    client.force_login(staff)
    content = client.get(url).content.decode()
    assert "anna@alpha.example" in content and "bob@beta.example" in content


@pytest.mark.django_db
def test_remove_all_employees_with_a_wrong_confirmation_writes_nothing(
    client, two_partners, partner_admin
):
    client.force_login(partner_admin)
    url = reverse(
        "admin:accounts_clientaccount_remove_all_employees", args=[two_partners.client_a.pk]
    )
    ends = RelationshipEnd.objects.count()
    response = client.post(url, {"confirmation": "777002", "reason": "oops"})
    assert response.status_code == 200
    assert "Type “777001” exactly to confirm." in response.content.decode()
    assert RelationshipEnd.objects.count() == ends
    assert Seat.objects.filter(client=two_partners.client_a, end__isnull=True).exists()


@pytest.mark.django_db
def test_remove_all_employees_records_who_when_and_why(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    changelist = reverse("admin:accounts_clientaccount_changelist")
    response = client.post(
        changelist,
        {"action": "remove_all_employees", "_selected_action": [two_partners.client_a.pk]},
    )
    url = reverse(
        "admin:accounts_clientaccount_remove_all_employees", args=[two_partners.client_a.pk]
    )
    assert response["Location"] == url
    assert "Type “777001” to confirm." in client.get(url).content.decode()
    response = client.post(url, {"confirmation": "777001", "reason": "Contract over"}, follow=True)
    assert "Remove all partner employees from this client account for 1001: 1 seat ended." in (
        _messages(response)
    )
    end = RelationshipEnd.objects.get(client=two_partners.client_a)
    assert end.reason == RelationshipEnd.Reason.ALL_EMPLOYEES_REMOVED
    assert (end.actor, end.note, end.partner) == (
        partner_admin,
        "Contract over",
        two_partners.partner_a,
    )
    assert not Seat.objects.filter(client=two_partners.client_a, end__isnull=True).exists()


@pytest.mark.django_db
def test_program_staff_end_services_for_the_partner_they_pick(client, two_partners, staff):
    client.force_login(staff)
    url = reverse("admin:accounts_clientaccount_end_services", args=[two_partners.client_a.pk])
    response = client.post(
        url, {"partner": two_partners.partner_a.pk, "confirmation": "777001", "reason": "Churned"}
    )
    assert response.status_code == 302
    end = RelationshipEnd.objects.get(client=two_partners.client_a)
    assert (end.reason, end.actor, end.note) == ("services_ended", staff, "Churned")
    assert not Assignment.objects.filter(client=two_partners.client_a, end__isnull=True).exists()


@pytest.mark.django_db
def test_program_admin_lets_a_partner_leave_after_typing_its_key(client, two_partners, staff):
    client.force_login(staff)
    url = reverse("admin:accounts_partner_leave", args=[two_partners.partner_b.pk])
    client.post(url, {"confirmation": "1001", "reason": "wrong key"})
    two_partners.partner_b.refresh_from_db()
    assert two_partners.partner_b.left_at is None
    client.post(url, {"confirmation": "2002", "reason": "Left the program"})
    two_partners.partner_b.refresh_from_db()
    assert two_partners.partner_b.left_at is not None
    assert (
        RelationshipEnd.objects.get(partner=two_partners.partner_b, reason="partner_left").actor
        == staff
    )


@pytest.mark.django_db
def test_partner_admin_cannot_end_a_partnership(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    url = reverse("admin:accounts_partner_leave", args=[two_partners.partner_a.pk])
    assert client.post(url, {"confirmation": "1001", "reason": "x"}).status_code == 403


@pytest.mark.django_db
def test_credit_reviewer_reads_everything_but_changes_nothing(client, two_partners, reviewer):
    client.force_login(reviewer)
    listing = client.get(reverse("admin:accounts_employee_changelist")).content.decode()
    assert "anna@alpha.example" in listing and "bob@beta.example" in listing
    assert 'value="deactivate"' not in listing
    assert client.get(reverse("admin:accounts_employee_add")).status_code == 403
    change = reverse("admin:accounts_employee_change", args=[two_partners.anna.pk])
    assert client.post(change, {"name": "Changed"}).status_code == 403
    _action(client, "employee", "deactivate", two_partners.anna.pk)
    two_partners.anna.refresh_from_db()
    assert two_partners.anna.is_active and two_partners.anna.name != "Changed"
    end_url = reverse("admin:accounts_clientaccount_end_services", args=[two_partners.client_a.pk])
    assert client.get(end_url).status_code == 403


@pytest.mark.django_db
def test_nothing_with_history_can_be_deleted_even_by_program_admins(client, two_partners, staff):
    client.force_login(staff)
    for url in (
        reverse("admin:accounts_employee_delete", args=[two_partners.anna.pk]),
        reverse("admin:accounts_partner_delete", args=[two_partners.partner_a.pk]),
        reverse("admin:accounts_seat_delete", args=[Seat.objects.first().pk]),
    ):
        assert client.post(url, {"post": "yes"}).status_code == 403
    assert Employee.objects.filter(pk=two_partners.anna.pk).exists()


@pytest.mark.django_db
def test_history_shows_who_changed_what_and_is_scoped(
    client, two_partners, partner_admin, outsider
):
    client.force_login(partner_admin)
    _action(client, "employee", "deactivate", two_partners.anna.pk, confirm="777001")
    url = reverse("admin:accounts_employee_history", args=[two_partners.anna.pk])
    content = client.get(url).content.decode()
    assert "alice" in content  # the actor
    # the change, before and after
    assert "<strong>Is active:</strong> True &nbsp;&rarr;&nbsp;&nbsp;False" in " ".join(
        content.split()
    )
    record = two_partners.anna.history.latest()
    revert = reverse(
        "admin:accounts_employee_simple_history", args=[two_partners.anna.pk, record.pk]
    )
    assert client.post(revert, {}).status_code == 403  # reverting would bypass the services
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(revert).status_code == 404


@pytest.mark.django_db
def test_program_admin_adds_a_partner_and_a_client_through_the_services(client, db):
    from django.contrib.auth.models import Group

    admin_user = User.objects.create_user("pa", "pa@program.example", "pw", is_staff=True)
    admin_user.groups.add(Group.objects.get(name=PROGRAM_ADMINS))
    client.force_login(admin_user)
    response = client.post(reverse("admin:accounts_partner_add"), {"key": "3003", "name": "Gamma"})
    assert response.status_code == 302
    response = client.post(
        reverse("admin:accounts_clientaccount_add"),
        {"hub_id": "555", "name": "Shop", "country": "IT", "currency": "EUR", "amount": "880.00"},
    )
    assert response.status_code == 302
    from accounts.models import ClientAccount

    shop = ClientAccount.objects.get(hub_id="555")
    assert shop.mrr_history.get().amount == 880


def _form_data(html: str) -> dict[str, str]:
    """The inputs of a rendered admin form, as a browser would post them."""
    import re

    data = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag and 'type="submit"' not in tag:
            data[name.group(1)] = value.group(1) if value else ""
    return data


@pytest.mark.django_db
def test_partner_admin_changes_an_employee_role_on_its_page(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    url = reverse("admin:accounts_employee_change", args=[two_partners.anna.pk])
    data = _form_data(client.get(url).content.decode())
    data.update({"role": "partner_admin", "is_client_access_manager": "on", "name": "Anna A."})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    two_partners.anna.refresh_from_db()
    assert (two_partners.anna.role, two_partners.anna.is_client_access_manager) == (
        "partner_admin",
        True,
    )
    assert two_partners.anna.history.latest().history_user == partner_admin


# --- actions that end credit as a side effect ask first (issue 14 point 4) ------------------------


@pytest.mark.django_db
def test_removing_the_last_seat_says_what_ends_and_asks_to_confirm(
    client, two_partners, partner_admin
):
    seat = Seat.objects.get(employee=two_partners.anna, client=two_partners.client_a, end=None)
    client.force_login(partner_admin)
    page = _action(client, "seat", "remove_seats", seat.pk)
    text = page.content.decode()
    assert "1001 in Client 777001 (777001): its last seat" in text
    assert "Type “777001” to confirm." in text
    seat.refresh_from_db()
    assert seat.end is None  # nothing happened yet
    _action(client, "seat", "remove_seats", seat.pk, confirm="777999")  # mistyped
    seat.refresh_from_db()
    assert seat.end is None
    response = _action(client, "seat", "remove_seats", seat.pk, confirm="777001")
    assert "1 seat ended." in _messages(response)
    assert RelationshipEnd.objects.filter(
        client=two_partners.client_a, reason=RelationshipEnd.Reason.LAST_SEAT_REMOVED
    ).exists()


@pytest.mark.django_db
def test_removing_a_seat_that_is_not_the_last_needs_no_confirmation(
    client, two_partners, partner_admin
):
    from tests.builders import give_access

    nina = make_employee(two_partners.partner_a, "nina@alpha.example")
    give_access(nina, two_partners.client_a)
    seat = Seat.objects.get(employee=nina, client=two_partners.client_a, end=None)
    client.force_login(partner_admin)
    response = _action(client, "seat", "remove_seats", seat.pk)
    assert "1 seat ended." in _messages(response)


@pytest.mark.django_db
def test_deactivating_the_last_earner_says_what_runs_out_and_asks_to_confirm(
    client, two_partners, partner_admin
):
    client.force_login(partner_admin)
    page = _action(client, "employee", "deactivate", two_partners.anna.pk).content.decode()
    assert "anna@alpha.example is the last of 1001 who earns credit there" in page
    assert "60 days after the last qualifying activity" in page
    two_partners.anna.refresh_from_db()
    assert two_partners.anna.is_active
    # an employee who serves no client alone is deactivated at once
    extra = make_employee(two_partners.partner_a, "extra@alpha.example")
    assert "1 employee deactivated." in _messages(
        _action(client, "employee", "deactivate", extra.pk)
    )


@pytest.mark.django_db
def test_an_activity_page_is_titled_with_the_client_hub_id(client, two_partners, partner_admin):
    from credits.models import Activity

    activity = Activity.objects.get(client=two_partners.client_a)
    client.force_login(partner_admin)
    page = client.get(reverse("admin:credits_activity_change", args=[activity.pk])).content.decode()
    assert "blog/publish in 777001 at 2026-01-05" in page
