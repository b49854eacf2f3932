"""Partners, and the record of relationship-ending actions."""

from typing import Any

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
    InProgramFilter,
    _adopt,
    confirm_end_page,
    redirect_to_one,
)
from accounts.models import (
    Partner,
    RelationshipEnd,
)
from accounts.permissions import (
    is_program_admin,
    signed_in,
)
from accounts.scoping import PartnerScopedAdmin

# --- partners ------------------------------------------------------------------------------------


@admin.register(Partner)
class PartnerAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    partner_field = "pk"
    list_display = ["key", "name", "joined_at", "left_at"]
    list_filter = [InProgramFilter]
    search_fields = ["key", "name"]
    actions = ["leave_program"]

    def get_fields(self, request: HttpRequest, obj: Partner | None = None) -> tuple[str, ...]:
        return ("key", "name") if obj is None else ("key", "name", "joined_at", "left_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Partner | None = None) -> list[str]:
        return [] if obj is None else ["key", "joined_at", "left_at"]

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        partner = services.partner_join(
            key=obj.key, name=obj.name, at=timezone.now(), actor=signed_in(request.user)
        )
        _adopt(obj, partner)

    def has_leave_permission(self, request: HttpRequest) -> bool:
        return is_program_admin(request.user)

    @admin.action(description=gettext_lazy("Partner leaves the program"), permissions=["leave"])
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
                    actor=signed_in(request.user),
                    note=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(partner)s left the program.") % {"partner": partner},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(reverse("admin:accounts_partner_change", args=[partner.pk]))
        return confirm_end_page(
            request,
            self,
            partner,
            title=_("%(partner)s leaves the program") % {"partner": partner},
            warning=_(
                "Every relationship of this partner ends now and every employee is deactivated."
            ),
            form=form,
        )


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
