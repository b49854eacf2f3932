"""The admin is scoped by partner: the outsider (partner B's admin) never sees partner A.

`build_world` is shared with the other admin test modules.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import ForeignKey, Model
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts import services as access
from accounts.models import ClientAccount, Employee, Partner
from credits.models import CreditLine, DayResult, RecomputeRun, Standing
from tests.builders import act, at, deal, give_access, make_client, make_employee

# Strings that identify partner A's data; none may reach the outsider.
PARTNER_A_MARKS = [
    "Alpha Agency",
    "alpha.example",
    "alice@example.com",
    "777001",
    "777003",
    "secret alpha reason",
]


@dataclass
class World:
    partner_a: Partner
    partner_b: Partner
    anna: Employee  # partner A's employee with access to client_a
    bob: Employee  # partner B's employee with access to client_b
    client_a: ClientAccount
    client_b: ClientAccount


def build_world(partner_a: Partner, partner_b: Partner) -> World:
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
    return World(partner_a, partner_b, anna, bob, client_a, client_b)


@pytest.fixture
def world(partner_a: Partner, partner_b: Partner) -> World:
    return build_world(partner_a, partner_b)


def assert_nothing_of_partner_a(response, url: str) -> None:
    """Refused, not found, redirected, or a page without any of partner A's marks."""
    if response.status_code in (302, 400, 403, 404):
        if response.status_code == 302:
            assert not any(m in response["Location"] for m in PARTNER_A_MARKS), url
        return
    assert response.status_code == 200, f"{url}: {response.status_code}"
    content = response.content.decode()
    for mark in PARTNER_A_MARKS:
        assert mark not in content, f"{mark!r} leaks at {url}"


def _admin_urls(model: type[Model], obj: Model) -> list[str]:
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    urls = [reverse(f"{info}_history", args=[obj.pk])]
    for name in ("change", "delete"):
        urls.append(reverse(f"{info}_{name}", args=[obj.pk]))
    history = getattr(model, "history", None)
    if history is not None and hasattr(obj, "history"):
        for record in obj.history.all():
            try:
                urls.append(reverse(f"{info}_simple_history", args=[obj.pk, record.history_id]))
            except NoReverseMatch:
                break
    return urls


def _changelist_urls(model: type[Model], world: World) -> list[str]:
    base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    a = world.partner_a.pk
    queries = [
        "",
        "?q=alpha",
        "?q=77700",
        "?q=anna",
        "?active=all",
        "?open=all",
        "?in_program=all",
        f"?partner__id__exact={a}",
        f"?employee__partner__id__exact={a}",
        f"?partner__id__exact={a}&active=all",
    ]
    return [base + query for query in queries] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    ]


def _autocomplete_urls() -> list[str]:
    urls = []
    for model in admin.site._registry:
        for field in model._meta.get_fields():
            if isinstance(field, ForeignKey):
                for term in ("", "alpha", "77700", "anna"):
                    urls.append(
                        f"/admin/autocomplete/?app_label={model._meta.app_label}"
                        f"&model_name={model._meta.model_name}&field_name={field.name}&term={term}"
                    )
    return urls


@pytest.mark.django_db
def test_outsider_walking_every_admin_url_sees_nothing_of_partner_a(client, world, outsider):
    """Every registered model, every object, every page: changelist (with searches and
    filters), add, change, history (Django's and simple-history's), delete, autocomplete."""
    client.force_login(outsider)
    visited = 0
    urls = ["/admin/", *_autocomplete_urls()]
    for model in admin.site._registry:
        urls += _changelist_urls(model, world)
        for obj in model._default_manager.all():
            urls += _admin_urls(model, obj)
        urls.append(f"/admin/{model._meta.app_label}/")
    for url in urls:
        assert_nothing_of_partner_a(client.get(url), url)
        visited += 1
    assert visited > 200  # the walk did walk


