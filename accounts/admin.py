"""The admin where partner admins manage their employees' access and staff end relationships.

Every change goes through `accounts.services`; every page is scoped by `PartnerScopedAdmin`.
Nothing with history is deleted: employees are deactivated, assignments and seats ended.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.models import (
    Assignment,
    ClientAccount,
    ClientMRR,
    Employee,
    Partner,
    RelationshipEnd,
    Seat,
)
from accounts.permissions import (
    AnyUser,
    is_access_manager,
    is_partner_admin,
    is_program_admin,
    partner_of,
)
from accounts.scoping import PartnerScopedAdmin
from credits.models import Activity, Deal


def _adopt(obj: Model, saved: Model) -> None:
    """Let the admin carry on (messages, redirects, inlines) with the row a service saved."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj._state.db = saved._state.db


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _manages(user: AnyUser) -> bool:
    """Program admins and partner admins: add, deactivate, assign, end."""
    return is_program_admin(user) or is_partner_admin(user)


# --- "active by default" list filters ------------------------------------------------------------


class DefaultYesFilter(admin.SimpleListFilter):
    """A yes/no/all filter whose unset value means "yes": lists default to live rows."""

    yes: Q

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", "Yes"), ("no", "No"), ("all", "All")]

    def choices(self, changelist: Any):  # noqa: ANN201
        current = self.value() or "yes"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or "yes"
        if value == "all":
            return queryset
        return queryset.filter(self.yes) if value == "yes" else queryset.exclude(self.yes)


class ActiveFilter(DefaultYesFilter):
    title = "active"
    parameter_name = "active"
    yes = Q(is_active=True)


class OpenFilter(DefaultYesFilter):
    title = "open"
    parameter_name = "open"
    yes = Q(end__isnull=True)


class InProgramFilter(DefaultYesFilter):
    title = "in program"
    parameter_name = "in_program"
    yes = Q(left_at__isnull=True)


# --- confirmation pages for relationship-ending actions ------------------------------------------


class ConfirmEndForm(forms.Form):
    """Type the identifier to confirm, give a reason; program staff also pick the partner."""

    partner = forms.ModelChoiceField(queryset=Partner.objects.filter(left_at__isnull=True))
    confirmation = forms.CharField()
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, expected: str, pick_partner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirmation"].help_text = f"Type “{expected}” to confirm."
        if not pick_partner:
            del self.fields["partner"]

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"].strip()
        if value != self.expected:
            raise ValidationError(f"Type “{self.expected}” exactly to confirm.")
        return value


def confirm_end_page(request: HttpRequest, model_admin: admin.ModelAdmin, obj: Model, *,
                     title: str, warning: str, form: ConfirmEndForm) -> TemplateResponse:  # fmt: skip
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": title,
        "warning": warning,
        "form": form,
    }
    return TemplateResponse(request, "admin/accounts/confirm_end.html", context)


def redirect_to_one(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet,
                    url_name: str) -> HttpResponseRedirect | None:  # fmt: skip
    """Relationship-ending actions work on one object at a time, behind a confirmation page."""
    if queryset.count() != 1:
        model_admin.message_user(request, "Select exactly one row.", messages.WARNING)
        return None
    return HttpResponseRedirect(reverse(url_name, args=[queryset.get().pk]))


# --- partners ------------------------------------------------------------------------------------


@admin.register(Partner)
class PartnerAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    partner_field = "pk"
    list_display = ["key", "name", "joined_at", "left_at"]
    list_filter = [InProgramFilter]
    search_fields = ["key", "name"]
    actions = ["leave_program"]

    def get_fields(self, request: HttpRequest, obj: Partner | None = None) -> list[str]:
        return ["key", "name"] if obj is None else ["key", "name", "joined_at", "left_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Partner | None = None) -> list[str]:
        return [] if obj is None else ["key", "joined_at", "left_at"]

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        partner = services.partner_join(
            key=obj.key, name=obj.name, at=timezone.now(), actor=request.user
        )
        _adopt(obj, partner)

    def has_leave_permission(self, request: HttpRequest) -> bool:
        return is_program_admin(request.user)

    @admin.action(description="Partner leaves the program", permissions=["leave"])
    def leave_program(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return redirect_to_one(self, request, queryset, "admin:accounts_partner_leave")

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.leave_view)
        return [path("<path:object_id>/leave/", view, name="accounts_partner_leave")] + (
            super().get_urls()
        )

    def leave_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        partner = self.get_object(request, unquote(object_id))
        if not self.has_leave_permission(request):
            raise PermissionDenied
        form = ConfirmEndForm(request.POST or None, expected=partner.key, pick_partner=False)
        if request.method == "POST" and form.is_valid():
            try:
                services.partner_leave(
                    partner=partner,
                    at=timezone.now(),
                    actor=request.user,
                    note=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"{partner} left the program.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:accounts_partner_change", args=[partner.pk]))
        return confirm_end_page(
            request,
            self,
            partner,
            title=f"{partner} leaves the program",
            warning="Every relationship of this partner ends now and every employee is deactivated.",
            form=form,
        )


