"""Admin changelists that refuse impossible dates instead of failing.

Django's date hierarchy turns a bad `?day__year=` into "bad parameters" for a ValueError but
not for an OverflowError (a year beyond any calendar), which would be a server error.
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


class BoundedChangeListMixin:
    """Mix into a ModelAdmin: its changelist answers bad dates with the usual "?e=1"."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BoundedChangeList
