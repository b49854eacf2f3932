""" "Why no credit?" — the checklist of SPEC §3.10 for (partner, client) and (employee, client).

Everything is evaluated from the stored history, as the state at the end of `day`, with a
fixed number of queries whatever the number of employees or activities: the intervals and the
qualifying activities of the window are fetched once and walked in Python.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

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
from partnercredit.days import day_end, program_day

Span = tuple[datetime, datetime | None]


class Step(NamedTuple):
    label: str
    ok: bool
    detail: str


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
    notes: list[str] = field(default_factory=list)

    @property
    def first_failing_index(self) -> int | None:
        return next((i for i, step in enumerate(self.steps) if not step.ok), None)

    @property
    def first_failing_step(self) -> Step | None:
        index = self.first_failing_index
        return None if index is None else self.steps[index]


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
    label = _("Partner is in the program")
    if partner.joined_at >= end_of_day:
        detail = _("%(partner)s joined on %(day)s.")
        return Step(
            label, False, detail % {"partner": partner.key, "day": program_day(partner.joined_at)}
        )
    if partner.left_at is not None and partner.left_at < end_of_day:
        detail = _("%(partner)s left on %(day)s.")
        return Step(
            label, False, detail % {"partner": partner.key, "day": program_day(partner.left_at)}
        )
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
                    _("Counted qualifying activity within the grace period"),
                    False,
                    _("No qualifying activity that met the steps between %(first)s and %(day)s.")
                    % {"first": first_day, "day": day},
                ),
                Step(_("Relationship not ended immediately since"), True, _("Nothing to end.")),
            ],
            None,
            None,
            None,
        )
    employee_id, at = last
    last_day = program_day(at)
    credit_until = last_day + timedelta(days=grace)
    steps = [
        Step(
            _("Counted qualifying activity within the grace period"),
            True,
            _(
                "Last counted activity on %(day)s by %(employee)s; "
                "credit runs until %(until)s without new activity."
            )
            % {"day": last_day, "employee": names.get(employee_id, "?"), "until": credit_until},
        )
    ]
    ended = _first_end_after(ends, partner, at)
    if ended is None:
        steps.append(
            Step(_("Relationship not ended immediately since"), True, _("No immediate end."))
        )
    else:
        steps.append(
            Step(
                _("Relationship not ended immediately since"),
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
            _("Employee is active"),
            active,
            _yes_no(active, _("%(email)s is active."), _("%(email)s is deactivated."))
            % {"email": employee.email},
        ),
        Step(
            _("Client is assigned to the employee"),
            assigned,
            _yes_no(
                assigned,
                _("%(client)s is assigned to %(email)s in the partner account."),
                _("%(client)s is not assigned to %(email)s in the partner account."),
            )
            % {"client": client.hub_id, "email": employee.email},
        ),
        Step(
            _("Employee holds a seat in the client account"),
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
            _("An employee is active, assigned and seated"),
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
    if published and line is not None:
        open_on_day, credit_until = True, line.credit_until
        detail = _("Published result: credit until %(until)s, share %(share)s.") % {
            "until": line.credit_until,
            "share": line.share,
        }
    elif published:
        open_on_day = False
        detail = _("The published result of %(day)s has no credit line for this relationship.") % {
            "day": day
        }
    else:
        open_on_day = derived_open
        detail = _("%(day)s has not been computed; derived from the history.") % {"day": day}
        if open_on_day:
            detail += " " + _("Credit until %(until)s.") % {"until": credit_until}
    steps.append(Step(_("Relationship open on the day"), open_on_day, detail))
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


def _published_line(partner: Partner, client: ClientAccount, day: date) -> CreditLine | None | bool:
    """The day's published credit line; None if the day has none; False if never computed."""
    run_id = DayResult.objects.filter(day=day).values_list("run_id", flat=True).first()
    if run_id is None:
        return False
    return CreditLine.objects.filter(run_id=run_id, partner=partner, client=client).first()
