"""The notification settings page: each person switches kinds off and picks a language."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.permissions import signed_in
from notifications.forms import PreferenceForm
from notifications.middleware import remember_language
from notifications.services import available_kinds, preference_for, preference_update


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user = signed_in(request.user)  # login_required
    kinds = available_kinds(user=user)
    preference = preference_for(user=user)
    form = PreferenceForm(request.POST or None, kinds=kinds, preference=preference)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        preference_update(
            user=user,
            language=language,
            **{kind: form.cleaned_data[kind] for kind in kinds},
        )
        remember_language(request=request, language=language)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:preferences")
    context = {
        **admin.site.each_context(request),
        "title": _("Notification settings"),
        "form": form,
        "has_kinds": bool(kinds),
    }
    return render(request, "notifications/preferences.html", context)


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's `set_language` (cookie, redirect to `next`); a signed-in person's choice is
    also saved in their settings, so it follows them to other browsers."""
    language = request.POST.get("language", "")
    user = request.user
    if isinstance(user, User) and language in dict(settings.LANGUAGES):
        preference_update(user=user, language=language)
        remember_language(request=request, language=language)
    return set_language(request)
