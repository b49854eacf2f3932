"""Shared pieces of the accounts admin: list filters that default to "active", and the
confirmation page of the relationship-ending actions."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import (
    Partner,
)
from accounts.permissions import (
    AnyUser,
    is_partner_admin,
    is_program_admin,
)


def _adopt(obj: Model, saved: Model) -> None:
    """Let the admin carry on (messages, redirects, inlines) with the row a service saved."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj._state.db = saved._state.db


PLURALS = {
    "assignment": lambda n: ngettext("%(count)d assignment", "%(count)d assignments", n),
    "seat": lambda n: ngettext("%(count)d seat", "%(count)d seats", n),
    "employee": lambda n: ngettext("%(count)d employee", "%(count)d employees", n),
    "request": lambda n: ngettext("%(count)d request", "%(count)d requests", n),
}


def _plural(count: int, noun: str) -> str:
    """ "1 seat", "2 seats", in the language of the page."""
    return PLURALS[noun](count) % {"count": count}


def _manages(user: AnyUser) -> bool:
    """Program admins and partner admins: add, deactivate, assign, end."""
    return is_program_admin(user) or is_partner_admin(user)


# --- "active by default" list filters ------------------------------------------------------------


class DefaultYesFilter(admin.SimpleListFilter):
    """A yes/no/all filter whose unset value means "yes": lists default to live rows."""

    yes: Q

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", _("Yes")), ("no", _("No")), ("all", _("All"))]

    def choices(self, changelist: Any):
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
    title = gettext_lazy("active")
    parameter_name = "active"
    yes = Q(is_active=True)


class OpenFilter(DefaultYesFilter):
    title = gettext_lazy("open")
    parameter_name = "open"
    yes = Q(end__isnull=True)


class InProgramFilter(DefaultYesFilter):
    title = gettext_lazy("in program")
    parameter_name = "in_program"
    yes = Q(left_at__isnull=True)


# --- confirmation pages for relationship-ending actions ------------------------------------------


class ConfirmEndForm(forms.Form):
    """Type the identifier to confirm, give a reason; program staff also pick the partner."""

    partner = forms.ModelChoiceField(
        queryset=Partner.objects.filter(left_at__isnull=True), label=gettext_lazy("Partner")
    )
    confirmation = forms.CharField(label=gettext_lazy("Confirmation"))
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(
        self,
        *args: Any,
        expected: str,
        pick_partner: bool,
        partners: QuerySet | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirmation"].help_text = _("Type “%(expected)s” to confirm.") % {
            "expected": expected
        }
        if not pick_partner:
            del self.fields["partner"]
        elif partners is not None:  # only the partners the action can apply to
            field = self.fields["partner"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = partners.filter(left_at__isnull=True)

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"].strip()
        if value != self.expected:
            raise ValidationError(
                _("Type “%(expected)s” exactly to confirm.") % {"expected": self.expected}
            )
        return value


def confirm_end_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    obj: Model,
    *,
    title: str,
    warning: str,
    form: ConfirmEndForm,
) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": title,
        "warning": warning,
        "form": form,
    }
    return TemplateResponse(request, "admin/accounts/confirm_end.html", context)


def redirect_to_one(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, url_name: str
) -> HttpResponseRedirect | None:
    """Relationship-ending actions work on one object at a time, behind a confirmation page."""
    if queryset.count() != 1:
        model_admin.message_user(request, _("Select exactly one row."), messages.WARNING)
        return None
    return HttpResponseRedirect(reverse(url_name, args=[queryset.get().pk]))


# --- confirmation of actions whose side effect ends credit ---------------------------------------


class ConfirmActionForm(forms.Form):
    """Type the hub id(s) the action ends credit in, as on the "Remove all" page."""

    confirmation = forms.CharField()

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirmation"].help_text = _("Type “%(expected)s” to confirm.") % {
            "expected": expected
        }

    def clean_confirmation(self) -> str:
        value = " ".join(self.cleaned_data["confirmation"].replace(",", " ").split())
        if value != " ".join(self.expected.replace(",", " ").split()):
            raise ValidationError(
                _("Type “%(expected)s” exactly to confirm.") % {"expected": self.expected}
            )
        return value


def confirmed_or_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    warning: str,
    consequences: list[str],
    hub_ids: list[str],
) -> TemplateResponse | None:
    """None when the user confirmed (go ahead); else the page that asks, or asks again."""
    expected = ", ".join(sorted(set(hub_ids), key=lambda h: (len(h), h)))
    form = ConfirmActionForm(
        request.POST if "confirmed" in request.POST else None, expected=expected
    )
    if form.is_bound and form.is_valid():
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "warning": warning,
        "consequences": consequences,
        "form": form,
        "action": action,
        "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
    }
    return TemplateResponse(request, "admin/accounts/confirm_action.html", context)
