"""Admin changelists that refuse impossible dates instead of failing.

Django's date hierarchy turns a bad `?day__year=` into "bad parameters" for a ValueError but
not for an OverflowError (a year beyond any calendar), and SQLite raises OverflowError for a
filter value beyond 64 bits (`?partner=9223372036854775808`); either would be a server error.
"""

from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest


class BoundedChangeList(ChangeList):
    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_results(self, request: HttpRequest) -> None:
        try:
            super().get_results(request)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class BoundedChangeListMixin:
    """Mix into a ModelAdmin: its changelist answers bad dates with the usual "?e=1"."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BoundedChangeList
