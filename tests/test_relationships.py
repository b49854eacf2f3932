"""Relationship history (SPEC §3.5): every start, end and reason is kept."""

from datetime import date

import pytest

from accounts import services as access
from credits.engine import counted_days_refresh
from credits.relationships import INACTIVITY, relationship_history
from tests.builders import act, at, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db
D = date.fromisoformat


def test_history_keeps_each_relationship_with_its_end_and_reason() -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500")
    give_access(e, c)
    act(e, c, "2026-01-10T10:00")
    act(e, c, "2026-01-20T10:00")
    access.client_remove_all_employees(partner=p, client=c, at=at("2026-02-01T09:00"))
    access.seat_add(employee=e, client=c, at=at("2026-03-01"))
    act(e, c, "2026-03-02T10:00")
    counted_days_refresh(through=D("2026-06-30"))

    spans = relationship_history(partner_ids=[p.pk], through=D("2026-06-30"))

    assert [(s.started_on, s.last_qualifying_on, s.ended_on, s.end_reason) for s in spans] == [
        (D("2026-01-10"), D("2026-01-20"), D("2026-02-01"), "all_employees_removed"),
        (D("2026-03-02"), D("2026-03-02"), D("2026-05-02"), INACTIVITY),
    ]
    assert spans[1].credit_until == D("2026-05-01")


def test_an_open_relationship_has_no_end_yet() -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500")
    give_access(e, c)
    act(e, c, "2026-03-02T10:00")
    counted_days_refresh(through=D("2026-03-31"))
    (span,) = relationship_history(client_ids=[c.pk], through=D("2026-03-31"))
    assert span.ended_on is None and span.end_reason is None


def test_partner_leaving_ends_every_relationship_with_that_reason() -> None:
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c1, c2 = make_client("500"), make_client("501")
    give_access(e, c1)
    give_access(e, c2)
    act(e, c1, "2026-03-02T10:00")
    act(e, c2, "2026-03-03T10:00")
    access.partner_leave(partner=p, at=at("2026-03-10T12:00"))
    counted_days_refresh(through=D("2026-03-31"))
    spans = relationship_history(partner_ids=[p.pk], through=D("2026-03-31"))
    assert {(s.ended_on, s.end_reason) for s in spans} == {(D("2026-03-10"), "partner_left")}
