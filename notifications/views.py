"""The notification settings page: each person switches kinds off and picks a language."""

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.forms import PreferenceForm
from notifications.services import available_kinds, preference_for, preference_update


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    kinds = available_kinds(user=request.user)
    preference = preference_for(user=request.user)
    form = PreferenceForm(request.POST or None, kinds=kinds, preference=preference)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        preference_update(
            user=request.user,
            language=language,
            **{kind: form.cleaned_data[kind] for kind in kinds},
        )
        if language:
            translation.activate(language)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:preferences")
    context = {
        **admin.site.each_context(request),
        "title": _("Notification settings"),
        "form": form,
        "has_kinds": bool(kinds),
    }
    return render(request, "notifications/preferences.html", context)
