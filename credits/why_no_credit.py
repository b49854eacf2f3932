""" "Why no credit?" — the checklist of SPEC §3.10 for (partner, client) and (employee, client).

Everything is evaluated from the stored history, as the state at the end of `day`, with a
fixed number of queries whatever the number of employees or activities: the intervals and the
qualifying activities of the window are fetched once and walked in Python.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, NamedTuple

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import (
    Assignment,
    ClientAccount,
    Employee,
    EmployeeSpell,
    Partner,
    RelationshipEnd,
    Seat,
)
from credits.models import Activity, CreditLine, DayResult, ProgramSettings, QualifyingAction
from partnercredit.days import day_end, day_start, program_day

Span = tuple[datetime, datetime | None]


class Step(NamedTuple):
    label: str
    ok: bool
    detail: str
    source: str = (
        "live"  # "live": checked now from the stored history; "published": the day's result
    )


# Step labels stay English in the logic (they are compared); pages translate them on display.
IMMEDIATE_END = gettext_noop("Relationship not ended immediately since")
PARTNER_IN_PROGRAM = gettext_noop("Partner is in the program")


@dataclass
class CreditCheck:
    """The answer to "is this earning managed credit, and if not, why?"."""

    day: date
    steps: list[Step]
    earning: bool
    credit_until: date | None
    last_qualifying_activity: date | None
    last_employee: Employee | None = None
    published: bool = False  # True when the answer comes from the day's published results

    @property
    def first_failing_index(self) -> int | None:
        return next((i for i, step in enumerate(self.steps) if not step.ok), None)

    @property
    def first_failing_step(self) -> Step | None:
        index = self.first_failing_index
        return None if index is None else self.steps[index]

    @property
    def live_steps(self) -> list[Step]:
        return [s for s in self.steps if s.source == "live"]

    @property
    def published_step(self) -> Step | None:
        return next((s for s in self.steps if s.source == "published"), None)

    @property
    def cause(self) -> Step | None:
        """The real reason credit stops: the partner leaving or an immediate end is the cause
        (the missing employees or seats after it are its consequence), else the first missing
        live step."""
        failing = [s for s in self.live_steps if not s.ok]
        for label in (PARTNER_IN_PROGRAM, IMMEDIATE_END):
            step = next((s for s in failing if s.label == label), None)
            if step is not None:
                return step
        return failing[0] if failing else None

    @property
    def verdict(self) -> tuple[str, str]:
        """(success | warning | error, the one headline of the page); the page adds the one
        credit-until day after a headline that is not an error."""
        cause = self.cause
        if self.earning and cause is None:
            return "success", _("Earning managed credit.")
        if cause is not None and cause.label in (PARTNER_IN_PROGRAM, IMMEDIATE_END):
            stale = " " + _("The published result predates it.") if self.earning else ""
            return "error", _("Not earning managed credit: %(detail)s") % {
                "detail": cause.detail
            } + stale
        if self.earning and cause is not None:
            return (
                "warning",
                _("Earning managed credit, but %(step)s: no — %(detail)s")
                % {"step": _lower_first(_(cause.label)), "detail": cause.detail},
            )
        if cause is not None:
            return "error", _("Not earning managed credit: %(detail)s") % {"detail": cause.detail}
        published = self.published_step
        detail = published.detail if published is not None else ""
        return (
            "error",
            _(
                "Not earning managed credit in the published result: %(detail)s The live checks "
                "pass, so the day's result is out of date: it will earn once recomputed."
            )
            % {"detail": detail},
        )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass
class _Access:
    """The active spells, assignments and seats of some employees in one client."""

    spells: dict[int, list[Span]]
    assignments: dict[int, list[Span]]
    seats: dict[int, list[Span]]

    def active(self, employee_id: int, at: datetime) -> bool:
        return _covers(self.spells.get(employee_id, []), at)

    def assigned(self, employee_id: int, at: datetime) -> bool:
        return _covers(self.assignments.get(employee_id, []), at)

    def seated(self, employee_id: int, at: datetime) -> bool:
        return _covers(self.seats.get(employee_id, []), at)

    def meets_steps(self, employee_id: int, at: datetime) -> bool:
        return (
            self.active(employee_id, at)
            and self.assigned(employee_id, at)
            and self.seated(employee_id, at)
        )


def _covers(spans: list[Span], at: datetime) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in spans)


def _covers_end_of_day(spans: list[Span], end_of_day: datetime) -> bool:
    """In force at the last instant of the day: started before its end, not ended within it."""
    return any(start < end_of_day and (end is None or end >= end_of_day) for start, end in spans)


def _spans(rows: Iterable[tuple[int, datetime, datetime | None]]) -> dict[int, list[Span]]:
    result: dict[int, list[Span]] = defaultdict(list)
    for employee_id, start, end in rows:
        result[employee_id].append((start, end))
    return result


def _access(employee_ids: list[int], client: ClientAccount, until: datetime) -> _Access:
    """Three queries: spells, assignments and seats of the employees that began before `until`."""
    fields = ("employee_id", "start", "end")
    return _Access(
        spells=_spans(
            EmployeeSpell.objects.filter(employee_id__in=employee_ids, start__lt=until).values_list(
                *fields
            )
        ),
        assignments=_spans(
            Assignment.objects.filter(
                employee_id__in=employee_ids, client=client, start__lt=until
            ).values_list(*fields)
        ),
        seats=_spans(
            Seat.objects.filter(
                employee_id__in=employee_ids, client=client, start__lt=until
            ).values_list(*fields)
        ),
    )


def _qualifying_activities(
    employee_ids: list[int], client: ClientAccount, first_day: date, until: datetime
) -> list[tuple[int, datetime]]:
    """(employee id, at) of qualifying activities from `first_day` up to `until`, latest first."""
    catalogue = QualifyingAction.objects.filter(tool=OuterRef("tool"), action=OuterRef("action"))
    return list(
        Activity.objects.filter(
            employee_id__in=employee_ids, client=client, day__gte=first_day, at__lt=until
        )
        .filter(Exists(catalogue))
        .order_by("-at")
        .values_list("employee_id", "at")
    )


def _last_counted(
    activities: list[tuple[int, datetime]], access: _Access, partner: Partner
) -> tuple[int, datetime] | None:
    """The latest activity that met the steps when it happened (SPEC §3.1)."""
    for employee_id, at in activities:
        if partner.left_at is not None and at >= partner.left_at:
            continue
        if access.meets_steps(employee_id, at):
            return employee_id, at
    return None


def _immediate_ends(
    partner_ids: set[int], client: ClientAccount, until: datetime
) -> list[RelationshipEnd]:
    """Immediate ends of the partners' relationships with the client before `until` (§3.3)."""
    return list(
        RelationshipEnd.objects.filter(partner_id__in=partner_ids, at__lt=until)
        .filter(Q(client=client) | Q(client__isnull=True))
        .order_by("at")
    )


