"""The reports are one click from every admin page."""

import pytest


@pytest.mark.django_db
def test_every_admin_page_links_to_the_reports(client, partner_admin) -> None:
    client.force_login(partner_admin)
    page = client.get("/admin/")
    assert page.status_code == 200
    assert b'href="/reports/"' in page.content
