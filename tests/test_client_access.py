"""Client access (SPEC §1, revision 2; issue 18 finding 1, issue 17 point 1).

The story: partner B's admin (the outsider) tries to give her own employee managed credit in
partner A's client 777001 — by the admin forms, by posting ids, by probing hub ids. Every path
refuses her, and no answer tells her whether a hub id exists. Partner A asks for a new client by
hub id; staff approve; only then can A's admin add access there.
"""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as access
from accounts.models import AccessRequest, Assignment, ClientAccount, RelationshipEnd, Seat
from accounts.selectors import (
    client_ids_partner_may_act_in,
    clients_partner_may_act_in,
    clients_partner_may_see,
    partner_may_see_client,
)
from credits.models import CreditLine
from tests.builders import at, deal, make_client, make_employee

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _page(response, hub_id: str) -> str:
    """The page with the typed hub id and the per-request CSRF token blanked out."""
    text = response.content.decode().replace(hub_id, "HUB")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


def _add(client, model: str, employee_pk: int, hub_id: str):
    return client.post(
        reverse(f"admin:accounts_{model}_add"), {"employee": employee_pk, "client_hub_id": hub_id}
    )


# --- the outsider cannot add access in partner A's client -----------------------------------------


@pytest.mark.parametrize("model", ["assignment", "seat"])
def test_outsider_cannot_add_access_for_her_employee_in_partner_a_client(
    client, two_partners, outsider, model: str
):
    client.force_login(outsider)
    response = _add(client, model, two_partners.bob.pk, "777001")
    assert response.status_code == 200
    assert "Your partner has no access to client account 777001" in response.content.decode()
    assert not Assignment.objects.filter(
        employee=two_partners.bob, client=two_partners.client_a
    ).exists()
    assert not Seat.objects.filter(employee=two_partners.bob, client=two_partners.client_a).exists()


@pytest.mark.parametrize("model", ["assignment", "seat"])
def test_the_answer_is_the_same_for_a_hub_id_that_exists_and_one_that_does_not(
    client, two_partners, outsider, model: str
):
    client.force_login(outsider)
    answers, queries = [], []
    for hub_id in ("777001", "999999"):
        with CaptureQueriesContext(connection) as captured:
            response = _add(client, model, two_partners.bob.pk, hub_id)
        answers.append(_page(response, hub_id))
        queries.append(len(captured))
    assert answers[0] == answers[1]
    assert queries[0] == queries[1]  # the same work: one scoped query, no existence check


def test_the_access_manager_of_a_partner_is_refused_the_same_way(client, two_partners, partner_b):
    from django.contrib.auth.models import User

    user = User.objects.create_user("carl", "carl@beta.example", "pw", is_staff=True)
    make_employee(partner_b, "carl@beta.example", is_client_access_manager=True, user=user)
    client.force_login(user)
    response = _add(client, "seat", two_partners.bob.pk, "777001")
    assert "Your partner has no access to client account 777001" in response.content.decode()
    assert not Seat.objects.filter(employee=two_partners.bob, client=two_partners.client_a).exists()


def test_the_services_refuse_a_partner_user_outside_approved_clients(
    two_partners, outsider, partner_admin
):
    with pytest.raises(ValidationError, match="no access to client account 777001"):
        access.seat_add(
            employee=two_partners.bob,
            client=two_partners.client_a,
            at=at("2026-02-01"),
            actor=outsider,
        )
    with pytest.raises(PermissionDenied):  # another partner's employee
        access.seat_add(
            employee=two_partners.anna,
            client=two_partners.client_b,
            at=at("2026-02-01"),
            actor=outsider,
        )
    with pytest.raises(PermissionDenied):
        access.services_end(
            partner=two_partners.partner_a,
            client=two_partners.client_a,
            at=at("2026-02-01"),
            actor=outsider,
        )
    # Staff (no actor, or a program admin) record access anywhere: that is what approves it.
    access.client_assign(
        employee=two_partners.bob, client=two_partners.client_a, at=at("2026-02-01")
    )
    assert two_partners.client_a in clients_partner_may_act_in(two_partners.partner_b)


def test_partner_admin_adds_access_where_staff_recorded_it(client, two_partners, partner_admin):
    """777001 has a staff-recorded assignment for partner A: its admin may add a second employee."""
    nina = make_employee(two_partners.partner_a, "nina@alpha.example")
    client.force_login(partner_admin)
    assert _add(client, "assignment", nina.pk, "777001").status_code == 302
    assert _add(client, "seat", nina.pk, "777001").status_code == 302
    assert Seat.objects.filter(employee=nina, client=two_partners.client_a, end=None).exists()


