"""Staff see every e-mail sent or failed, and may send a failed one again."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.permissions import is_program_admin, is_program_staff
from notifications.models import SentNotification
from notifications.services import notifications_retry
from partnercredit.adminlists import BoundedChangeListMixin


@admin.register(SentNotification)
class SentNotificationAdmin(BoundedChangeListMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "recipient",
        "kind",
        "period",
        "status",
        "attempts",
        "short_error",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "subject", "period"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    actions = ["send_again"]
    readonly_fields = [f.name for f in SentNotification._meta.fields]

    @admin.display(description=_("last error"))
    def short_error(self, obj: SentNotification) -> str:
        return obj.error[:120]

    @admin.action(description=_("Send the selected failed e-mails again"), permissions=["change"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[SentNotification]) -> None:
        sent = notifications_retry(ids=list(queryset.values_list("pk", flat=True)))
        message = ngettext("%(count)d e-mail sent again.", "%(count)d e-mails sent again.", sent)
        self.message_user(request, message % {"count": sent}, messages.SUCCESS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_program_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return is_program_staff(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return is_program_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
