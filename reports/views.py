"""Report pages in the admin's look. Login required; a partner admin sees only their partner.

Views stay thin: they resolve the day and the scope, call the named reads of `queries`, and
render. A partner admin reaching another partner's page, or a client with no link to their
partner, gets 404 — the same answer as for a key that does not exist.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import wraps

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.models import ClientAccount, Employee, Partner
from accounts.permissions import can_see_partner, is_program_staff, partner_of
from credits.checks import credit_check, employee_credit_check, employee_credit_checks
from credits.models import DayResult
from credits.models.results import day_result
from credits.standings import tiers_in_force
from partnercredit.days import yesterday
from reports import charts, exports, queries
from reports.forms import DayForm, RangeForm, StandingsForm, WhyForm, as_date, cleaned

PAGE_SIZE = 50
View = Callable[..., HttpResponse]


def report_view(view: View) -> View:
    """Login required; program staff see everything, a partner's employee only their partner."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not is_program_staff(request.user) and partner_of(request.user) is None:
            raise PermissionDenied(_("Reports are for program staff and partner admins."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@dataclass
class Day:
    """The day a page shows and its published result (None: never computed)."""

    day: date | None
    result: DayResult | None
    latest: date | None

    @property
    def run_id(self) -> int | None:
        return self.result.run_id if self.result else None


def _day(request: HttpRequest, *, fallback: date | None = None) -> Day:
    latest = queries.latest_computed_day()
    day = as_date(DayForm(request.GET)) or latest or fallback
    result = day_result(day) if day else None
    return Day(day, result, latest)


def _render(
    request: HttpRequest, template: str, title: str, day: Day, **context: object
) -> HttpResponse:
    return render(
        request,
        template,
        {
            **admin.site.each_context(request),
            "title": title,
            "day": day,
            "is_staff_view": is_program_staff(request.user),
            "own_partner": partner_of(request.user),
            **context,
        },
    )


def _visible_partner(request: HttpRequest, key: str) -> Partner:
    partner = get_object_or_404(Partner, key=key)
    if not can_see_partner(request.user, partner):
        raise Http404(_("No such partner."))
    return partner


def _visible_client(request: HttpRequest, hub_id: str) -> ClientAccount:
    client = get_object_or_404(ClientAccount, hub_id=hub_id)
    own = partner_of(request.user)
    if own is not None and not queries.client_linked_to_partner(client=client, partner=own):
        raise Http404(_("No such client account."))
    return client


@report_view
def index(request: HttpRequest) -> HttpResponse:
    own = partner_of(request.user)
    if own is not None:
        return redirect("reports:partner", key=own.key)
    return redirect("reports:standings")


def _standings(request: HttpRequest) -> tuple[Day, StandingsForm, Sequence[queries.StandingRow]]:
    day = _day(request)
    form = StandingsForm(request.GET)
    if day.result is None:
        return day, form, []
    rows = queries.standing_rows(
        day=day.day,
        run_id=day.run_id,
        partner=partner_of(request.user),
        tier=cleaned(form, "tier", ""),
        q=cleaned(form, "q", ""),
        sort=cleaned(form, "sort", "partner"),
    )
    return day, form, rows


@report_view
def standings(request: HttpRequest) -> HttpResponse:
    day, form, rows = _standings(request)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return _render(
        request,
        "reports/standings.html",
        _("Program standings"),
        day,
        form=form,
        page=page,
        tiers=tiers_in_force(day.day) if day.day else [],
        sort=cleaned(form, "sort", "partner"),
        query=query.urlencode(),
        sort_query=sort_query.urlencode(),
    )


@report_view
def standings_export(request: HttpRequest, fmt: str) -> HttpResponse:
    day, _, rows = _standings(request)
    if day.result is None:
        raise Http404(f"{day.day or 'No day'} has not been computed.")
    table = exports.standings_table(day.day, rows)
    name = f"standings-{day.day}.{fmt}"
    if fmt == "xlsx":
        return exports.xlsx_response(name, exports.STANDINGS_HEADER, table)
    return exports.csv_response(name, exports.STANDINGS_HEADER, table)


@report_view
def partner_page(request: HttpRequest, key: str) -> HttpResponse:
    partner = _visible_partner(request, key)
    day = _day(request)
    context: dict[str, object] = {"partner": partner}
    if day.result is not None:
        rows = list(queries.standing_rows(day=day.day, run_id=day.run_id, partner=partner))
        lines = queries.partner_credit_lines(run_id=day.run_id, partner=partner)
        tiers = tiers_in_force(day.day)
        window = RangeForm.from_query(request.GET)
        start = cleaned(window, "start") or day.day - timedelta(days=queries.COMPARE_DAYS)
        end = cleaned(window, "end") or day.day
        context.update(
            row=rows[0] if rows else None,
            lines=lines,
            at_risk=queries.at_risk(lines),
            at_risk_days=queries.AT_RISK_DAYS,
            progress=[(tier, queries.tier_minimums(tier, rows[0].standing)) for tier in tiers]
            if rows
            else [],
            changes=queries.points_changes(partner=partner, start=start, end=end),
            chart=charts.points_chart(queries.points_series(partner=partner, until=day.day), tiers),
        )
    if day.day is not None:
        context["ended"] = queries.ended_relationships(partner=partner, day=day.day)
    title = _("Partner %(partner)s") % {"partner": partner}
    return _render(request, "reports/partner.html", title, day, **context)


@report_view
def client_page(request: HttpRequest, hub_id: str) -> HttpResponse:
    client = _visible_client(request, hub_id)
    day = _day(request, fallback=yesterday())
    own = partner_of(request.user)
    employees = queries.employees_with_access(client=client, day=day.day, partner=own)
    checks = employee_credit_checks(employees=employees, client=client, day=day.day)
    lines = (
        queries.client_credit_lines(run_id=day.run_id, client=client, partner=own)
        if day.result
        else []
    )
    return _render(
        request,
        "reports/client.html",
        _("Client account %(client)s") % {"client": client},
        day,
        client=client,
        lines=lines,
        employees=[(e, checks[e.pk]) for e in employees],
        step_labels=[s.label for s in next(iter(checks.values())).steps] if checks else [],
    )


@report_view
def why(request: HttpRequest) -> HttpResponse:
    day = _day(request, fallback=yesterday())
    form = WhyForm(request.GET)
    own = partner_of(request.user)
    key = cleaned(form, "partner", "") or (own.key if own else "")
    partner = _visible_partner(request, key) if key else None
    hub_id = cleaned(form, "client", "")
    client = _visible_client(request, hub_id) if hub_id and partner else None
    email = (cleaned(form, "employee", "") or "").strip().lower()
    employee = None
    if email and partner:
        employee = get_object_or_404(
            Employee.objects.select_related("partner"), partner=partner, email=email
        )
    check = None
    if client is not None:
        if employee is not None:
            check = employee_credit_check(employee=employee, client=client, day=day.day)
        else:
            check = credit_check(partner=partner, client=client, day=day.day)
    return _render(
        request,
        "reports/why.html",
        _("Why no credit?"),
        day,
        form=form,
        partner=partner,
        client=client,
        employee=employee,
        check=check,
        partner_key=key,
    )