@pytest.mark.django_db
def test_program_staff_do_see_partner_a_on_the_same_pages(client, world, staff):
    """The walk above is meaningful: the marks are there for someone allowed to see them."""
    client.force_login(staff)
    employee_page = client.get(reverse("admin:accounts_employee_change", args=[world.anna.pk]))
    assert "anna@alpha.example" in employee_page.content.decode()
    client_page = client.get(reverse("admin:accounts_clientaccount_changelist"))
    assert "777001" in client_page.content.decode()


@pytest.mark.django_db
def test_outsider_cannot_see_partner_a_employees(client, world, outsider):
    client.force_login(outsider)
    response = client.get(reverse("admin:accounts_employee_changelist") + "?active=all")
    content = response.content.decode()
    assert response.status_code == 200
    assert "bob@beta.example" in content
    assert "anna@alpha.example" not in content


@pytest.mark.django_db
def test_outsider_gets_404_for_partner_a_object_ids(client, world, outsider):
    client.force_login(outsider)
    anna = world.anna.pk
    for url in (
        reverse("admin:accounts_employee_change", args=[anna]),
        reverse("admin:accounts_employee_history", args=[anna]),
        reverse("admin:accounts_employee_delete", args=[anna]),
        reverse("admin:accounts_clientaccount_change", args=[world.client_a.pk]),
        reverse("admin:accounts_clientaccount_remove_all_employees", args=[world.client_a.pk]),
        reverse("admin:accounts_partner_change", args=[world.partner_a.pk]),
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.django_db
def test_outsider_cannot_post_to_partner_a_employee_change_page(client, world, outsider):
    client.force_login(outsider)
    url = reverse("admin:accounts_employee_change", args=[world.anna.pk])
    response = client.post(url, {"name": "Hacked", "role": "partner_admin"})
    assert response.status_code == 404
    world.anna.refresh_from_db()
    assert world.anna.name != "Hacked"


@pytest.mark.django_db
def test_partner_admin_sees_own_employees_and_not_partner_b(client, world, partner_admin):
    client.force_login(partner_admin)
    content = client.get(reverse("admin:accounts_employee_changelist")).content.decode()
    assert "anna@alpha.example" in content
    assert "bob@beta.example" not in content


@pytest.mark.django_db
def test_outsider_search_for_partner_a_email_finds_nothing(client, world, outsider):
    client.force_login(outsider)
    url = reverse("admin:accounts_employee_changelist") + "?active=all&q=anna%40alpha.example"
    content = client.get(url).content.decode()
    assert "0 results" in content


@pytest.mark.django_db
def test_partner_filter_offers_only_own_partner(client, world, outsider, staff):
    url = reverse("admin:accounts_employee_changelist") + "?active=all"
    client.force_login(outsider)
    assert "Alpha Agency" not in client.get(url).content.decode()
    client.force_login(staff)
    assert "Alpha Agency" in client.get(url).content.decode()


@pytest.mark.django_db
def test_autocomplete_of_clients_lists_only_own_partner_clients(client, world, outsider):
    client.force_login(outsider)
    url = "/admin/autocomplete/?app_label=accounts&model_name=clientmrr&field_name=client&term="
    results = client.get(url).json()["results"]
    assert [r["text"] for r in results] == ["Client 888002 (888002)"]


@pytest.mark.django_db
def test_seat_form_lists_only_own_partner_active_employees(client, world, partner_admin):
    deactivated = make_employee(world.partner_a, "gone@alpha.example")
    access.employee_deactivate(employee=deactivated, at=at("2026-01-02"))
    client.force_login(partner_admin)
    content = client.get(reverse("admin:accounts_seat_add")).content.decode()
    assert "anna@alpha.example" in content
    assert "bob@beta.example" not in content
    assert "gone@alpha.example" not in content


@pytest.mark.django_db
def test_users_without_partner_or_staff_group_see_nothing(client, world):
    stranger = User.objects.create_user("sam", "sam@example.com", "pw", is_staff=True)
    client.force_login(stranger)
    assert client.get(reverse("admin:accounts_employee_changelist")).status_code == 403
    index = client.get("/admin/").content.decode()
    assert "Employees" not in index