# --- employees, with their assignments and seats inline ------------------------------------------


class ReadOnlyAccessInline(admin.TabularInline):
    """Shown on a page that is already scoped; adding goes through the Assignment/Seat pages."""

    fields = ["client", "start", "end", "ended_by"]
    readonly_fields = fields
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
    verbose_name_plural = "assigned clients (step 2)"


class SeatInline(ReadOnlyAccessInline):
    model = Seat
    verbose_name_plural = "seats in client accounts (step 3)"


class EmployeeAddForm(forms.ModelForm):
    """The service's own checks, made before it runs so that they show on the form."""

    own_partner: Partner | None = None  # set for a partner's user, who adds to their own partner

    class Meta:
        model = Employee
        fields = ["partner", "email", "name", "role", "is_client_access_manager"]

    def clean(self) -> dict:
        data = super().clean()
        partner = self.own_partner or data.get("partner")
        email = (data.get("email") or "").strip().lower()
        if partner and partner.left_at is not None:
            raise ValidationError(f"Partner {partner.key} has left the program.")
        if partner and Employee.objects.filter(partner=partner, email=email).exists():
            self.add_error("email", f"{email} is already an employee of {partner.key}.")
        return data


@admin.register(Employee)
class EmployeeAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    list_display = ["email", "name", "partner", "role", "is_client_access_manager", "is_active",
                    "deactivated_at"]  # fmt: skip
    list_filter = [ActiveFilter, "role", "is_client_access_manager", "partner"]
    search_fields = ["email", "name", "partner__key", "partner__name"]
    list_select_related = ["partner"]
    actions = ["deactivate", "reactivate"]

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    def partner_may_change(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    def get_fields(self, request: HttpRequest, obj: Employee | None = None) -> list[str]:
        own = partner_of(request.user)
        fields = ["email", "name", "role", "is_client_access_manager"]
        if obj is None:
            return fields if own else ["partner", *fields]
        extra = ["is_active", "deactivated_at", "access_links"]
        return ["partner", *fields, "user", *extra]

    def get_readonly_fields(self, request: HttpRequest, obj: Employee | None = None) -> list[str]:
        if obj is None:
            return []
        readonly = ["partner", "email", "is_active", "deactivated_at", "access_links"]
        # Linking a login to an employee is program staff's job.
        return readonly if is_program_admin(request.user) else [*readonly, "user"]

    def get_form(self, request: HttpRequest, obj: Employee | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = EmployeeAddForm
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
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
            actor=request.user,
        )
        _adopt(obj, employee)

    @admin.display(description="access")
    def access_links(self, obj: Employee) -> str:
        if not obj.pk or not obj.is_active:
            return "—"
        return format_html(
            '<a href="{}?employee={}">Assign a client</a> · <a href="{}?employee={}">Add a seat</a>',
            reverse("admin:accounts_assignment_add"),
            obj.pk,
            reverse("admin:accounts_seat_add"),
            obj.pk,
        )

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return _manages(request.user)

    def has_reactivate_permission(self, request: HttpRequest) -> bool:
        return _manages(request.user)

    @admin.action(description="Deactivate selected employees", permissions=["deactivate"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        done = [
            services.employee_deactivate(employee=e, at=now, actor=request.user)
            for e in queryset.filter(is_active=True)
        ]
        self.message_user(request, f"{_plural(len(done), 'employee')} deactivated.")

    @admin.action(description="Reactivate selected employees", permissions=["reactivate"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        done = [
            services.employee_reactivate(employee=e, at=now, actor=request.user)
            for e in queryset.filter(is_active=False, partner__left_at__isnull=True)
        ]
        self.message_user(request, f"{_plural(len(done), 'employee')} reactivated.")


# --- client accounts -----------------------------------------------------------------------------


class ClientAccountAddForm(forms.ModelForm):
    amount = forms.DecimalField(label="MRR", max_digits=14, decimal_places=2, min_value=0)

    class Meta:
        model = ClientAccount
        fields = ["hub_id", "name", "country", "currency"]


@admin.register(ClientAccount)
class ClientAccountAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    """A partner's users see the clients their partner has or had access to or activity in."""

    list_display = ["hub_id", "name", "country", "currency"]
    list_filter = ["country", "currency"]
    search_fields = ["hub_id", "name"]
    actions = ["remove_all_employees", "end_services"]
    change_form_template = "admin/accounts/clientaccount/change_form.html"

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        partner = partner_of(request.user)
        if partner is None:
            return super().scope_queryset(request, queryset)
        return queryset.filter(
            Q(pk__in=Assignment.objects.filter(employee__partner=partner).values("client"))
            | Q(pk__in=Seat.objects.filter(employee__partner=partner).values("client"))
            | Q(pk__in=Activity.objects.filter(partner=partner).values("client"))
            | Q(pk__in=Deal.objects.filter(partner=partner).values("client"))
        )

    def get_fields(self, request: HttpRequest, obj: ClientAccount | None = None) -> list[str]:
        if obj is None:
            return ["hub_id", "name", "country", "currency", "amount"]
        return ["hub_id", "name", "country", "currency"]

    def get_readonly_fields(self, request: HttpRequest, obj: ClientAccount | None = None) -> list:
        return [] if obj is None else ["hub_id", "currency"]

    def get_form(
        self, request: HttpRequest, obj: ClientAccount | None = None, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ClientAccountAddForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request: HttpRequest, obj: ClientAccount, form: Any, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        client = services.client_add(
            hub_id=obj.hub_id,
            name=obj.name,
            country=obj.country,
            currency=obj.currency.upper(),
            amount=form.cleaned_data["amount"],
            at=timezone.now(),
            actor=request.user,
        )
        _adopt(obj, client)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:  # fmt: skip
        client = self.get_object(request, unquote(object_id))
        context = {
            **(extra_context or {}),
            "access_rows": self.access_rows(request, client),
            "may_end": self.has_end_permission(request),
        }
        return super().change_view(request, object_id, form_url, context)

    def access_rows(self, request: HttpRequest, client: ClientAccount) -> list[dict[str, Any]]:
        """Each employee with open access to the client: only the user's partner's for them."""
        access: dict[int, dict[str, Any]] = {}
        own = partner_of(request.user)
        for model, step in ((Assignment, "assigned"), (Seat, "seat")):
            rows = model.objects.filter(client=client, end__isnull=True)
            if own is not None:
                rows = rows.filter(employee__partner=own)
            for row in rows.select_related("employee__partner"):
                entry = access.setdefault(row.employee_id, {"employee": row.employee})
                entry[step] = row.start
        return sorted(
            access.values(), key=lambda e: (e["employee"].partner.key, e["employee"].email)
        )

    def has_end_permission(self, request: HttpRequest) -> bool:
        return _manages(request.user)

    @admin.action(
        description="Remove all partner employees from this client account",
        permissions=["end"],
    )
    def remove_all_employees(self, request: HttpRequest, queryset: QuerySet) -> Any:
        return redirect_to_one(
            self, request, queryset, "admin:accounts_clientaccount_remove_all_employees"
        )

    @admin.action(description="End services", permissions=["end"])
    def end_services(self, request: HttpRequest, queryset: QuerySet) -> Any:
        return redirect_to_one(self, request, queryset, "admin:accounts_clientaccount_end_services")

    def get_urls(self) -> list:
        def view(fn: Callable) -> Callable:
            return self.admin_site.admin_view(fn)

        return [
            path(
                "<path:object_id>/remove-all-employees/",
                view(self.remove_all_employees_view),
                name="accounts_clientaccount_remove_all_employees",
            ),
            path(
                "<path:object_id>/end-services/",
                view(self.end_services_view),
                name="accounts_clientaccount_end_services",
            ),
            *super().get_urls(),
        ]

    def remove_all_employees_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._end_view(
            request,
            object_id,
            service=services.client_remove_all_employees,
            title="Remove all partner employees from this client account",
            warning="Every seat of the partner's employees in this client account is removed now: "
            "managed credit for this client ends today.",
            done="seat",
        )

    def end_services_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._end_view(
            request,
            object_id,
            service=services.services_end,
            title="End services",
            warning="The client is unassigned from every employee of the partner now: "
            "managed credit for this client ends today.",
            done="assignment",
        )

    def _end_view(self, request: HttpRequest, object_id: str, *, service: Callable, title: str,
                  warning: str, done: str) -> HttpResponse:  # fmt: skip
        client = self.get_object(request, unquote(object_id))
        if not self.has_end_permission(request):
            raise PermissionDenied
        own = partner_of(request.user)
        form = ConfirmEndForm(request.POST or None, expected=client.hub_id, pick_partner=not own)
        if request.method == "POST" and form.is_valid():
            partner = own or form.cleaned_data["partner"]
            count = service(
                partner=partner,
                client=client,
                at=timezone.now(),
                actor=request.user,
                note=form.cleaned_data["reason"],
            )
            self.message_user(
                request,
                f"{title} for {partner.key}: {_plural(count, done)} ended.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:accounts_clientaccount_change", args=[client.pk])
            )
        return confirm_end_page(
            request, self, client, title=f"{title}: {client}", warning=warning, form=form
        )


@admin.register(ClientMRR)
class ClientMRRAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    """Program staff only; a change is a new effective-dated row, never an edit."""

    partner_field = None
    list_display = ["client", "effective_at", "currency", "amount"]
    list_filter = ["currency"]
    search_fields = ["client__hub_id", "client__name"]
    list_select_related = ["client"]
    fields = ["client", "effective_at", "amount", "currency"]
    autocomplete_fields = ["client"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ClientMRR, form: Any, change: bool) -> None:
        mrr = services.client_mrr_change(
            client=obj.client,
            amount=obj.amount,
            currency=obj.currency,
            at=obj.effective_at,
            actor=request.user,
        )
        _adopt(obj, mrr)


# --- assignments and seats -----------------------------------------------------------------------


class AccessAddForm(forms.ModelForm):
    """Pick one of your partner's active employees and type the client's hub id."""

    client_hub_id = forms.CharField(label="client hub id")
    step: str = ""  # "is assigned" / "has a seat in"

    class Meta:
        fields = ["employee"]

    def clean_client_hub_id(self) -> ClientAccount:
        hub_id = self.cleaned_data["client_hub_id"].strip()
        client = ClientAccount.objects.filter(hub_id=hub_id).first()
        if client is None:
            raise ValidationError(f"No client account has hub id {hub_id}.")
        return client

    def clean(self) -> dict:
        data = super().clean()
        employee, client = data.get("employee"), data.get("client_hub_id")
        if employee and client:
            model = self._meta.model
            if model.objects.filter(employee=employee, client=client, end__isnull=True).exists():
                raise ValidationError(f"{employee.email} already {self.step} {client.hub_id}.")
            self.instance.client = client
        return data


class AccessIntervalAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    """Assignments and seats: added and ended through the services, never edited."""

    partner_field = "employee__partner"
    list_display = ["employee", "partner", "client", "start", "end", "ended_by"]
    list_filter = [OpenFilter, "employee__partner"]
    search_fields = ["employee__email", "employee__name", "client__hub_id", "client__name"]
    list_select_related = ["employee__partner", "client", "ended_by"]
    readonly_fields = ["employee", "client", "start", "end", "ended_by"]
    step = ""
    open_service: Callable
    close_service: Callable

    @admin.display(ordering="employee__partner__key")
    def partner(self, obj: Assignment | Seat) -> str:
        return obj.employee.partner.key

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return ["employee", "client_hub_id"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def get_form(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = AccessAddForm
        form = super().get_form(request, obj, **kwargs)
        form.step = self.step
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "employee":
            field.queryset = field.queryset.filter(is_active=True, partner__left_at__isnull=True)
        return field

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_end_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        row = type(self).open_service(
            employee=obj.employee, client=obj.client, at=timezone.now(), actor=request.user
        )
        _adopt(obj, row)

    def _end_selected(self, request: HttpRequest, queryset: QuerySet, noun: str) -> None:
        now = timezone.now()
        ended = [
            type(self).close_service(
                employee=row.employee, client=row.client, at=now, actor=request.user
            )
            for row in queryset.filter(end__isnull=True).select_related("employee__partner")
        ]
        self.message_user(request, f"{_plural(len(ended), noun)} ended.")


@admin.register(Assignment)
class AssignmentAdmin(AccessIntervalAdmin):
    step = "is assigned"
    open_service = services.client_assign
    close_service = services.client_unassign
    actions = ["unassign"]

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    @admin.action(
        description="Unassign selected clients (end the assignments)", permissions=["end"]
    )
    def unassign(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._end_selected(request, queryset, "assignment")


@admin.register(Seat)
class SeatAdmin(AccessIntervalAdmin):
    step = "has a seat in"
    open_service = services.seat_add
    close_service = services.seat_remove
    actions = ["remove_seats"]

    def partner_may_view(self, user: AnyUser) -> bool:
        return is_access_manager(user)

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_access_manager(user)

    @admin.action(description="Remove selected seats", permissions=["end"])
    def remove_seats(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._end_selected(request, queryset, "seat")


@admin.register(RelationshipEnd)
class RelationshipEndAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    """The record of immediate ends: who, when, why. Written only by the services."""

    list_display = ["at", "partner", "client", "reason", "actor", "note"]
    list_filter = ["reason", "partner"]
    search_fields = ["partner__key", "partner__name", "client__hub_id", "client__name", "note"]
    list_select_related = ["partner", "client", "actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
