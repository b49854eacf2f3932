"""The app in English and Italian (issue 15): every string of our own sources is in the Italian
catalogue, the language follows the browser and each person's choice, dates and numbers follow
the language on pages and in e-mails, and the SPEC §4 CSV contract never does."""

import csv
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from accounts import services as access
from credits.engine import recompute_day
from notifications.services import notifications_send, preference_for, preference_update
from partnercredit.labels import labels_of_our_models
from tests.builders import act, at, deal, give_access, make_client, make_employee

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "it" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCES = ["accounts", "credits", "notifications", "partnercredit", "reports", "templates"]
DAY = date(2026, 3, 31)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")


def _catalogue() -> polib.POFile:
    return polib.pofile(str(PO))


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    """The install step compiles the catalogue (`make install`); a bare pytest run too."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        call_command("compilemessages", "--ignore=var", "--ignore=.venv", verbosity=0)
    # A private cache that django-stubs do not declare.
    trans_real._translations.clear()  # type: ignore[attr-defined]  # forget a catalogue loaded before compiling


@pytest.fixture(autouse=True)
def _back_to_english() -> Iterator[None]:
    """LocaleMiddleware activates a request's language in the test's own thread and leaves it
    there (Django does not reset it after a response): later tests must start in English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


# --- the catalogue ---------------------------------------------------------------------------


def test_every_italian_entry_is_translated_and_none_is_fuzzy() -> None:
    po = _catalogue()
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []
    assert po.metadata["Language"] == "it"


def test_every_translation_keeps_the_placeholders_of_its_source() -> None:
    def names(text: str) -> list[str]:
        return sorted("".join(groups) for groups in PLACEHOLDER.findall(text))

    for entry in _catalogue().translated_entries():
        targets = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for target in targets:
            assert names(target) == names(entry.msgid), entry.msgid


def test_every_string_marked_in_our_sources_has_an_italian_translation(tmp_path: Path) -> None:
    """makemessages over a copy of our sources (xgettext, as the install step installs it):
    each string it finds must be in the committed catalogue, translated and not fuzzy."""
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext is missing: `make install` installs it (apt-get install gettext)")
    for name in SOURCES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "it", "-v", "0"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    found = polib.pofile(str(tmp_path / "locale" / "it" / "LC_MESSAGES" / "django.po"))
    ours = {(e.msgctxt, e.msgid): e for e in _catalogue()}
    missing = [
        f"{e.msgid!r} ({e.occurrences[0][0]})"
        for e in found
        if (e.msgctxt, e.msgid) not in ours
        or not ours[(e.msgctxt, e.msgid)].translated()
        or ours[(e.msgctxt, e.msgid)].fuzzy
    ]
    assert missing == [], "strings without an Italian translation:\n" + "\n".join(missing)


def test_every_label_of_our_models_has_an_italian_translation() -> None:
    """Model, field, app and choice labels are translated at run time (partnercredit.labels):
    each must be in the catalogue, so a new field without a translation fails here."""
    translated = {e.msgid for e in _catalogue().translated_entries() if not e.fuzzy}
    missing = sorted(labels_of_our_models() - translated)
    assert missing == [], "model labels without an Italian translation (run the generator):\n" + (
        "\n".join(missing)
    )


def test_model_labels_lists_every_label_for_makemessages() -> None:
    """partnercredit/model_labels.py is what makemessages reads: `manage.py model_labels`."""
    from partnercredit import model_labels

    missing = sorted(labels_of_our_models() - set(model_labels.LABELS))
    assert missing == [], "run `python manage.py model_labels`:\n" + "\n".join(missing)


def test_model_labels_speak_italian() -> None:
    from accounts.models import Employee

    with translation.override("it"):
        assert str(Employee._meta.verbose_name_plural) == "dipendenti"
        assert str(Employee._meta.get_field("role").verbose_name) == "ruolo"


# --- choosing the language -------------------------------------------------------------------


def test_the_browser_language_chooses_italian(partner_admin) -> None:
    client = Client(headers={"accept-language": "it-IT,it;q=0.9,en;q=0.5"})
    client.force_login(partner_admin)

    page = client.get(reverse("notifications:preferences"))

    assert page["Content-Language"] == "it"
    assert "Impostazioni di notifica" in page.content.decode()


def test_a_saved_choice_wins_over_the_browser(partner_admin) -> None:
    preference_update(user=partner_admin, language="it")
    client = Client(headers={"accept-language": "en"})
    client.force_login(partner_admin)

    page = client.get(reverse("notifications:preferences"))

    assert "Impostazioni di notifica" in page.content.decode()


def test_switching_the_language_saves_it_for_a_signed_in_person(partner_admin) -> None:
    client = Client()
    client.force_login(partner_admin)
    url = reverse("notifications:preferences")

    response = client.post(reverse("notifications:language"), {"language": "it", "next": url})

    assert response.status_code == 302 and response["Location"] == url
    assert preference_for(user=partner_admin).language == "it"
    assert "Impostazioni di notifica" in client.get(url).content.decode()
    client.post(reverse("notifications:language"), {"language": "en", "next": url})
    assert "Notification settings" in client.get(url).content.decode()


