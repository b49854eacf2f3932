"""Request types for the type checker."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class SignedInRequest(HttpRequest):
    """The request of a view behind `login_required` (or the admin's own login): its user is a
    signed-in `User`, never the anonymous one. Annotation only: Django builds plain requests."""

    user: User
