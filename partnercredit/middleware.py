"""Request and logging guards: NUL parameters refused, private pages never cached, 403s quiet.

PostgreSQL refuses a NUL character in any text, so `?country=%00` on a changelist or
`?term=%00` on the admin autocomplete would reach the database and fail as a server error.
No parameter of the app takes a NUL, so such a request is answered 400 before any view runs.
(Form fields already refuse NULs: Django's CharField validates against them. A NUL in a
path matches no URL pattern: 404.)
"""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


def refuse_nul_parameters(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    def middleware(request: HttpRequest) -> HttpResponse:
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest("A parameter contains a NUL character.")
        return get_response(request)

    return middleware


# --- private pages are never stored by browsers or proxies ---------------------------------------

PRIVATE_PREFIXES = ("/reports/", "/admin/", "/notifications/")


def no_store_for_private_pages(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """`Cache-Control: no-store` on the reports, their exports, the admin and any download.

    They show one partner's figures to one person: no shared cache or back-button copy may
    keep them after logout.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.path.startswith(PRIVATE_PREFIXES) or response.has_header("Content-Disposition"):
            response["Cache-Control"] = "no-store, private"
            response["Pragma"] = "no-cache"
        return response

    return middleware


# --- a refused request is not an error ------------------------------------------------------------


class ForbiddenWithoutTraceback(logging.Filter):
    """Log a 403 (PermissionDenied, CSRF failure) as one warning line, without a traceback.

    A refusal is the app working as intended; the traceback of every refused probe only buries
    the real errors. Other records pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