# --- access requests ------------------------------------------------------------------------------


def _request(client, hub_id: str):
    return client.post(
        reverse("admin:accounts_accessrequest_add"),
        {"hub_id": hub_id, "note": "new contract"},
        follow=True,
    )


def test_a_request_answers_the_same_whether_the_hub_id_exists(client, two_partners, outsider):
    client.force_login(outsider)
    _request(client, "555555")  # the first request of a session warms caches
    answers, queries = [], []
    for hub_id in ("777001", "999999"):
        with CaptureQueriesContext(connection) as captured:
            response = _request(client, hub_id)
        text = " ".join(_messages(response)).replace(hub_id, "HUB")
        answers.append(text)
        queries.append([q["sql"].replace(hub_id, "HUB") for q in captured.captured_queries])
        assert response.status_code == 200
    assert answers[0] == answers[1]
    assert "recorded" in answers[0]
    assert len(queries[0]) == len(queries[1])
    assert not any("accounts_clientaccount" in sql for sql in queries[0] + queries[1])
    # The outsider's list shows her requests without saying which hub ids exist.
    page = client.get(reverse("admin:accounts_accessrequest_changelist")).content.decode()
    assert "777001" in page and "999999" in page
    assert "client exists" not in page


def test_a_request_with_a_malformed_hub_id_is_a_form_error(client, two_partners, outsider):
    client.force_login(outsider)
    response = _request(client, "77/01")
    assert "is not valid" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_staff_approve_a_request_then_the_partner_admin_adds_access(
    client, two_partners, partner_admin, staff
):
    fresh = make_client("777020")
    client.force_login(partner_admin)
    assert "no access" in _add(client, "seat", two_partners.anna.pk, "777020").content.decode()
    _request(client, "777020")
    _request(client, "777020")  # asking twice while pending is one request
    request = AccessRequest.objects.get(partner=two_partners.partner_a, hub_id="777020")
    assert "no access" in _add(client, "seat", two_partners.anna.pk, "777020").content.decode()

    client.force_login(staff)
    queue = client.get(reverse("admin:accounts_accessrequest_changelist")).content.decode()
    assert "777020" in queue
    response = client.post(
        reverse("admin:accounts_accessrequest_changelist"),
        {"action": "approve", "_selected_action": [request.pk]},
        follow=True,
    )
    assert "1 request approved." in _messages(response)
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == staff

    client.force_login(partner_admin)
    assert _add(client, "seat", two_partners.anna.pk, "777020").status_code == 302
    assert Seat.objects.filter(employee=two_partners.anna, client=fresh, end=None).exists()


def test_a_refused_request_gives_no_access_and_a_missing_client_cannot_be_approved(
    client, two_partners, partner_admin, staff
):
    make_client("777021")
    refused = access.access_request(
        partner=two_partners.partner_a, hub_id="777021", at=at("2026-02-01")
    )
    ghost = access.access_request(
        partner=two_partners.partner_a, hub_id="777099", at=at("2026-02-01")
    )
    client.force_login(staff)
    url = reverse("admin:accounts_accessrequest_changelist")
    client.post(url, {"action": "refuse", "_selected_action": [refused.pk]})
    response = client.post(url, {"action": "approve", "_selected_action": [ghost.pk]}, follow=True)
    assert "No client account has hub id 777099" in " ".join(_messages(response))
    ghost.refresh_from_db()
    assert ghost.status == "pending"
    client.force_login(partner_admin)
    assert "no access" in _add(client, "seat", two_partners.anna.pk, "777021").content.decode()