def _first_end_after(
    ends: list[RelationshipEnd], partner: Partner, after: datetime
) -> RelationshipEnd | None:
    return next((e for e in ends if e.partner_id == partner.pk and e.at > after), None)


def _partner_step(partner: Partner, end_of_day: datetime) -> Step:
    label = PARTNER_IN_PROGRAM
    if partner.joined_at >= end_of_day:
        joined = program_day(partner.joined_at)
        detail = _("%(partner)s joined on %(day)s.") % {"partner": partner.key, "day": joined}
        return Step(label, False, detail)
    if partner.left_at is not None and partner.left_at < end_of_day:
        left = program_day(partner.left_at)
        detail = _("%(partner)s left on %(day)s.") % {"partner": partner.key, "day": left}
        return Step(label, False, detail)
    return Step(label, True, _("%(partner)s is in the program.") % {"partner": partner.key})


def _yes_no(ok: bool, yes: str, no: str) -> str:
    return yes if ok else no


def _activity_steps(
    *,
    partner: Partner,
    client: ClientAccount,
    day: date,
    grace: int,
    last: tuple[int, datetime] | None,
    names: dict[int, str],
    ends: list[RelationshipEnd],
) -> tuple[list[Step], date | None, date | None, int | None]:
    """Steps "counted activity within grace" and "not ended since"; with L and credit_until."""
    first_day = day - timedelta(days=grace)
    if last is None:
        return (
            [
                Step(
                    gettext_noop("Counted qualifying activity within the grace period"),
                    False,
                    _("No qualifying activity that met the steps between %(first)s and %(day)s.")
                    % {"first": first_day, "day": day},
                ),
                Step(IMMEDIATE_END, True, _("Nothing to end.")),
            ],
            None,
            None,
            None,
        )
    employee_id, at = last
    last_day = program_day(at)
    credit_until: date | None = last_day + timedelta(days=grace)
    steps = [
        Step(
            gettext_noop("Counted qualifying activity within the grace period"),
            True,
            _("Last counted activity on %(day)s by %(employee)s.")
            % {"day": last_day, "employee": names.get(employee_id, "?")},
        )
    ]
    ended = _first_end_after(ends, partner, at)
    if ended is None:
        steps.append(Step(IMMEDIATE_END, True, _("No immediate end.")))
    else:
        steps.append(
            Step(
                IMMEDIATE_END,
                False,
                _("%(reason)s on %(day)s.")
                % {"reason": ended.get_reason_display(), "day": program_day(ended.at)},
            )
        )
        credit_until = None
    return steps, last_day, credit_until, employee_id


