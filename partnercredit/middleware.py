"""Query strings that no database can be asked about.

PostgreSQL refuses a NUL character in any text, so `?country=%00` on a changelist or
`?term=%00` on the admin autocomplete would reach the database and fail as a server error.
No parameter of the app takes a NUL, so such a request is answered 400 before any view runs.
(Form fields already refuse NULs: Django's CharField validates against them. A NUL in a
path matches no URL pattern: 404.)
"""

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
