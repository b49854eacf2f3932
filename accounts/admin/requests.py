"""Access requests: a partner asks for a client by hub id, program staff approve or refuse.

A partner's users see only their own partner's requests and get one answer whatever they type
(SPEC §1: the answer never reveals whether a hub id exists). Staff see the queue, with whether
each hub id names a client, and approve or refuse.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.admin.common import _adopt, _plural
from accounts.models import AccessRequest, ClientAccount
from accounts.permissions import (
    AnyUser,
    is_access_manager,
    is_program_admin,
    is_program_staff,
    partner_of,
    signed_in,
)
from accounts.scoping import PartnerScopedAdmin
from partnercredit.validators import KeyFormField


class AccessRequestForm(forms.ModelForm):
    hub_id = KeyFormField(
        label=gettext_lazy("hub id"),
        help_text=gettext_lazy("The HubSpot id of the client account."),
    )

    class Meta:
        model = AccessRequest
        fields = ["hub_id", "note"]


class PendingFirstFilter(admin.SimpleListFilter):
    """The queue opens on the pending requests."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [*AccessRequest.Status.choices, ("all", _("All"))]

    def choices(self, changelist: Any):
        current = self.value() or AccessRequest.Status.PENDING
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or AccessRequest.Status.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(AccessRequest)
class AccessRequestAdmin(PartnerScopedAdmin, SimpleHistoryAdmin):
    form = AccessRequestForm
    list_display = (
        "requested_at",
        "partner",
        "hub_id",
        "status",
        "requested_by",
        "decided_by",
        "decided_at",
    )
    list_filter = [PendingFirstFilter]
    search_fields = ["hub_id", "partner__key", "partner__name"]
    list_select_related = ["partner", "requested_by", "decided_by"]
    actions = ["approve", "refuse"]
    shown = (
        "partner",
        "hub_id",
        "note",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )

    def partner_may_view(self, user: AnyUser) -> bool:
        return is_access_manager(user)

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_access_manager(user)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return partner_of(request.user) is not None and self.partner_may_add(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # decided through the actions, never edited

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return is_program_admin(request.user)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        if is_program_staff(request.user):
            return (*self.list_display, "client_exists")
        return self.list_display

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if is_program_staff(request.user):
            queryset = queryset.annotate(
                _client_exists=Exists(ClientAccount.objects.filter(hub_id=OuterRef("hub_id")))
            )
        return queryset

    @admin.display(description=gettext_lazy("client exists"), boolean=True)
    def client_exists(self, obj: AccessRequest) -> bool:
        return getattr(obj, "_client_exists", False)

    def get_fields(self, request: HttpRequest, obj: AccessRequest | None = None) -> tuple[str, ...]:
        return ("hub_id", "note") if obj is None else self.shown

    def get_readonly_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else self.shown

    def save_model(self, request: HttpRequest, obj: AccessRequest, form: Any, change: bool) -> None:
        partner = partner_of(request.user)
        assert partner is not None  # has_add_permission: only a partner's users ask
        saved = services.access_request(
            partner=partner,
            hub_id=obj.hub_id,
            note=obj.note,
            at=timezone.now(),
            actor=signed_in(request.user),
        )
        obj.partner, obj.requested_at, obj.status = saved.partner, saved.requested_at, saved.status
        _adopt(obj, saved)

    def response_add(
        self, request: HttpRequest, obj: AccessRequest, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The same answer whatever the hub id: it never says whether the client exists."""
        self.message_user(
            request, services.ACCESS_REQUEST_ANSWER.format(hub_id=obj.hub_id), messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:accounts_accessrequest_changelist"))

    def _decide(self, request: HttpRequest, queryset: QuerySet, *, approve: bool) -> None:
        now, actor, done, problems = timezone.now(), signed_in(request.user), 0, []
        for item in queryset.filter(status=AccessRequest.Status.PENDING):
            try:
                services.access_request_decide(request=item, approve=approve, at=now, actor=actor)
            except ValidationError as error:
                problems.extend(error.messages)
            else:
                done += 1
        things = _plural(done, "request")
        message = _("%(things)s approved.") if approve else _("%(things)s refused.")
        self.message_user(request, message % {"things": things})
        if problems:
            self.message_user(request, " ".join(problems), messages.WARNING)

    @admin.action(description=gettext_lazy("Approve selected requests"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=gettext_lazy("Refuse selected requests"), permissions=["decide"])
    def refuse(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, approve=False)
