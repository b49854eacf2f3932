"""Formula neutralisation in every export, and hostile keys in report URLs (issue 18 finding 6).

Keys can no longer be imported with a formula start, a `/` or a control character
(tests/test_validation.py); these tests put such keys in the database directly, as a program
that ran before the validation would have them, and read every export.
"""

import csv
import io
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import ClientAccount, Partner
from partnercredit import csvsafe

pytestmark = pytest.mark.django_db

HOSTILE = [
    "=SUM(9+9)",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "  @SUM(A1)",
    "\n=1+1",
    " \n+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_formula_start_and_its_blank_space_variants_get_an_apostrophe(text: str) -> None:
    assert csvsafe.cell(text) == "'" + text


@pytest.mark.parametrize("value", ["7001", "Alpha Agency", "a-b", "", 5, -5])
def test_plain_text_and_numbers_pass_unchanged(value: object) -> None:
    assert csvsafe.cell(value) == value


def _command(*args: str) -> list[list[str]]:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return list(csv.reader(io.StringIO(out.getvalue())))


def test_the_command_line_exports_neutralise_keys(two_partners) -> None:
    Partner.objects.filter(pk=two_partners.partner_a.pk).update(key="=SUM(9+9)")
    ClientAccount.objects.filter(pk=two_partners.client_a.pk).update(hub_id=" @SUM(A1)")
    lines = _command("export_credit_lines", "--date", "2026-01-05")
    keys = {(row[1], row[2]) for row in lines[1:]}
    assert ("'=SUM(9+9)", "' @SUM(A1)") in keys
    standings = _command("export_standings", "--date", "2026-01-05")
    assert "'=SUM(9+9)" in {row[1] for row in standings[1:]}
    assert not any(value.startswith(("=", "@", " @")) for row in lines + standings for value in row)


def test_the_web_csv_neutralises_the_blank_space_variants(two_partners, staff, client) -> None:
    Partner.objects.filter(pk=two_partners.partner_a.pk).update(name=" =HYPERLINK(1)")
    client.force_login(staff)
    response = client.get(reverse("reports:standings_csv"), {"date": "2026-01-05"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert "' =HYPERLINK(1)" in {row[2] for row in rows[1:]}


@pytest.mark.parametrize(
    "url",
    [
        "/reports/partners/a%2Fb/",
        "/reports/partners/70%0001/",
        "/reports/partners/70%0A01/",
        "/reports/clients/80%0003/",
        "/reports/clients/..%2F7001/",
        "/reports/why/?partner=70%0001&client=80%0003",
        "/reports/why/?partner=a/b&client=c/d",
        "/reports/standings/?q=%00",
    ],
)
def test_hostile_keys_in_report_urls_are_never_a_500(url: str, two_partners, staff, client) -> None:
    client.force_login(staff)
    assert client.get(url).status_code in (200, 400, 404)


@pytest.mark.parametrize("legacy", ["a/b", "70 01", "=SUM(1)", "x%2Fy"])
def test_a_legacy_key_shows_on_the_pages_and_its_own_page_opens(
    legacy: str, two_partners, staff, client
):
    """A key stored before validation existed never makes a page answer 500."""
    Partner.objects.filter(pk=two_partners.partner_a.pk).update(key=legacy)
    ClientAccount.objects.filter(pk=two_partners.client_a.pk).update(hub_id=legacy)
    client.force_login(staff)
    for url in (
        "/reports/standings/?date=2026-01-05",
        reverse("reports:partner", args=[legacy]) + "?date=2026-01-05",
        reverse("reports:client", args=[legacy]) + "?date=2026-01-05",
        "/reports/why/?" + urlencode({"date": "2026-01-05", "partner": legacy}),
    ):
        assert client.get(url).status_code == 200, url
