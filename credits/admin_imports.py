"""Admin upload of events files (issue 5).

Program admins upload anything; a partner admin uploads only their own partner's activities
in the clients their partner may act in (SPEC §1: the job is tied to that partner and other
rows are rejected with reasons). Credit reviewers read. Files are at most
`IMPORT_MAX_UPLOAD_MB`. The import runs in Celery; the job's page refreshes itself until it
is done. With the broker down the upload is kept and says so; the beat sends it when the
broker is back (`credits.import_tasks`).
"""

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import (
    AnyUser,
    is_partner_admin,
    is_program_staff,
    partner_of,
    signed_in,
)
from accounts.scoping import PartnerScopedAdmin
from accounts.selectors import clients_partner_may_act_in
from credits.import_tasks import import_job_dispatch
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

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_MB
        if upload is not None and upload.size > limit * 1024 * 1024:
            raise ValidationError(
                _(
                    "The file is %(size)s MB: at most %(limit)s MB can be uploaded. Split it, "
                    "or ask program staff to run `import_events`."
                )
                % {"size": f"{upload.size / 1024 / 1024:.1f}", "limit": limit}
            )
        return upload


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
    shown = (
        "progress",
        "file_link",
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
    )

    def partner_may_add(self, user: AnyUser) -> bool:
        return is_partner_admin(user)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a job is a record of what happened

    def get_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> tuple[str, ...]:
        return ("file", "skip_invalid") if obj is None else self.shown

    def get_readonly_fields(
        self, request: HttpRequest, obj: ImportJob | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else self.shown

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        own = partner_of(request.user)
        if own is not None and not clients_partner_may_act_in(own).exists():
            self.message_user(
                request,
                _(
                    "Your partner has access to no client account yet: ask program staff for "
                    "access under Access requests, then upload its activities."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:credits_importjob_changelist"))
        return super().add_view(request, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: ImportJob, form: forms.Form, change: bool
    ) -> None:
        obj.uploaded_by = signed_in(request.user)
        obj.language = translation.get_language() or ""
        obj.partner = None if is_program_staff(request.user) else partner_of(request.user)
        super().save_model(request, obj, form, change)
        transaction.on_commit(lambda: self._dispatch(request, obj), robust=True)

    def _dispatch(self, request: HttpRequest, obj: ImportJob) -> None:
        """After the commit (so a worker finds the job): send it, or say it waits."""
        if not import_job_dispatch(obj.pk):
            messages.warning(
                request,
                _(
                    "%(job)s is saved, but the task queue is unreachable just now: the import "
                    "starts by itself within a minute of the queue being back."
                )
                % {"job": obj},
            )

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
        return format_html('<pre class="import-errors">{}</pre>', "\n".join(obj.errors))

    @admin.display(description="file")
    def file_link(self, obj: ImportJob) -> str:
        """A link that works for whoever may see the job (the file is not a public URL)."""
        if not obj.file:
            return f"deleted {settings.IMPORT_KEEP_DAYS} days after the import ended"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:credits_importjob_file", args=[obj.pk]),
            Path(obj.file.name or "").name,
        )

    def get_urls(self) -> list:
        download = self.admin_site.admin_view(self.file_view)
        return [
            path("<path:object_id>/file/", download, name="credits_importjob_file"),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        job = self.get_object(request, unquote(object_id))  # 404 outside the user's scope
        if not self.has_view_permission(request, job) or not job.file:
            raise Http404
        try:
            handle = job.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        return FileResponse(handle, as_attachment=True, filename=Path(job.file.name).name)
