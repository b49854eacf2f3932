"""Who may do what (SPEC §1). Scoping is one idea in one place: `partner_of`.

Program staff are staff users in the *program admins* (edit) or *credit reviewers* (read)
group, or superusers. Everyone else with a login is an employee of one partner, and sees
only that partner's rows.
"""

from django.contrib.auth.models import AnonymousUser, User

from accounts.models import Employee, Partner

PROGRAM_ADMINS = "program admins"
CREDIT_REVIEWERS = "credit reviewers"

AnyUser = User | AnonymousUser


def _groups(user: AnyUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_partnercredit_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._partnercredit_groups = cached  # type: ignore[attr-defined]  # a per-request cache
    return cached


def signed_in(user: AnyUser) -> User:
    """The user of a page that requires a login (the admin, the report pages): never anonymous."""
    assert isinstance(user, User), "this page requires a login"
    return user


def is_program_admin(user: AnyUser) -> bool:
    return user.is_active and (user.is_superuser or PROGRAM_ADMINS in _groups(user))


def is_program_staff(user: AnyUser) -> bool:
    """Reads everything: program admins and credit reviewers."""
    return is_program_admin(user) or (user.is_active and CREDIT_REVIEWERS in _groups(user))


def employee_of(user: AnyUser) -> Employee | None:
    """The active employee record linked to this login, if any."""
    if not user.is_authenticated:
        return None
    try:
        employee = user.employee
    except Employee.DoesNotExist:
        return None
    if not employee.is_active or employee.partner.left_at is not None:
        return None
    return employee


def partner_of(user: AnyUser) -> Partner | None:
    """The one partner whose data this user may see; None for program staff and strangers."""
    if is_program_staff(user):
        return None
    employee = employee_of(user)
    return employee.partner if employee else None


def is_partner_admin(user: AnyUser) -> bool:
    employee = employee_of(user)
    return employee is not None and employee.role == Employee.Role.PARTNER_ADMIN


def is_access_manager(user: AnyUser) -> bool:
    """May add and remove seats: a partner admin or a client access manager."""
    employee = employee_of(user)
    return employee is not None and (
        employee.role == Employee.Role.PARTNER_ADMIN or employee.is_client_access_manager
    )


def can_see_partner(user: AnyUser, partner: Partner) -> bool:
    if is_program_staff(user):
        return True
    own = partner_of(user)
    return own is not None and own.pk == partner.pk


def may_read_reports(user: AnyUser) -> bool:
    """Program staff, and a partner's admins and client access managers (SPEC §1).

    An employee with neither role has no business in the app: a login linked to them reads
    nothing of their partner.
    """
    return is_program_staff(user) or is_access_manager(user)
