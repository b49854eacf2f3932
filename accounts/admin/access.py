"""Assignments (partner side) and seats (client side), effective-dated."""

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.admin.common import (
    OpenFilter,
    _adopt,
    _plural,
    confirmed_or_page,
)
from accounts.models import (
    Assignment,
    ClientAccount,
    Partner,
    Seat,
)
from accounts.permissions import (
    AnyUser,
    is_access_manager,
    is_partner_admin,
    partner_of,
    signed_in,
)
from accounts.scoping import PartnerScopedAdmin
from accounts.selectors import clients_partner_may_act_in
from partnercredit.validators import KeyFormField

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --- assignments and seats -----------------------------------------------------------------------

PICKER_LIMIT = 500  # a partner's clients; more than this and typing the hub id is quicker


class ClientPicker(forms.TextInput):
    """A hub id field that offers the clients the partner may act in as you type.

    A native `<datalist>`: the browser filters it as the user types, without a script (the
    Content-Security-Policy allows none inline) and without a request per keystroke.
    """

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        super().__init__(attrs={"list": "client-choices", "autocomplete": "off"})
        self.offered = choices

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        field = super().render(name, value, attrs, renderer)
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((h, label) for h, label in self.offered)
        )
        return format_html('{}<datalist id="client-choices">{}</datalist>', field, options)


class AccessAddForm(forms.ModelForm):
    """Pick one of your partner's active employees and type the client's hub id.

    A partner's user may name only a client their partner may act in (SPEC §1); a hub id
    that does not exist gets the same answer from the same query, so the form cannot be used
    to find out which hub ids exist.
    """

    client_hub_id = KeyFormField(label=gettext_lazy("client hub id"))
    # "%(email)s is already assigned %(client)s." / "... has a seat in ..."
    step: "StrOrPromise" = ""
    own_partner: Partner | None = None  # set for a partner's user

    class Meta:
        fields = ["employee"]

    def clean_client_hub_id(self) -> ClientAccount:
        hub_id = self.cleaned_data["client_hub_id"].strip()
        clients = ClientAccount.objects.filter(hub_id=hub_id)
        if self.own_partner is not None:
            client = clients_partner_may_act_in(self.own_partner, clients).first()
            if client is None:
                raise ValidationError(services.no_access_message(hub_id))
            return client
        client = clients.first()
        if client is None:
            raise ValidationError(
                _("No client account has hub id %(hub_id)s.") % {"hub_id": hub_id}
            )
        return client

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        employee, client = data.get("employee"), data.get("client_hub_id")
        if employee and client:
            model = self._meta.model
            if model.objects.filter(employee=employee, client=client, end__isnull=True).exists():
                message = str(self.step) % {"email": employee.email, "client": client.hub_id}
                raise ValidationError(message)
            self.instance.client = client
        return data


class AccessIntervalAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    """Assignments and seats: added and ended through the services, never edited."""

    partner_field = "employee__partner"
    list_display = ["employee", "partner", "client", "start", "end", "ended_by"]
    list_filter = [OpenFilter, "employee__partner"]
    search_fields = ["employee__email", "employee__name", "client__hub_id", "client__name"]
    list_select_related = ["employee__partner", "client", "ended_by"]
    readonly_fields = ("employee", "client", "start", "end", "ended_by")
    step: "StrOrPromise" = ""
    open_service: Callable
    close_service: Callable

    @admin.display(ordering="employee__partner__key")
    def partner(self, obj: Assignment | Seat) -> str:
        return obj.employee.partner.key

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return ("employee", "client_hub_id") if obj is None else self.readonly_fields

    def get_readonly_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = AccessAddForm
        form = super().get_form(request, obj, change, **kwargs)
        if not issubclass(form, AccessAddForm):  # a row's page: read-only, nothing to check
            return form
        form.step = self.step
        form.own_partner = partner_of(request.user)
        if form.own_partner is not None:
            clients = clients_partner_may_act_in(form.own_partner).order_by("hub_id")
            choices = [(c.hub_id, c.name) for c in clients.only("hub_id", "name")[:PICKER_LIMIT]]
            field = copy.deepcopy(form.base_fields["client_hub_id"])  # not the shared one
            form.base_fields["client_hub_id"] = field
            field.widget = ClientPicker(choices)
            field.help_text = (
                "Pick one of the clients your partner has access to, or type its hub id. "
                "For another client, ask program staff under Access requests."
            )
        return form

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """A change made meanwhile by someone else is a message, not an error page."""
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "employee":
            field.queryset = field.queryset.filter(is_active=True, partner__left_at__isnull=True)
        return field

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_end_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request)

    def save_model(
        self, request: HttpRequest, obj: Assignment | Seat, form: Any, change: bool
    ) -> None:
        row = type(self).open_service(
            employee=obj.employee,
            client=obj.client,
            at=timezone.now(),
            actor=signed_in(request.user),
        )
        _adopt(obj, row)

    def _end_selected(self, request: HttpRequest, queryset: QuerySet, noun: str) -> None:
        now, actor = timezone.now(), signed_in(request.user)
        ended, problems = 0, []
        for row in queryset.filter(end__isnull=True).select_related("employee__partner", "client"):
            try:
                type(self).close_service(
                    employee=row.employee, client=row.client, at=now, actor=actor
                )
            except ValidationError as error:  # ended meanwhile by someone else
                problems.extend(error.messages)
            else:
                ended += 1
        self.message_user(request, _("%(things)s ended.") % {"things": _plural(ended, noun)})
        if problems:
            self.message_user(request, " ".join(problems), messages.WARNING)


@admin.register(Assignment)
class AssignmentAdmin(AccessIntervalAdmin):
    step = gettext_lazy("%(email)s already is assigned %(client)s.")
    open_service = services.client_assign
    close_service = services.client_unassign
    actions = ["unassign"]

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    @admin.action(
        description=gettext_lazy("Unassign selected clients (end the assignments)"),
        permissions=["end"],
    )
    def unassign(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._end_selected(request, queryset, "assignment")


@admin.register(Seat)
class SeatAdmin(AccessIntervalAdmin):
    step = gettext_lazy("%(email)s already has a seat in %(client)s.")
    open_service = services.seat_add
    close_service = services.seat_remove
    actions = ["remove_seats"]

    def partner_may_view(self, user: AnyUser) -> bool:
        return is_access_manager(user)

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_access_manager(user)

    @admin.action(description=gettext_lazy("Remove selected seats"), permissions=["end"])
    def remove_seats(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Removing a partner's last seat in a client ends its credit at once: confirm first."""
        seats = queryset.filter(end__isnull=True).select_related("employee__partner", "client")
        last = services.last_seat_of(seats=seats)
        if last:
            page = confirmed_or_page(
                request,
                self,
                queryset,
                action="remove_seats",
                title=_("Remove seats: managed credit ends"),
                warning=_(
                    "Among the selected seats are a partner's last seats in a client "
                    "account: removing them ends that partner's managed credit for the "
                    "client today."
                ),
                consequences=[
                    _("%(partner)s in %(client)s: its last seat — managed credit ends today")
                    % {"partner": partner.key, "client": client}
                    for partner, client in last
                ],
                hub_ids=[client.hub_id for _, client in last],
            )
            if page is not None:
                return page
        self._end_selected(request, queryset, "seat")
        return None
