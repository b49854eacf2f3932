"""A tier whose activity minimum has its own window: the engine and the partner page agree."""

from datetime import date

import pytest

from credits.engine import recompute_day
from credits.models import Standing, Tier
from reports.queries import tier_minimums
from tests.builders import act, give_access, make_client, make_employee, make_partner

pytestmark = pytest.mark.django_db


def test_a_seven_day_activity_minimum_is_judged_on_seven_days_everywhere() -> None:
    Tier.objects.all().delete()
    weekly = Tier.objects.create(name="Busy week", rank=1, min_activities=3, activity_window_days=7)
    p = make_partner("100")
    e = make_employee(p, "e@p.example")
    c = make_client("500")
    give_access(e, c)
    for when in ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-20", "2026-03-21"]:
        act(e, c, f"{when}T10:00")
    day = date(2026, 3, 22)  # 5 activities in 30 days, 2 in the last 7
    recompute_day(day=day)
    standing = Standing.objects.published(day).get(partner=p)

    assert standing.qualifying_activities == 5
    assert standing.tier == ""  # the engine: 2 < 3 in the 7-day window
    (minimum,) = tier_minimums(weekly, standing)
    assert (minimum.actual, minimum.met) == (2, False)  # the page says the same

    act(e, c, "2026-03-22T11:00")
    recompute_day(day=day)
    standing = Standing.objects.published(day).get(partner=p)
    assert standing.tier == "Busy week"
    assert tier_minimums(weekly, standing)[0].met