def test_outsider_cannot_see_or_decide_partner_a_requests(client, two_partners, outsider):
    mine = access.access_request(
        partner=two_partners.partner_a, hub_id="777030", at=at("2026-02-01")
    )
    client.force_login(outsider)
    url = reverse("admin:accounts_accessrequest_changelist")
    assert "777030" not in client.get(url).content.decode()
    assert (
        client.get(reverse("admin:accounts_accessrequest_change", args=[mine.pk])).status_code
        == 404
    )
    client.post(url, {"action": "approve", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.status == "pending"


def test_a_partner_admin_cannot_approve_her_own_request(client, two_partners, partner_admin):
    make_client("777031")
    mine = access.access_request(
        partner=two_partners.partner_a, hub_id="777031", at=at("2026-02-01")
    )
    client.force_login(partner_admin)
    url = reverse("admin:accounts_accessrequest_changelist")
    client.post(url, {"action": "approve", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.status == "pending"


def test_staff_are_told_by_mail_of_a_new_request(two_partners, staff, mailoutbox) -> None:
    staff.email = "staff@program.example"
    staff.save()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        access.access_request(partner=two_partners.partner_a, hub_id="777040", at=at("2026-02-01"))
    assert [m.to for m in mailoutbox] == [["staff@program.example"]]
    assert "777040" in mailoutbox[0].subject


# --- ending a relationship needs access -----------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "service"),
    [
        ("end-services", access.services_end),
        ("remove-all-employees", access.client_remove_all_employees),
    ],
)
def test_ending_for_a_partner_without_access_is_refused(
    client, two_partners, staff, action: str, service
):
    url = reverse(
        f"admin:accounts_clientaccount_{action.replace('-', '_')}", args=[two_partners.client_a.pk]
    )
    client.force_login(staff)
    page = client.get(url).content.decode()
    assert "1001" in page and "2002" not in page  # only partners with access are offered
    response = client.post(
        url, {"partner": two_partners.partner_b.pk, "confirmation": "777001", "reason": "x"}
    )
    assert response.status_code == 200  # not a choice
    assert not RelationshipEnd.objects.filter(
        partner=two_partners.partner_b, client=two_partners.client_a
    ).exists()
    with pytest.raises(ValidationError, match="no access"):
        service(partner=two_partners.partner_b, client=two_partners.client_a, at=at("2026-02-01"))


def test_a_partner_admin_cannot_end_where_her_partner_has_no_access(client, two_partners, outsider):
    """777003's access of partner A ended; B's admin sees nothing to end in B's own client."""
    ended = ClientAccount.objects.get(hub_id="777003")
    deal(two_partners.partner_b, ended, "2026-01-10", "10.00")  # B can see it: a deal-only client
    client.force_login(outsider)
    url = reverse("admin:accounts_clientaccount_end_services", args=[ended.pk])
    response = client.get(url, follow=True)
    assert "no access to 777003" in " ".join(_messages(response))
    assert not RelationshipEnd.objects.filter(partner=two_partners.partner_b, client=ended).exists()


# --- one definition of the clients a partner may see ----------------------------------------------


def test_a_deal_only_client_is_seen_in_the_admin_and_the_reports_alike(
    client, two_partners, partner_admin, outsider
):
    deal_only = make_client("777050")
    deal(two_partners.partner_a, deal_only, "2026-01-10", "300.00")
    assert partner_may_see_client(partner=two_partners.partner_a, client=deal_only)
    assert not partner_may_see_client(partner=two_partners.partner_b, client=deal_only)
    assert deal_only not in clients_partner_may_act_in(two_partners.partner_a)

    client.force_login(partner_admin)
    listing = client.get(reverse("admin:accounts_clientaccount_changelist")).content.decode()
    assert "777050" in listing
    assert client.get(reverse("reports:client", args=["777050"])).status_code == 200

    client.force_login(outsider)
    listing = client.get(reverse("admin:accounts_clientaccount_changelist")).content.decode()
    assert "777050" not in listing
    assert client.get(reverse("reports:client", args=["777050"])).status_code == 404


def test_may_see_and_may_act_in_agree_with_the_world(two_partners) -> None:
    a_sees = set(clients_partner_may_see(two_partners.partner_a).values_list("hub_id", flat=True))
    assert a_sees == {"777001", "777003"}
    acting = clients_partner_may_act_in(two_partners.partner_a)
    assert set(acting.values_list("hub_id", flat=True)) == {"777001", "777003"}
    assert client_ids_partner_may_act_in(two_partners.partner_a) == set(
        acting.values_list("pk", flat=True)
    )
    assert CreditLine.objects.filter(partner=two_partners.partner_a).exists()


# --- uploads of activities ------------------------------------------------------------------------


def test_outsider_cannot_upload_activities_in_partner_a_client(
    client, two_partners, outsider, settings, tmp_path, django_capture_on_commit_callbacks
):
    """The credit fabrication of issue 18: one uploaded activity in 777001 would halve A's credit."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from credits.models import Activity, ImportJob
    from tests.test_import import HEADER, activity

    settings.MEDIA_ROOT = tmp_path
    rows = HEADER + activity("2026-02-03T10:00:00,2002,bob@beta.example,777001,blog,publish,x-1")
    rows += activity("2026-02-03T10:00:00,2002,bob@beta.example,888002,blog,publish,x-2")
    rows += activity("2026-02-03T10:00:00,2002,bob@beta.example,999999,blog,publish,x-3")
    rows += activity("2026-02-03T10:00:00,1001,anna@alpha.example,777001,blog,publish,x-4")
    rows += activity("2026-02-03T10:00:00,9999,anna@alpha.example,777001,blog,publish,x-5")
    rows += activity("2026-02-03T10:00:00,2002,anna@alpha.example,888002,blog,publish,x-6")
    rows += activity("2026-02-03T10:00:00,2002,nobody@alpha.example,888002,blog,publish,x-7")
    client.force_login(outsider)
    upload = SimpleUploadedFile("events.csv", rows.encode(), "text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:credits_importjob_add"), {"file": upload, "skip_invalid": "on"})
    job = ImportJob.objects.get()
    assert job.partner == two_partners.partner_b
    assert (job.rows_applied, job.rows_rejected) == (1, 6)  # 888002 is B's own client
    assert not Activity.objects.filter(
        client=two_partners.client_a, partner=two_partners.partner_b
    ).exists()
    existing, missing = (next(e for e in job.errors if hub in e) for hub in ("777001", "999999"))
    # the same answer for A's client and for a hub id that does not exist
    assert _unlined(existing, "777001") == _unlined(missing, "999999")
    # ... and for another partner's key or e-mail and ones that do not exist
    by_line = dict(zip(range(5, 9), sorted(job.errors, key=_line)[-4:], strict=True))
    assert _unlined(by_line[5], "1001") == _unlined(by_line[6], "9999")
    assert _unlined(by_line[7], "anna@alpha.example") == _unlined(
        by_line[8], "nobody@alpha.example"
    )


def _line(error: str) -> int:
    found = re.search(r"line (\d+)", error)
    return int(found.group(1)) if found else 0


def _unlined(error: str, hub_id: str) -> str:
    return re.sub(r"line \d+", "line N", error).replace(hub_id, "HUB")


# --- the client picker offers only the clients the partner may act in ---------------------------


def test_the_seat_form_offers_the_partner_clients_and_nothing_else(
    client, two_partners, partner_admin, outsider, staff
):
    deal(two_partners.partner_a, make_client("777070"), "2026-01-10", "10.00")  # seen, not acted in
    client.force_login(partner_admin)
    page = client.get(reverse("admin:accounts_seat_add")).content.decode()
    offered = re.findall(r'<option value="(\d+)">', page.split('<datalist id="client-choices">')[1])
    assert offered == ["777001", "777003"]
    client.force_login(outsider)
    page = client.get(reverse("admin:accounts_seat_add")).content.decode()
    assert "777001" not in page and "888002" in page
    client.force_login(staff)  # staff type any hub id; the partner's list never leaks to them
    assert "client-choices" not in client.get(reverse("admin:accounts_seat_add")).content.decode()


# --- the outsider's actions on partner A's rows -------------------------------------------------


@pytest.mark.parametrize(
    ("model", "action"), [("seat", "remove_seats"), ("assignment", "unassign")]
)
def test_outsider_actions_on_partner_a_access_rows_do_nothing(
    client, two_partners, outsider, model: str, action: str
):
    access_model = Seat if model == "seat" else Assignment
    rows = access_model.objects.filter(employee=two_partners.anna, end=None)
    pks = list(rows.values_list("pk", flat=True))
    client.force_login(outsider)
    client.post(
        reverse(f"admin:accounts_{model}_changelist"),
        {
            "action": action,
            "_selected_action": pks,
            "confirmed": "Confirm",
            "confirmation": "777001",
        },
    )
    assert rows.count() == len(pks)  # all still open


@pytest.mark.parametrize("view", ["end_services", "remove_all_employees"])
def test_outsider_cannot_reach_the_end_pages_of_partner_a_client(
    client, two_partners, outsider, view: str
):
    url = reverse(f"admin:accounts_clientaccount_{view}", args=[two_partners.client_a.pk])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.post(url, {"confirmation": "777001", "reason": "x"})
    assert not RelationshipEnd.objects.filter(client=two_partners.client_a).exists()
    assert Seat.objects.filter(
        employee=two_partners.anna, client=two_partners.client_a, end=None
    ).exists()
