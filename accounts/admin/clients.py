"""Client accounts and their MRR history."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.admin.common import (
    ConfirmEndForm,
    _adopt,
    _manages,
    _plural,
    confirm_end_page,
    redirect_to_one,
)
from accounts.models import (
    Assignment,
    ClientAccount,
    ClientMRR,
    Seat,
)
from accounts.permissions import (
    partner_of,
    signed_in,
)
from accounts.scoping import PartnerScopedAdmin
from accounts.selectors import clients_partner_may_see
from partnercredit.validators import AmountFormField

# --- client accounts -----------------------------------------------------------------------------


class ClientAccountAddForm(forms.ModelForm):
    amount = AmountFormField(label=gettext_lazy("MRR"))

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
        return clients_partner_may_see(partner, queryset)

    def get_fields(self, request: HttpRequest, obj: ClientAccount | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("hub_id", "name", "country", "currency", "amount")
        return ("hub_id", "name", "country", "currency")

    def get_readonly_fields(self, request: HttpRequest, obj: ClientAccount | None = None) -> list:
        return [] if obj is None else ["hub_id", "currency"]

    def get_form(
        self,
        request: HttpRequest,
        obj: ClientAccount | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = ClientAccountAddForm
        return super().get_form(request, obj, change, **kwargs)

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
            actor=signed_in(request.user),
        )
        _adopt(obj, client)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
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
        description=gettext_lazy("Remove all partner employees from this client account"),
        permissions=["end"],
    )
    def remove_all_employees(self, request: HttpRequest, queryset: QuerySet) -> Any:
        return redirect_to_one(
            self, request, queryset, "admin:accounts_clientaccount_remove_all_employees"
        )

    @admin.action(description=gettext_lazy("End services"), permissions=["end"])
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
            title=_("Remove all partner employees from this client account"),
            warning=_(
                "Every seat of the partner's employees in this client account is removed now: "
                "managed credit for this client ends today."
            ),
            done="seat",
        )

    def end_services_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._end_view(
            request,
            object_id,
            service=services.services_end,
            title=_("End services"),
            warning=_(
                "The client is unassigned from every employee of the partner now: "
                "managed credit for this client ends today."
            ),
            done="assignment",
        )

    def _end_view(
        self,
        request: HttpRequest,
        object_id: str,
        *,
        service: Callable,
        title: str,
        warning: str,
        done: str,
    ) -> HttpResponse:
        client = self.get_object(request, unquote(object_id))
        if not self.has_end_permission(request):
            raise PermissionDenied
        own = partner_of(request.user)
        with_access = services.partners_with_access(client=client)
        back = HttpResponseRedirect(
            reverse("admin:accounts_clientaccount_change", args=[client.pk])
        )
        if own is not None and not with_access.filter(pk=own.pk).exists():
            self.message_user(
                request,
                _("%(partner)s has no access to %(client)s: there is nothing to end.")
                % {"partner": own.key, "client": client.hub_id},
                messages.ERROR,
            )
            return back
        form = ConfirmEndForm(
            request.POST or None,
            expected=client.hub_id,
            pick_partner=not own,
            partners=with_access,
        )
        if request.method == "POST" and form.is_valid():
            partner = own or form.cleaned_data["partner"]
            try:
                count = service(
                    partner=partner,
                    client=client,
                    at=timezone.now(),
                    actor=signed_in(request.user),
                    note=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
                return back
            self.message_user(
                request,
                _("%(action)s for %(partner)s: %(things)s ended.")
                % {"action": title, "partner": partner.key, "things": _plural(count, done)},
                messages.SUCCESS,
            )
            return back
        return confirm_end_page(
            request,
            self,
            client,
            title=_("%(action)s: %(client)s") % {"action": title, "client": client},
            warning=warning,
            form=form,
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
            actor=signed_in(request.user),
        )
        _adopt(obj, mrr)