def employee_credit_check(*, employee: Employee, client: ClientAccount, day: date) -> CreditCheck:
    """Steps 1–6 for one employee in one client, at the end of `day`."""
    return employee_credit_checks(employees=[employee], client=client, day=day)[employee.pk]


def employee_credit_checks(
    *, employees: list[Employee], client: ClientAccount, day: date
) -> dict[int, CreditCheck]:
    """`employee_credit_check` for many employees of any partners, in a fixed number of queries."""
    if not employees:
        return {}
    grace = ProgramSettings.load().grace_days
    end_of_day = day_end(day)
    ids = [e.pk for e in employees]
    access = _access(ids, client, end_of_day)
    activities = _qualifying_activities(ids, client, day - timedelta(days=grace), end_of_day)
    ends = _immediate_ends({e.partner_id for e in employees}, client, end_of_day)
    by_employee: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for employee_id, at in activities:
        by_employee[employee_id].append((employee_id, at))
    return {
        e.pk: _employee_check(e, client, day, grace, access, by_employee[e.pk], ends, end_of_day)
        for e in employees
    }


def _employee_check(
    employee: Employee,
    client: ClientAccount,
    day: date,
    grace: int,
    access: _Access,
    activities: list[tuple[int, datetime]],
    ends: list[RelationshipEnd],
    end_of_day: datetime,
) -> CreditCheck:
    partner = employee.partner
    active = _covers_end_of_day(access.spells.get(employee.pk, []), end_of_day)
    assigned = _covers_end_of_day(access.assignments.get(employee.pk, []), end_of_day)
    seated = _covers_end_of_day(access.seats.get(employee.pk, []), end_of_day)
    steps = [
        _partner_step(partner, end_of_day),
        Step(
            gettext_noop("Employee is active"),
            active,
            _yes_no(active, _("%(email)s is active."), _("%(email)s is deactivated."))
            % {"email": employee.email},
        ),
        Step(
            gettext_noop("Client is assigned to the employee"),
            assigned,
            _yes_no(
                assigned,
                _("%(client)s is assigned to %(email)s in the partner account."),
                _("%(client)s is not assigned to %(email)s in the partner account."),
            )
            % {"client": client.hub_id, "email": employee.email},
        ),
        Step(
            gettext_noop("Employee holds a seat in the client account"),
            seated,
            _yes_no(
                seated,
                _("%(email)s is a user in %(client)s."),
                _("%(email)s is not a user in %(client)s."),
            )
            % {"client": client.hub_id, "email": employee.email},
        ),
    ]
    last = _last_counted(activities, access, partner)
    more, last_day, credit_until, _unused = _activity_steps(
        partner=partner,
        client=client,
        day=day,
        grace=grace,
        last=last,
        names={employee.pk: employee.email},
        ends=ends,
    )
    steps += more
    if not steps[0].ok:
        credit_until = None
    return CreditCheck(
        day=day,
        steps=steps,
        earning=all(step.ok for step in steps),
        credit_until=credit_until,
        last_qualifying_activity=last_day,
        last_employee=employee if last else None,
    )