def test_an_anonymous_visitor_switches_the_login_page_to_italian() -> None:
    client = Client()
    login = reverse("admin:login")

    client.post(reverse("notifications:language"), {"language": "it", "next": login})

    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    assert 'lang="it"' in client.get(login).content.decode()


# --- formats and the CSV contract --------------------------------------------------------------


@pytest.fixture
def world(partner_a, partner_admin) -> dict:
    erin = make_employee(partner_a, "erin@alpha.example")
    client = make_client("5001", amount="1234.50")
    give_access(erin, client)
    act(erin, client, "2026-02-09T10:00")
    recompute_day(day=DAY)
    return {"client": client, "erin": erin}


def test_an_italian_digest_speaks_italian_with_italian_dates(world, partner_admin) -> None:
    preference_update(user=partner_admin, language="it")
    unseated = make_client("5002")
    access.client_assign(employee=world["erin"], client=unseated, at=at("2026-01-05"))
    recompute_day(day=DAY)

    notifications_send(day=DAY + timedelta(days=1))

    [digest] = mail.outbox
    assert "passaggio mancante: Un dipendente è attivo, assegnato e utente del cliente" in (
        digest.body
    )
    assert isinstance(digest, EmailMultiAlternatives)
    assert digest.subject == "Riepilogo settimanale del credito per Alpha Agency (31/03/2026)"
    assert "credito fino al 10 Aprile 2026" in digest.body
    html = str(digest.alternatives[0][0])
    assert "Credito in scadenza entro 14 giorni" in html and "Apri il report" in html


def test_an_english_digest_keeps_iso_days_in_the_subject(world, partner_admin) -> None:
    notifications_send(day=DAY + timedelta(days=1))

    assert mail.outbox[0].subject == "Weekly credit digest for Alpha Agency (2026-03-31)"


def test_csv_exports_stay_iso_with_dot_decimals_in_italian(world) -> None:
    out = io.StringIO()
    with translation.override("it"):
        call_command("export_credit_lines", "--date", DAY.isoformat(), stdout=out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["date"] == "2026-03-31" and row["mrr"] == "1234.50" and "," not in row["points"]
    assert row["credit_until"] == "2026-04-10"


def test_report_downloads_stay_iso_with_dot_decimals_for_an_italian_browser(world, staff) -> None:
    client = Client(headers={"accept-language": "it"})
    client.force_login(staff)

    response = client.get(reverse("reports:standings_csv"), {"date": DAY.isoformat()})

    assert response.status_code == 200
    body = response.getvalue()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows and rows[0]["date"] == "2026-03-31"
    assert all("," not in value for row in rows for value in row.values())


def test_the_reports_and_the_admin_render_in_italian(world, staff) -> None:
    """Every report page and each admin list and add page of our models, in Italian."""
    from django.contrib import admin

    client = Client(headers={"accept-language": "it"})
    client.force_login(staff)
    day = {"date": DAY.isoformat()}
    pages = {
        reverse("reports:standings"): "Classifica del programma",
        reverse("reports:partner", args=["1001"]): "Punti e livello",
        reverse("reports:client", args=["5001"]): "Partner che assistono questo cliente",
        reverse("reports:why"): "Perché nessun credito?",
        reverse("admin:index"): "Partner e accessi",
    }
    for url, words in pages.items():
        page = client.get(url, day)
        assert page.status_code == 200, url
        assert words in page.content.decode(), url
    for model in admin.site._registry:
        if model._meta.app_label not in ("accounts", "credits", "notifications"):
            continue
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code in (200, 403), url


def test_a_partner_page_names_deal_kinds_and_missing_rates_in_italian(
    world, partner_a, partner_admin
) -> None:
    deal(partner_a, world["client"], "2026-03-10", "500.00")
    nok = make_client("5009", currency="NOK")  # no units-per-point rate for NOK
    give_access(world["erin"], nok)
    act(world["erin"], nok, "2026-03-20T10:00")
    recompute_day(day=DAY)
    client = Client(headers={"accept-language": "it"})
    client.force_login(partner_admin)
    page = client.get(reverse("reports:partner", args=["1001"]), {"date": DAY.isoformat()})
    html = page.content.decode()
    assert "<td>Procurato</td>" in html and "Sourced" not in html
    assert "(cliente 5009)" in html and "(client " not in html


def test_run_warnings_speak_the_readers_language(world, staff) -> None:
    """Stored as a message and its values: English on the command line, Italian on a page."""
    nok = make_client("5009", currency="NOK")  # no units-per-point rate for NOK
    give_access(world["erin"], nok)
    act(world["erin"], nok, "2026-03-20T10:00")
    said = io.StringIO()
    call_command("recompute_credits", "--date", DAY.isoformat(), stdout=io.StringIO(), stderr=said)
    assert (
        "2026-03-31: warning: No units-per-point rate for NOK on 2026-03-31: 1 credit line(s) "
        "have no points."
    ) in said.getvalue()
    client = Client(headers={"accept-language": "it"})
    client.force_login(staff)
    for url in (reverse("reports:standings"), reverse("reports:home")):
        html = client.get(url, {"date": DAY.isoformat()}).content.decode()
        assert "Nessun tasso unità per punto per NOK il 2026-03-31: 1 righe di credito" in html, url
