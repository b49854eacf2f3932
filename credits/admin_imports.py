"""Admin upload of events files (issue 5).

Program admins upload anything; a partner admin uploads only their own partner's activities
(the job is tied to that partner and other rows are rejected with reasons). Credit reviewers
read. The import runs in Celery; the job's page refreshes itself until it is done.
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import AnyUser, is_partner_admin, is_program_staff, partner_of
from accounts.scoping import PartnerScopedAdmin
from credits.import_tasks import import_job_run
from credits.models import ImportJob

REFRESH_SECONDS = 3


class ImportJobForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ["file", "skip_invalid"]
        help_texts = {
            "file": gettext_lazy("A UTF-8 CSV as for `import_events` (SPEC §4)."),
            "skip_invalid": gettext_lazy(
                "Import the valid rows and list the others; otherwise a file with "
                "any bad row imports nothing."
            ),
        }


class ImportJobAdmin(PartnerScopedAdmin, admin.ModelAdmin):
    partner_field = "partner"
    form = ImportJobForm
    list_display = [
        "__str__",
        "created_at",
        "uploaded_by",
        "partner",
        "status",
        "rows_read",
        "rows_applied",
        "rows_duplicate",
        "rows_rejected",
    ]
    list_filter = ["status"]
    list_select_related = ["uploaded_by", "partner"]
    shown = [
        "progress",
        "file",
        "skip_invalid",
        "partner",
        "uploaded_by",
        "created_at",
        "started_at",
        "finished_at",
        "rows_read",
        "rows_applied",
        "rows_duplicate",
        "rows_rejected",
        "error_report",
    ]

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False  # a job is a record of what happened

    def get_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> list[str]:
        return ["file", "skip_invalid"] if obj is None else self.shown

    def get_readonly_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> list[str]:
        return [] if obj is None else self.shown

    def save_model(
        self, request: HttpRequest, obj: ImportJob, form: forms.Form, change: bool
    ) -> None:
        obj.uploaded_by = request.user
        obj.partner = None if is_program_staff(request.user) else partner_of(request.user)
        super().save_model(request, obj, form, change)
        transaction.on_commit(lambda: import_job_run.delay(obj.pk))

    def response_add(
        self, request: HttpRequest, obj: ImportJob, post_url_continue: str | None = None
    ) -> HttpResponse:
        messages.info(request, _("%(job)s is queued; this page shows its progress.") % {"job": obj})
        return HttpResponseRedirect(reverse("admin:credits_importjob_change", args=[obj.pk]))

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: ImportJob) -> str:
        if obj.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            return format_html(
                '<meta http-equiv="refresh" content="{}">{}',
                REFRESH_SECONDS,
                _("%(status)s — %(rows)s rows read so far")
                % {"status": obj.get_status_display(), "rows": obj.rows_read},
            )
        return _(
            "%(status)s: %(read)s read, %(applied)s applied, %(duplicates)s duplicates, "
            "%(rejected)s rejected"
        ) % {
            "status": obj.get_status_display(),
            "read": obj.rows_read,
            "applied": obj.rows_applied,
            "duplicates": obj.rows_duplicate,
            "rejected": obj.rows_rejected,
        }

    @admin.display(description=gettext_lazy("errors"))
    def error_report(self, obj: ImportJob) -> str:
        if not obj.errors:
            return "—"
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', "\n".join(obj.errors))
