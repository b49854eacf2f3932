"""The credit admin: program rules for staff, recompute runs, and read-only results.

Program admins edit the rules; credit reviewers read them; partners never see them. Activities,
deals and results are read-only, and a partner admin sees only their own partner's rows.
"""

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts.permissions import is_program_admin, is_program_staff, signed_in
from accounts.scoping import PartnerScopedAdmin
from credits import catchup, tasks
from credits.admin_imports import ImportJobAdmin
from credits.models import (
    Activity,
    CreditLine,
    CurrencyUnit,
    DayResult,
    Deal,
    GrowthMarket,
    ImportJob,
    PointsRate,
    ProgramSettings,
    QualifyingAction,
    RecomputeBatch,
    RecomputeRun,
    Standing,
    Tier,
)
from credits.staleness import rule_changed
from partnercredit import days
from partnercredit.adminlists import BoundedChangeListMixin
from partnercredit.days import yesterday

# --- program rules: program admins edit, credit reviewers read, partners see nothing -------------


class ProgramRulesAdmin(BoundedChangeListMixin, SimpleHistoryAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_program_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_program_staff(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_program_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_program_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_program_admin(request.user)

    # Every rule change makes the days it is in force on stale (SPEC §3.11).
    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        was = form.initial.get("valid_from") if change else None
        super().save_model(request, obj, form, change)
        rule_changed(rule=obj, action="changed" if change else "added", was_valid_from=was)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        super().delete_model(request, obj)
        rule_changed(rule=obj, action="deleted")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        rules = list(queryset)
        super().delete_queryset(request, queryset)
        for rule in rules:
            rule_changed(rule=rule, action="deleted")


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(ProgramRulesAdmin):
    list_display = ["__str__", "grace_days", "sold_window_months"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_program_admin(request.user) and not ProgramSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # the single row of program-wide numbers


class QualifyingActionForm(forms.ModelForm):
    """Tools and actions compare case-insensitively (SPEC §2): the catalogue is lower-case."""

    class Meta:
        model = QualifyingAction
        fields = ["tool", "action"]

    def clean_tool(self) -> str:
        return self.cleaned_data["tool"].strip().lower()

    def clean_action(self) -> str:
        return self.cleaned_data["action"].strip().lower()


@admin.register(QualifyingAction)
class QualifyingActionAdmin(ProgramRulesAdmin):
    form = QualifyingActionForm
    list_display = ["tool", "action"]
    list_filter = ["tool", "action"]
    search_fields = ["tool", "action"]


@admin.register(CurrencyUnit)
class CurrencyUnitAdmin(ProgramRulesAdmin):
    list_display = ["currency", "valid_from", "amount"]
    list_filter = ["currency"]
    search_fields = ["currency"]
    date_hierarchy = "valid_from"


@admin.register(PointsRate)
class PointsRateAdmin(ProgramRulesAdmin):
    list_display = ["kind", "valid_from", "points_per_unit"]
    list_filter = ["kind"]


@admin.register(GrowthMarket)
class GrowthMarketAdmin(ProgramRulesAdmin):
    list_display = ["country", "region", "multiplier"]
    list_filter = ["region"]
    search_fields = ["country", "region"]


@admin.register(Tier)
class TierAdmin(ProgramRulesAdmin):
    list_display = [
        "name",
        "label",
        "rank",
        "valid_from",
        "min_total_points",
        "min_sold_points",
        "min_managed_points",
        "min_activities",
        "activity_window_days",
    ]
    list_filter = ["illustrative", "name"]

    @admin.display(description=gettext_lazy("numbers"), ordering="illustrative")
    def label(self, obj: Tier) -> str:
        if obj.illustrative:
            return format_html(
                '<strong title="{}">{}</strong>',
                Tier.illustrative.field.help_text,
                _("Illustrative"),
            )
        return _("Program")


# --- recompute runs ------------------------------------------------------------------------------


class RecomputeForm(forms.Form):
    """A day, or a range of days, that have ended in the program time zone (SPEC §3.11)."""

    first = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    last = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Leave empty to recompute one day."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        latest = yesterday().isoformat()  # only ended days are offered
        for name in ("first", "last"):
            self.fields[name].widget.attrs["max"] = latest

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last") or data.get("first")
        if first and last:
            if last >= days.today():
                raise forms.ValidationError(
                    _(
                        "%(day)s has not ended yet: the latest day that can be computed is %(latest)s."
                    )
                    % {"day": last, "latest": yesterday()}
                )
            if last < first:
                raise forms.ValidationError(
                    _("%(last)s is before %(first)s.") % {"last": last, "first": first}
                )
            data["last"] = last
        return data


class StaffReadOnly:
    """Program staff read these records; nobody adds, changes or deletes them by hand."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_program_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_program_staff(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


# A run is read, never edited: every field shown is read-only.
RUN_FIELDS = (
    "day",
    "status",
    "progress_percent",
    "chunks_done",
    "chunks_total",
    "credit_lines",
    "partners",
    "warning_text",
    "error",
    "requested_by",
    "created_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
)


@admin.register(RecomputeRun)
class RecomputeRunAdmin(StaffReadOnly, BoundedChangeListMixin, admin.ModelAdmin):
    """Runs are written by the engine; program admins may ask for one more."""

    list_display = [
        "day",
        "status",
        "progress_percent",
        "credit_lines",
        "partners",
        "warning_count",
        "requested_by",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status"]
    date_hierarchy = "day"
    list_select_related = ["requested_by"]
    change_form_template = "admin/credits/recomputerun/change_form.html"
    change_list_template = "admin/credits/recomputerun/change_list.html"
    fields = RUN_FIELDS
    readonly_fields = RUN_FIELDS

    @admin.display(description=gettext_lazy("progress"))
    def progress_percent(self, obj: RecomputeRun) -> str:
        return f"{obj.progress} %"

    @admin.display(description=gettext_lazy("warnings"))
    def warning_count(self, obj: RecomputeRun) -> int:
        return len(obj.warnings or [])

    @admin.display(description=gettext_lazy("warnings"))
    def warning_text(self, obj: RecomputeRun) -> str:
        """One readable line per warning, not the stored JSON list."""
        if not obj.warnings:
            return _("None")
        return format_html_join(
            "", '<p class="run-warning">{}</p>', ((w,) for w in obj.warning_texts)
        )

    def has_recompute_permission(self, request: HttpRequest) -> bool:
        return is_program_admin(request.user)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.recompute_view)
        return [
            path("recompute/", view, name="credits_recomputerun_recompute"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        context = {**(extra_context or {}), "may_recompute": self.has_recompute_permission(request)}
        return super().changelist_view(request, context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> Any:
        run = self.get_object(request, object_id)
        live = run is not None and run.status in RecomputeRun.LIVE
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "live": live}
        )

    def recompute_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a day or a range (yesterday by default) and queue it; show its progress."""
        if not self.has_recompute_permission(request):
            raise PermissionDenied
        form = RecomputeForm(request.POST or None, initial={"first": yesterday()})
        if request.method == "POST" and form.is_valid():
            first, last = form.cleaned_data["first"], form.cleaned_data["last"]
            if first == last:
                return self._recompute_one(request, first)
            batch = catchup.range_plan(first=first, last=last, requested_by=signed_in(request.user))
            tasks.batch_enqueue(batch)
            self.message_user(
                request,
                _("Recompute of %(first)s … %(last)s queued.") % {"first": first, "last": last},
            )
            return HttpResponseRedirect(
                reverse("admin:credits_recomputebatch_change", args=[batch.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Recompute days"),
            "form": form,
        }
        return TemplateResponse(request, "admin/credits/recomputerun/recompute.html", context)

    def _recompute_one(self, request: HttpRequest, day: date) -> HttpResponse:
        user = signed_in(request.user)
        try:
            run = tasks.recompute_enqueue(day=day, requested_by=user)
        except Exception:  # the broker is unreachable; the run stays queued
            # The watchdog sends the queued run when the task queue is back.
            run = RecomputeRun.objects.filter(day=day, status__in=RecomputeRun.LIVE).latest("pk")
            self.message_user(
                request,
                _(
                    "The task queue is unreachable: the recompute of %(day)s is queued and "
                    "will start when the queue is back."
                )
                % {"day": day},
                messages.ERROR,
            )
        else:
            self.message_user(request, _("Recompute of %(day)s queued.") % {"day": day})
        return HttpResponseRedirect(reverse("admin:credits_recomputerun_change", args=[run.pk]))


@admin.register(RecomputeBatch)
class RecomputeBatchAdmin(StaffReadOnly, BoundedChangeListMixin, admin.ModelAdmin):
    """Several days in order: the nightly catch-up, or a range asked for by program staff."""

    list_display = ["__str__", "kind", "status", "progress", "note", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    change_form_template = "admin/credits/recomputebatch/change_form.html"
    fields = (
        "kind",
        "status",
        "progress",
        "time_left",
        "note",
        "error",
        "current_run",
        "requested_by",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: RecomputeBatch) -> str:
        run = obj.current_run
        values: dict[str, object] = {"done": obj.done, "total": obj.total, "percent": obj.percent}
        if run is None:
            return _("%(done)s of %(total)s days (%(percent)s %%)") % values
        values |= {"chunks": run.chunks_done, "of": run.chunks_total, "day": run.day}
        return (
            _("%(done)s of %(total)s days, chunks %(chunks)s/%(of)s of %(day)s (%(percent)s %%)")
            % values
        )

    @admin.display(description=gettext_lazy("time left"))
    def time_left(self, obj: RecomputeBatch) -> str:
        seconds = obj.seconds_left
        if seconds is None:
            return "—" if obj.status not in RecomputeBatch.LIVE else _("after the first day")
        return _("about %(minutes)s min") % {"minutes": max(1, round(seconds / 60))}

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.cancel_view)
        return [
            path("<int:pk>/cancel/", view, name="credits_recomputebatch_cancel"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> Any:
        batch = self.get_object(request, object_id)
        live = batch is not None and batch.status in RecomputeBatch.LIVE
        context = {
            **(extra_context or {}),
            "live": live,
            "may_cancel": live and is_program_admin(request.user),
        }
        return super().change_view(request, object_id, form_url, context)

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST" or not is_program_admin(request.user):
            raise PermissionDenied
        batch = RecomputeBatch.objects.filter(pk=pk).first()
        if batch is None:
            raise Http404
        if catchup.batch_cancel(batch=batch):
            self.message_user(request, _("The batch stops after the day it is computing."))
        else:
            self.message_user(request, _("The batch had already ended."), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:credits_recomputebatch_change", args=[pk]))


@admin.register(DayResult)
class DayResultAdmin(StaffReadOnly, BoundedChangeListMixin, admin.ModelAdmin):
    list_display = ["day", "run", "computed_at"]
    list_select_related = ["run"]
    date_hierarchy = "day"


# --- data and results: read-only, scoped by partner ----------------------------------------------


class ReadOnlyScopedAdmin(PartnerScopedAdmin, admin.ModelAdmin):
    """Written by the importer and the engine only."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnlyScopedAdmin):
    list_display = ["at", "partner", "employee", "client", "tool", "action", "ref"]
    list_filter = ["tool", "action", "partner"]
    search_fields = ["employee__email", "client__hub_id", "client__name", "ref"]
    list_select_related = ["partner", "employee", "client"]
    date_hierarchy = "day"


@admin.register(Deal)
class DealAdmin(ReadOnlyScopedAdmin):
    list_display = ["closed_on", "partner", "client", "kind", "currency", "amount", "ref"]
    list_filter = ["kind", "currency", "partner"]
    search_fields = ["client__hub_id", "client__name", "ref"]
    list_select_related = ["partner", "client"]
    date_hierarchy = "closed_on"


@admin.register(CreditLine)
class CreditLineAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "day",
        "partner",
        "client",
        "currency",
        "mrr",
        "partners_sharing",
        "share",
        "points",
        "relationship_started",
        "last_qualifying_activity",
        "credit_until",
    ]
    list_filter = ["currency", "partner"]
    search_fields = ["client__hub_id", "client__name"]
    list_select_related = ["partner", "client"]
    date_hierarchy = "day"


@admin.register(Standing)
class StandingAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "day",
        "partner",
        "managed_points",
        "sold_points",
        "total_points",
        "managed_clients",
        "qualifying_activities",
        "tier",
        "missing_rate",
    ]
    list_filter = ["tier", "missing_rate", "partner"]
    search_fields = ["partner__key", "partner__name"]
    list_select_related = ["partner"]
    date_hierarchy = "day"


# The upload of events files has its own module; it is registered here like the rest.
admin.site.register(ImportJob, ImportJobAdmin)
