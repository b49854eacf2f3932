"""Employees, with their assignments and seats inline."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.admin.common import (
    ActiveFilter,
    _adopt,
    _manages,
    _plural,
    confirmed_or_page,
)
from accounts.models import (
    Assignment,
    Employee,
    Partner,
    Seat,
)
from accounts.permissions import (
    AnyUser,
    is_partner_admin,
    is_program_admin,
    partner_of,
    signed_in,
)
from accounts.scoping import PartnerScopedAdmin
from accounts.selectors import clients_only_they_serve
from credits.models import ProgramSettings

# --- employees, with their assignments and seats inline ------------------------------------------


class ReadOnlyAccessInline(admin.TabularInline):
    """Shown on a page that is already scoped; adding goes through the Assignment/Seat pages."""

    fields = ("client", "start", "end", "ended_by")
    readonly_fields = ("client", "start", "end", "ended_by")
    extra = 0
    can_delete = False
    ordering = ["-start"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AssignmentInline(ReadOnlyAccessInline):
    model = Assignment
    verbose_name_plural = gettext_lazy("assigned clients (step 2)")


class SeatInline(ReadOnlyAccessInline):
    model = Seat
    verbose_name_plural = gettext_lazy("seats in client accounts (step 3)")


class EmployeeAddForm(forms.ModelForm):
    """The service's own checks, made before it runs so that they show on the form."""

    own_partner: Partner | None = None  # set for a partner's user, who adds to their own partner

    class Meta:
        model = Employee
        fields = ["partner", "email", "name", "role", "is_client_access_manager"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        partner = self.own_partner or data.get("partner")
        email = (data.get("email") or "").strip().lower()
        if partner and partner.left_at is not None:
            raise ValidationError(
                _("Partner %(partner)s has left the program.") % {"partner": partner.key}
            )
        if partner and Employee.objects.filter(partner=partner, email=email).exists():
            self.add_error(
                "email",
                _("%(email)s is already an employee of %(partner)s.")
                % {"email": email, "partner": partner.key},
            )
        return data


@admin.register(Employee)
class EmployeeAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    list_display = [
        "email",
        "name",
        "partner",
        "role",
        "is_client_access_manager",
        "is_active",
        "deactivated_at",
    ]
    list_filter = [ActiveFilter, "role", "is_client_access_manager", "partner"]
    search_fields = ["email", "name", "partner__key", "partner__name"]
    list_select_related = ["partner"]
    actions = ["deactivate", "reactivate"]

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    def partner_may_change(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    def get_fields(self, request: HttpRequest, obj: Employee | None = None) -> tuple[str, ...]:
        own = partner_of(request.user)
        fields = ("email", "name", "role", "is_client_access_manager")
        if obj is None:
            return fields if own else ("partner", *fields)
        extra = ("is_active", "deactivated_at", "access_links")
        return ("partner", *fields, "user", *extra)

    def get_readonly_fields(self, request: HttpRequest, obj: Employee | None = None) -> list[str]:
        if obj is None:
            return []
        readonly = ["partner", "email", "is_active", "deactivated_at", "access_links"]
        # Linking a login to an employee is program staff's job.
        return readonly if is_program_admin(request.user) else [*readonly, "user"]

    def get_form(
        self,
        request: HttpRequest,
        obj: Employee | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = EmployeeAddForm
        form = super().get_form(request, obj, change, **kwargs)
        if issubclass(form, EmployeeAddForm):  # the add page's (obj is None)
            form.own_partner = partner_of(request.user)
        return form

    def get_inlines(self, request: HttpRequest, obj: Employee | None) -> list:
        return [] if obj is None else [AssignmentInline, SeatInline]

    def save_model(self, request: HttpRequest, obj: Employee, form: Any, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        employee = services.employee_add(
            partner=partner_of(request.user) or obj.partner,
            email=obj.email,
            name=obj.name,
            role=obj.role,
            is_client_access_manager=obj.is_client_access_manager,
            at=timezone.now(),
            actor=signed_in(request.user),
        )
        _adopt(obj, employee)

    @admin.display(description=gettext_lazy("access"))
    def access_links(self, obj: Employee) -> str:
        if not obj.pk or not obj.is_active:
            return "—"
        return format_html(
            '<a href="{}?employee={}">{}</a> · <a href="{}?employee={}">{}</a>',
            reverse("admin:accounts_assignment_add"),
            obj.pk,
            _("Assign a client"),
            reverse("admin:accounts_seat_add"),
            obj.pk,
            _("Add a seat"),
        )

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return _manages(request.user)

    def has_reactivate_permission(self, request: HttpRequest) -> bool:
        return _manages(request.user)

    @admin.action(
        description=gettext_lazy("Deactivate selected employees"), permissions=["deactivate"]
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Deactivating the last employee who earns credit in a client: confirm first."""
        active = list(queryset.filter(is_active=True).select_related("partner"))
        alone = clients_only_they_serve(active)
        if alone:
            grace = ProgramSettings.load().grace_days
            page = confirmed_or_page(
                request,
                self,
                queryset,
                action="deactivate",
                title=_("Deactivate employees: credit runs out"),
                warning=_(
                    "Their activities stop counting now. In these client accounts nobody "
                    "else of the partner is assigned and seated, so managed credit ends "
                    "%(grace)s days after the last qualifying activity."
                )
                % {"grace": grace},
                consequences=[
                    _("%(client)s: %(email)s is the last of %(partner)s who earns credit there")
                    % {"client": client, "email": employee.email, "partner": employee.partner.key}
                    for employee, client in alone
                ],
                hub_ids=[client.hub_id for _, client in alone],
            )
            if page is not None:
                return page
        self._deactivate(request, queryset)
        return None

    def _deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        now, actor = timezone.now(), signed_in(request.user)
        done = [
            services.employee_deactivate(employee=e, at=now, actor=actor)
            for e in queryset.filter(is_active=True)
        ]
        self.message_user(
            request, _("%(things)s deactivated.") % {"things": _plural(len(done), "employee")}
        )

    @admin.action(
        description=gettext_lazy("Reactivate selected employees"), permissions=["reactivate"]
    )
    def reactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        now, actor = timezone.now(), signed_in(request.user)
        done = [
            services.employee_reactivate(employee=e, at=now, actor=actor)
            for e in queryset.filter(is_active=False, partner__left_at__isnull=True)
        ]
        self.message_user(
            request, _("%(things)s reactivated.") % {"things": _plural(len(done), "employee")}
        )
