"""Report pages in the admin's look. Login required; a partner admin sees only their partner.

Views stay thin: they resolve the day and the scope, call the named reads of `queries`, and
render. A partner admin reaching another partner's page, or a client with no link to their
partner, gets 404 — the same answer as for a key that does not exist.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import wraps

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import ClientAccount, Employee, Partner
from accounts.permissions import (
    can_see_partner,
    is_program_admin,
    is_program_staff,
    may_read_reports,
    partner_of,
    signed_in,
)
from credits.models import DayResult
from credits.models.results import day_result
from credits.projection import deals_counting
from credits.staleness import Freshness, day_freshness
from credits.standings import tiers_in_force
from credits.tasks import recompute_enqueue
from credits.why_no_credit import (
    activity_verdicts,
    credit_check,
    employee_credit_check,
    employee_credit_checks,
)
from partnercredit.days import yesterday
from reports import charts, downloads, home, queries
from reports.forms import DayForm, RangeForm, StandingsForm, WhyForm, as_date, as_text

PAGE_SIZE = 50
View = Callable[..., HttpResponse]


def report_view(view: View) -> View:
    """Login required; program staff see everything, a partner's employee only their partner."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not may_read_reports(request.user):
            raise PermissionDenied(_("Reports are for program staff and partner admins."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@dataclass
class Day:
    """The day a page shows, its published result (None: never computed), whether a later
    change made it stale, and the run warnings about the lines this page shows."""

    day: date | None
    result: DayResult | None
    latest: date | None
    freshness: Freshness | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> int | None:
        return self.result.run_id if self.result else None


def _day(
    request: HttpRequest,
    *,
    fallback: date | None = None,
    partner: Partner | None = None,
    client: ClientAccount | None = None,
) -> Day:
    """The `?date=` day, else the latest published ended day; with its freshness and the
    missing-rate warnings of the lines in scope (the user's own partner's at most)."""
    latest = DayResult.objects.latest_day()
    day = as_date(DayForm(request.GET)) or latest or fallback
    result = day_result(day) if day else None
    shown = Day(day, result, latest)
    if result is not None:
        shown.freshness = day_freshness(result.day)
        scope = partner_of(request.user) or partner
        shown.warnings = queries.missing_rate_warnings(run=result.run, partner=scope, client=client)
    return shown


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
            "may_recompute": is_program_admin(request.user),
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


def login(request: HttpRequest) -> HttpResponse:
    """The admin's login form; without a `next` it lands on the home page, not the admin."""
    extra = {}
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        extra[REDIRECT_FIELD_NAME] = resolve_url(settings.LOGIN_REDIRECT_URL)
    return admin.site.login(request, extra_context=extra)


@report_view
def index(request: HttpRequest) -> HttpResponse:
    return redirect("reports:home")


@report_view
def home_page(request: HttpRequest) -> HttpResponse:
    """Where login lands: the partner's morning page, or program staff's overview."""
    day = _day(request)
    own = partner_of(request.user)
    context: dict[str, object] = {}
    if own is not None:
        if day.result is not None:
            without = [h for h in request.GET.getlist("without") if h][:50]
            context = home.partner_home(
                partner=own, day=day.result.day, run_id=day.result.run_id, without=without
            )
        return _render(
            request, "reports/home_partner.html", f"Home: {own}", day, partner=own, **context
        )
    if day.result is not None:
        context = home.staff_home(day=day.result.day, run_id=day.result.run_id)
    return _render(request, "reports/home_staff.html", "Program home", day, **context)


@report_view
def projection_page(request: HttpRequest, key: str) -> HttpResponse:
    """The partner's 90-day projection with the what-if, as a chart and a table."""
    partner = _visible_partner(request, key)
    day = _day(request, partner=partner)
    context: dict[str, object] = {"partner": partner}
    if day.result is not None:
        without = [h for h in request.GET.getlist("without") if h][:50]
        context["projection"] = home.projection_view(
            partner=partner, day=day.result.day, without_hub_ids=without
        )
        context["without"] = without
    return _render(request, "reports/projection.html", f"Projection: {partner}", day, **context)


def _standings(request: HttpRequest) -> tuple[Day, StandingsForm, Sequence[queries.StandingRow]]:
    day = _day(request)
    form = StandingsForm(request.GET)
    if day.result is None:
        return day, form, []
    rows = queries.standing_rows(
        day=day.result.day,
        run_id=day.result.run_id,
        partner=partner_of(request.user),
        tier=as_text(form, "tier"),
        q=as_text(form, "q"),
        sort=as_text(form, "sort", "partner"),
    )
    return day, form, rows


@report_view
def standings(request: HttpRequest) -> HttpResponse:
    day, form, rows = _standings(request)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    outlooks = (
        queries.tier_outlooks(standings=[r.standing for r in page], day=day.result.day)
        if day.result
        else {}
    )
    for row in page:
        row.outlook = outlooks.get(row.standing.partner_id)
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
        outlooks=outlooks,
        next_recalibration=next(iter(outlooks.values())).recalibration if outlooks else None,
        tiers=tiers_in_force(day.day) if day.day else [],
        sort=as_text(form, "sort", "partner"),
        query=query.urlencode(),
        sort_query=sort_query.urlencode(),
    )


@report_view
def standings_export(request: HttpRequest, fmt: str) -> HttpResponse:
    day, _form, rows = _standings(request)
    if day.result is None:
        raise Http404(_("%(day)s has not been computed.") % {"day": day.day or _("No day")})
    table = downloads.standings_table(day.result.day, rows)
    name = f"standings-{day.day}.{fmt}"
    if fmt == "xlsx":
        return downloads.xlsx_response(name, downloads.STANDINGS_HEADER, table)
    return downloads.csv_response(name, downloads.STANDINGS_HEADER, table)


@report_view
def partner_page(request: HttpRequest, key: str) -> HttpResponse:
    partner = _visible_partner(request, key)
    day = _day(request, partner=partner)
    context: dict[str, object] = {"partner": partner}
    if day.result is not None:
        on, run_id = day.result.day, day.result.run_id
        rows = list(queries.standing_rows(day=on, run_id=run_id, partner=partner))
        lines = queries.partner_credit_lines(run_id=run_id, partner=partner)
        tiers = tiers_in_force(on)
        window = RangeForm.from_query(request.GET)
        start = as_date(window, "start") or on - timedelta(days=queries.COMPARE_DAYS)
        end = as_date(window, "end") or on
        outlook = (
            queries.tier_outlooks(standings=[rows[0].standing], day=on).get(partner.pk)
            if rows
            else None
        )
        context.update(
            outlook=outlook,
            row=rows[0] if rows else None,
            lines=lines,
            at_risk=queries.at_risk(lines, home.at_risk_days()),
            at_risk_days=home.at_risk_days(),
            progress=[(tier, queries.tier_minimums(tier, rows[0].standing)) for tier in tiers]
            if rows
            else [],
            changes=queries.points_changes(partner=partner, start=start, end=end),
            chart=charts.points_chart(queries.points_series(partner=partner, until=on), tiers),
            deals=deals_counting(partner_id=partner.pk, day=on),
        )
    if day.day is not None:
        context["ended"] = queries.ended_relationships(partner=partner, day=day.day)
    title = _("Partner %(partner)s") % {"partner": partner}
    return _render(request, "reports/partner.html", title, day, **context)


@report_view
def client_page(request: HttpRequest, hub_id: str) -> HttpResponse:
    client = _visible_client(request, hub_id)
    day = _day(request, fallback=yesterday(), client=client)
    on = day.day
    assert on is not None  # a fallback day was given
    own = partner_of(request.user)
    employees = queries.employees_with_access(client=client, day=on, partner=own)
    checks = employee_credit_checks(employees=employees, client=client, day=on)
    lines = (
        queries.client_credit_lines(run_id=day.result.run_id, client=client, partner=own)
        if day.result
        else []
    )
    activities = activity_verdicts(
        activities=queries.recent_activities(client=client, day=on, partner=own),
        day=on,
    )
    return _render(
        request,
        "reports/client.html",
        _("Client account %(client)s") % {"client": client},
        day,
        client=client,
        activities=activities,
        lines=lines,
        employees=[(e, checks[e.pk]) for e in employees],
        step_labels=[s.label for s in next(iter(checks.values())).steps] if checks else [],
    )


def _why_subject(
    request: HttpRequest, form: WhyForm
) -> tuple[str, Partner | None, ClientAccount | None, Employee | None]:
    """The partner, client and employee the form names. A key, hub id or e-mail that does not
    exist, or that this user may not see, is a form error with the same words either way."""
    own = partner_of(request.user)
    key = (as_text(form, "partner") or (own.key if own else "")).strip()
    hub_id = as_text(form, "client").strip()
    email = as_text(form, "employee").strip().lower()
    partner = Partner.objects.filter(key=key).first() if key else None
    if key and (partner is None or not can_see_partner(request.user, partner)):
        form.add_error("partner", f"No partner with key {key} that you can see.")
        return key, None, None, None
    client = ClientAccount.objects.filter(hub_id=hub_id).first() if hub_id else None
    if hub_id and (
        client is None
        or (own is not None and not queries.client_linked_to_partner(client=client, partner=own))
    ):
        form.add_error("client", f"No client account with hub id {hub_id} that you can see.")
        client = None
    employee = None
    if email and partner is not None:
        employee = (
            Employee.objects.select_related("partner")
            .filter(partner=partner, email__iexact=email)
            .first()
        )
        if employee is None:
            form.add_error("employee", f"{partner.key} has no employee {email}.")
    return key, partner, client, employee


_NO_CLIENT = ClientAccount(pk=0)  # the why page with no client shows no line's warning


@report_view
def why(request: HttpRequest) -> HttpResponse:
    form = WhyForm(request.GET)
    form.is_valid()
    key, partner, client, employee = _why_subject(request, form)
    day = _day(request, fallback=yesterday(), partner=partner, client=client or _NO_CLIENT)
    on = day.day
    assert on is not None  # a fallback day was given
    check = None
    if client is not None and partner is not None and not form.errors:
        if employee is not None:
            check = employee_credit_check(employee=employee, client=client, day=on)
        else:
            check = credit_check(partner=partner, client=client, day=on)
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


@report_view
@require_POST
def recompute_now(request: HttpRequest) -> HttpResponse:
    """Program admins: queue the recompute of a stale day shown on a report, then go back."""
    if not is_program_admin(request.user):
        raise PermissionDenied(_("Only program admins recompute days."))
    day = as_date(DayForm(request.POST))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("reports:home")
    if day is None:
        messages.error(request, _("No day to recompute."))
        return redirect(back)
    user = signed_in(request.user)
    try:
        run = recompute_enqueue(day=day, requested_by=user)
    except ValueError as exc:  # a day that has not ended
        messages.error(request, str(exc))
        return redirect(back)
    except Exception:  # the broker is unreachable: the run stays queued for the watchdog
        messages.error(
            request,
            f"The task queue is unreachable: {day} is queued and will be recomputed "
            "when it is back.",
        )
        return redirect(back)
    messages.success(
        request,
        _("Recompute of %(day)s queued (run %(run)s); reload in a moment.")
        % {"day": day, "run": run.pk},
    )
    return redirect(back)