def credit_check(*, partner: Partner, client: ClientAccount, day: date) -> CreditCheck:
    """Whether (partner, client) earns managed credit on `day`, and which step is missing.

    1. The partner is in the program at the end of the day.
    2. Some employee is active, assigned and seated at the end of the day (else no new
       activity can count, and credit runs out after the grace period).
    3. A counted qualifying activity within the grace period.
    4. No immediate end since that activity.
    5. The relationship is open on the day: the published credit line when the day was
       computed, else steps 1, 3 and 4.
    """
    grace = ProgramSettings.load().grace_days
    end_of_day = day_end(day)
    employees = list(Employee.objects.filter(partner=partner).order_by("email"))
    ids = [e.pk for e in employees]
    names = {e.pk: e.email for e in employees}
    access = _access(ids, client, end_of_day)
    ready = [
        e.email
        for e in employees
        if _covers_end_of_day(access.spells.get(e.pk, []), end_of_day)
        and _covers_end_of_day(access.assignments.get(e.pk, []), end_of_day)
        and _covers_end_of_day(access.seats.get(e.pk, []), end_of_day)
    ]
    steps = [
        _partner_step(partner, end_of_day),
        Step(
            gettext_noop("An employee is active, assigned and seated"),
            bool(ready),
            ", ".join(ready)
            if ready
            else _("No employee meets steps 1–3 at the end of the day: new activity cannot count."),
        ),
    ]
    activities = _qualifying_activities(ids, client, day - timedelta(days=grace), end_of_day)
    last = _last_counted(activities, access, partner)
    more, last_day, credit_until, last_employee_id = _activity_steps(
        partner=partner,
        client=client,
        day=day,
        grace=grace,
        last=last,
        names=names,
        ends=_immediate_ends({partner.pk}, client, end_of_day),
    )
    steps += more
    derived_open = steps[0].ok and all(step.ok for step in more)
    if not steps[0].ok:
        credit_until = None
    line = _published_line(partner, client, day)
    published = line is not False
    if isinstance(line, CreditLine):
        open_on_day, credit_until = True, line.credit_until
        points = (
            _("no points (no rate)")
            if line.points is None
            else _("%(points)s points") % {"points": line.points}
        )
        detail = _(
            "Published result of %(day)s: open, share %(currency)s %(share)s of %(mrr)s among "
            "%(sharing)s, %(points)s."
        ) % {
            "day": day,
            "currency": line.currency,
            "share": line.share,
            "mrr": line.mrr,
            "sharing": line.partners_sharing,
            "points": points,
        }
    elif published:
        open_on_day = False
        detail = _("The published result of %(day)s has no credit line for this relationship.") % {
            "day": day
        }
    else:
        open_on_day = derived_open
        detail = _("%(day)s has not been computed; derived from the history.") % {"day": day}
    source = "published" if published else "live"
    steps.append(Step(gettext_noop("Relationship open on the day"), open_on_day, detail, source))
    last_employee = next((e for e in employees if e.pk == last_employee_id), None)
    return CreditCheck(
        day=day,
        steps=steps,
        earning=open_on_day,
        credit_until=credit_until if open_on_day else None,
        last_qualifying_activity=last_day,
        last_employee=last_employee,
        published=published,
    )


def _published_line(
    partner: Partner, client: ClientAccount, day: date
) -> CreditLine | None | Literal[False]:
    """The day's published credit line; None if the day has none; False if never computed."""
    run_id = DayResult.objects.filter(day=day).values_list("run_id", flat=True).first()
    if run_id is None:
        return False
    return CreditLine.objects.filter(run_id=run_id, partner=partner, client=client).first()


# --- Each activity's verdict, and "Not earning — fix these" ------------------------------------

NOT_QUALIFYING = gettext_noop("not a qualifying action")
NOT_ACTIVE = gettext_noop("not active")
NOT_ASSIGNED = gettext_noop("not assigned")
NO_SEAT = gettext_noop("no seat")
PARTNER_OUT = gettext_noop("partner not in the program")
ENDED = gettext_noop("relationship ended")
MISSING_STEPS = [NOT_ACTIVE, NOT_ASSIGNED, NO_SEAT, NOT_QUALIFYING, ENDED, PARTNER_OUT]


@dataclass(frozen=True)
class ActivityVerdict:
    activity: Activity
    counted: bool
    missing: str  # one of MISSING_STEPS; '' when counted
    ended_by: RelationshipEnd | None = None


