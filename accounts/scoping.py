"""Admin scoping by partner: one idea in one place (STYLE §8).

`PartnerScopedAdmin` filters everything an admin page can reach — lists, change forms,
history, actions, search, list filters, autocomplete and foreign-key dropdowns — down to the
rows of the user's partner (`partner_of`), and pairs that with the `has_*_permission` checks:

- program admins may view, add and change everything;
- credit reviewers view everything and change nothing;
- a partner's user sees only their own partner's rows, and only on the pages whose
  `partner_may_view` allows them (partner admins by default);
- nothing is ever deleted through the admin: rows with history are deactivated or ended.

Another partner's object id typed into a URL gives 404, never a page or a hint.
"""

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from accounts.permissions import (
    AnyUser,
    is_partner_admin,
    is_program_admin,
    is_program_staff,
    partner_of,
)
from partnercredit.adminlists import BoundedChangeListMixin

if TYPE_CHECKING:  # a mixin of ModelAdmins: the type checker reads it as one
    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object


class PartnerScopedAdmin(BoundedChangeListMixin, _AdminBase):
    """Mix in before `admin.ModelAdmin` (or `SimpleHistoryAdmin`).

    `partner_field` is the lookup path from the model to its Partner ("partner",
    "employee__partner", "pk" for Partner itself); None when partners never see the model.
    """

    partner_field: str | None = "partner"

    # Which of a partner's users may use this page; program staff always may (read).
    def partner_may_view(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    def partner_may_add(self, user: AnyUser) -> bool:
        return False

    def partner_may_change(self, user: AnyUser) -> bool:
        return False

    # --- the scope -----------------------------------------------------------------------------

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """Only the rows of the user's partner; all rows for program staff."""
        if is_program_staff(request.user):
            return queryset
        partner = partner_of(request.user)
        if partner is None or self.partner_field is None:
            return queryset.none()
        return queryset.filter(**{self.partner_field: partner.pk})

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if not self._may_use(request.user):
            return queryset.none()
        return self.scope_queryset(request, queryset)

    def owns(self, request: HttpRequest, obj: Model) -> bool:
        if is_program_staff(request.user):
            return True
        return self.scope_queryset(request, self.model._default_manager.filter(pk=obj.pk)).exists()

    def _may_use(self, user: AnyUser) -> bool:
        return is_program_staff(user) or (
            partner_of(user) is not None and self.partner_may_view(user)
        )

    # --- permissions ---------------------------------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if not self._may_use(request.user):
            return False
        return obj is None or self.owns(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        user = request.user
        return is_program_admin(user) or (
            partner_of(user) is not None and self.partner_may_add(user)
        )

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        user = request.user
        if is_program_admin(user):
            return True
        if partner_of(user) is None or not self.partner_may_change(user):
            return False
        return obj is None or self.owns(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # rows with history are deactivated or ended, never deleted

    # --- objects out of scope are not found ----------------------------------------------------

    def get_object(  # the admin's model, never None
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Django would redirect with "doesn't exist"; a plain 404 says even less.
            raise Http404
        return obj

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self.get_object(request, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self.get_object(request, unquote(object_id))
        if request.method == "POST":
            raise PermissionDenied  # reverting would bypass the services
        # SimpleHistoryAdmin's view: every scoped admin that has history mixes it in.
        return super().history_form_view(request, object_id, version_id, extra_context)  # type: ignore[misc]

    def revert_disabled(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True

    # --- choices: dropdowns, autocomplete, list filters ----------------------------------------

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs and not is_program_staff(request.user):
            related = self.admin_site._registry.get(db_field.related_model)
            queryset = db_field.related_model._default_manager.all()
            if isinstance(related, PartnerScopedAdmin):
                kwargs["queryset"] = related.scope_queryset(request, queryset)
            else:
                kwargs["queryset"] = queryset.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request: HttpRequest) -> list:
        """Related filters offer only the values present in the user's scoped rows."""
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and self._is_relation(item):
                item = (item, admin.RelatedOnlyFieldListFilter)
            filters.append(item)
        return filters

    def _is_relation(self, path: str) -> bool:
        try:
            return get_fields_from_path(self.model, path)[-1].is_relation
        except (FieldDoesNotExist, admin.utils.NotRelationField):
            return False
