"""The admin is scoped by partner: the outsider (partner B's admin) never sees partner A."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import ForeignKey, Model
from django.urls import NoReverseMatch, reverse

from accounts import services as access
from tests.builders import TwoPartners, at, make_employee

# Strings that identify partner A's data; none may reach the outsider.
PARTNER_A_MARKS = [
    "Alpha Agency",
    "alpha.example",
    "alice@example.com",
    "777001",
    "777003",
    "secret alpha reason",
]


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


def _changelist_urls(model: type[Model], two_partners: TwoPartners) -> list[str]:
    base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    a = two_partners.partner_a.pk
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
def test_outsider_walking_every_admin_url_sees_nothing_of_partner_a(client, two_partners, outsider):
    """Every registered model, every object, every page: changelist (with searches and
    filters), add, change, history (Django's and simple-history's), delete, autocomplete."""
    client.force_login(outsider)
    visited = 0
    urls = ["/admin/", *_autocomplete_urls()]
    for model in admin.site._registry:
        urls += _changelist_urls(model, two_partners)
        for obj in model._default_manager.all():
            urls += _admin_urls(model, obj)
        urls.append(f"/admin/{model._meta.app_label}/")
    for url in urls:
        assert_nothing_of_partner_a(client.get(url), url)
        visited += 1
    assert visited > 200  # the walk did walk


@pytest.mark.django_db
def test_program_staff_do_see_partner_a_on_the_same_pages(client, two_partners, staff):
    """The walk above is meaningful: the marks are there for someone allowed to see them."""
    client.force_login(staff)
    employee_page = client.get(
        reverse("admin:accounts_employee_change", args=[two_partners.anna.pk])
    )
    assert "anna@alpha.example" in employee_page.content.decode()
    client_page = client.get(reverse("admin:accounts_clientaccount_changelist"))
    assert "777001" in client_page.content.decode()


@pytest.mark.django_db
def test_outsider_cannot_see_partner_a_employees(client, two_partners, outsider):
    client.force_login(outsider)
    response = client.get(reverse("admin:accounts_employee_changelist") + "?active=all")
    content = response.content.decode()
    assert response.status_code == 200
    assert "bob@beta.example" in content
    assert "anna@alpha.example" not in content


@pytest.mark.django_db
def test_outsider_gets_404_for_partner_a_object_ids(client, two_partners, outsider):
    client.force_login(outsider)
    anna = two_partners.anna.pk
    for url in (
        reverse("admin:accounts_employee_change", args=[anna]),
        reverse("admin:accounts_employee_history", args=[anna]),
        reverse("admin:accounts_employee_delete", args=[anna]),
        reverse("admin:accounts_clientaccount_change", args=[two_partners.client_a.pk]),
        reverse(
            "admin:accounts_clientaccount_remove_all_employees", args=[two_partners.client_a.pk]
        ),
        reverse("admin:accounts_partner_change", args=[two_partners.partner_a.pk]),
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.django_db
def test_outsider_cannot_post_to_partner_a_employee_change_page(client, two_partners, outsider):
    client.force_login(outsider)
    url = reverse("admin:accounts_employee_change", args=[two_partners.anna.pk])
    response = client.post(url, {"name": "Hacked", "role": "partner_admin"})
    assert response.status_code == 404
    two_partners.anna.refresh_from_db()
    assert two_partners.anna.name != "Hacked"


@pytest.mark.django_db
def test_partner_admin_sees_own_employees_and_not_partner_b(client, two_partners, partner_admin):
    client.force_login(partner_admin)
    content = client.get(reverse("admin:accounts_employee_changelist")).content.decode()
    assert "anna@alpha.example" in content
    assert "bob@beta.example" not in content


@pytest.mark.django_db
def test_outsider_search_for_partner_a_email_finds_nothing(client, two_partners, outsider):
    client.force_login(outsider)
    url = reverse("admin:accounts_employee_changelist") + "?active=all&q=anna%40alpha.example"
    content = client.get(url).content.decode()
    assert "0 results" in content


@pytest.mark.django_db
def test_partner_filter_offers_only_own_partner(client, two_partners, outsider, staff):
    url = reverse("admin:accounts_employee_changelist") + "?active=all"
    client.force_login(outsider)
    assert "Alpha Agency" not in client.get(url).content.decode()
    client.force_login(staff)
    assert "Alpha Agency" in client.get(url).content.decode()


@pytest.mark.django_db
def test_autocomplete_of_clients_lists_only_own_partner_clients(client, two_partners, outsider):
    client.force_login(outsider)
    url = "/admin/autocomplete/?app_label=accounts&model_name=clientmrr&field_name=client&term="
    results = client.get(url).json()["results"]
    assert [r["text"] for r in results] == ["Client 888002 (888002)"]


@pytest.mark.django_db
def test_seat_form_lists_only_own_partner_active_employees(client, two_partners, partner_admin):
    deactivated = make_employee(two_partners.partner_a, "gone@alpha.example")
    access.employee_deactivate(employee=deactivated, at=at("2026-01-02"))
    client.force_login(partner_admin)
    content = client.get(reverse("admin:accounts_seat_add")).content.decode()
    assert "anna@alpha.example" in content
    assert "bob@beta.example" not in content
    assert "gone@alpha.example" not in content


@pytest.mark.django_db
def test_users_without_partner_or_staff_group_see_nothing(client, two_partners):
    stranger = User.objects.create_user("sam", "sam@example.com", "pw", is_staff=True)
    client.force_login(stranger)
    assert client.get(reverse("admin:accounts_employee_changelist")).status_code == 403
    index = client.get("/admin/").content.decode()
    assert "Employees" not in index
