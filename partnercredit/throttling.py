"""Login throttling behind the trusted proxy (issue 18 finding 7), on top of django-axes.

- `client_ip`: the address of the person, not of our proxy. The README's production shape has
  `TRUSTED_PROXY_COUNT` proxies (TLS terminator, load balancer) in front of gunicorn, each
  appending the address it received from to `X-Forwarded-For`. The client is therefore the
  N-th address from the right; anything to its left was written by the client itself and is
  ignored. With no trusted proxy (the default) it is `REMOTE_ADDR`, and the header is ignored.
- `PairAndAddressHandler`: a username is locked out from one address after
  `AXES_FAILURE_LIMIT` failures (so a stranger cannot lock a colleague out for everyone), and
  one address is locked out after `AXES_IP_FAILURE_LIMIT` failures over any usernames (so
  one machine cannot try passwords for every user). Attempts made during a lockout are not
  recorded (`AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False`): they do not extend it.
"""

from ipaddress import ip_address

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: `TRUSTED_PROXY_COUNT` hops back through `X-Forwarded-For`."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return remote  # not through all our proxies: the header cannot be trusted
    return _valid(hops[-proxies]) or remote


class PairAndAddressHandler(AxesDatabaseHandler):
    """Axes' database handler with the per-address limit beside the per-username one."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        pair = super().get_failures(request, credentials)
        address = getattr(request, "axes_ip_address", None)
        if address is None:
            return pair
        attempts = AccessAttempt.objects.filter(ip_address=address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        by_address = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
        if by_address >= settings.AXES_IP_FAILURE_LIMIT:
            return max(pair, settings.AXES_FAILURE_LIMIT)  # locked: the address's limit
        return pair
