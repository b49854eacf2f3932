"""The language a signed-in person chose in their settings wins over the browser's.

The choice is copied into the session when they sign in (and when they change it), so that
activating it costs no query: the session is read for authentication anyway.
"""

from collections.abc import Callable

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from notifications.models import NotificationPreference

SESSION_KEY = "notifications_language"


def remember_language(*, request: HttpRequest, language: str) -> None:
    """Keep a person's chosen language ('' = the browser's) in their session."""
    if language:
        request.session[SESSION_KEY] = language
    else:
        request.session.pop(SESSION_KEY, None)


def on_login(sender: type, request: HttpRequest | None, user: User, **kwargs) -> None:
    """`user_logged_in` receiver: the saved choice, into the new session."""
    if request is None or not hasattr(request, "session"):
        return
    language = (
        NotificationPreference.objects.filter(user=user).values_list("language", flat=True).first()
    )
    remember_language(request=request, language=language or "")


def preferred_language(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """After LocaleMiddleware (browser, cookie) and authentication: the saved choice, if any."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = request.session.get(SESSION_KEY) if user and user.is_authenticated else None
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return get_response(request)

    return middleware