class _PairAccess:
    """Active spells per employee, assignments and seats per (employee, client)."""

    def __init__(self, employee_ids: set[int], client_ids: set[int], until: datetime) -> None:
        fields = ("employee_id", "start", "end")
        self.spells = _spans(
            EmployeeSpell.objects.filter(employee_id__in=employee_ids, start__lt=until).values_list(
                *fields
            )
        )
        self.assignments = self._pairs(Assignment, employee_ids, client_ids, until)
        self.seats = self._pairs(Seat, employee_ids, client_ids, until)

    @staticmethod
    def _pairs(
        model: type[Assignment] | type[Seat],
        employee_ids: set[int],
        client_ids: set[int],
        until: datetime,
    ) -> dict[tuple[int, int], list[Span]]:
        result: dict[tuple[int, int], list[Span]] = defaultdict(list)
        rows = model.objects.filter(
            employee_id__in=employee_ids, client_id__in=client_ids, start__lt=until
        ).values_list("employee_id", "client_id", "start", "end")
        for employee_id, client_id, start, end in rows:
            result[(employee_id, client_id)].append((start, end))
        return result

    def missing(self, employee_id: int, client_id: int, at: datetime) -> str:
        if not _covers(self.spells.get(employee_id, []), at):
            return NOT_ACTIVE
        if not _covers(self.assignments.get((employee_id, client_id), []), at):
            return NOT_ASSIGNED
        if not _covers(self.seats.get((employee_id, client_id), []), at):
            return NO_SEAT
        return ""


def activity_verdicts(*, activities: list[Activity], day: date) -> list[ActivityVerdict]:
    """Whether each activity counted (SPEC §3.1) and, if not, the first missing step; a counted
    one whose relationship was ended at once afterwards (up to the end of `day`) says so."""
    if not activities:
        return []
    until = day_end(day)
    access = _PairAccess(
        {a.employee_id for a in activities}, {a.client_id for a in activities}, until
    )
    qualifying = set(QualifyingAction.objects.values_list("tool", "action"))
    partners = Partner.objects.in_bulk({a.partner_id for a in activities})
    ends = list(
        RelationshipEnd.objects.filter(partner_id__in=partners, at__lt=until).order_by("at")
    )
    verdicts = []
    for a in activities:
        partner = partners[a.partner_id]
        missing = "" if (a.tool.lower(), a.action.lower()) in qualifying else NOT_QUALIFYING
        if not missing and (
            a.at < partner.joined_at or (partner.left_at is not None and a.at >= partner.left_at)
        ):
            missing = PARTNER_OUT
        missing = missing or access.missing(a.employee_id, a.client_id, a.at)
        ended = None
        if not missing:
            ended = next(
                (
                    e
                    for e in ends
                    if e.partner_id == a.partner_id
                    and e.client_id in (None, a.client_id)
                    and e.at >= a.at
                ),
                None,
            )
        verdicts.append(ActivityVerdict(a, not missing, missing, ended))
    return verdicts


@dataclass(frozen=True)
class NotEarning:
    """A client the partner worked in lately without earning credit on the day."""

    client: ClientAccount
    missing: str
    activity: Activity
    ended_by: RelationshipEnd | None
    activities: int


def not_earning(*, partner: Partner, day: date, days: int = 60) -> list[NotEarning]:
    """Clients where the partner's employees did activities on the `days` days up to `day`
    while the partner has no credit line in them on `day` (the published result), each with
    the missing step of its latest qualifying activity (else of its latest activity)."""
    run_id = DayResult.objects.filter(day=day).values_list("run_id", flat=True).first()
    earning = CreditLine.objects.filter(run_id=run_id, partner=partner).values("client_id")
    # By the partner's employees and the time range: the (employee, client, at) index serves
    # it; a filter on partner and day would read every partner's activities of the window.
    employees = list(Employee.objects.filter(partner=partner).values_list("pk", flat=True))
    recent = list(
        Activity.objects.filter(
            employee_id__in=employees,
            at__gte=day_start(day - timedelta(days=days - 1)),
            at__lt=day_end(day),
        )
        .exclude(client_id__in=earning)
        .select_related("employee", "client")
        .order_by("-at", "-pk")[:5000]
    )
    verdicts = activity_verdicts(activities=recent, day=day)
    chosen: dict[int, ActivityVerdict] = {}
    counts: dict[int, int] = defaultdict(int)
    for verdict in verdicts:  # latest first
        client_id = verdict.activity.client_id
        counts[client_id] += 1
        held = chosen.get(client_id)
        if held is None or (held.missing == NOT_QUALIFYING and verdict.missing != NOT_QUALIFYING):
            chosen[client_id] = verdict
    rows = [
        NotEarning(
            v.activity.client,
            v.missing or ENDED,
            v.activity,
            v.ended_by,
            counts[client_id],
        )
        for client_id, v in chosen.items()
    ]
    order = {step: i for i, step in enumerate(MISSING_STEPS)}
    return sorted(rows, key=lambda r: (order[r.missing], r.client.hub_id))
