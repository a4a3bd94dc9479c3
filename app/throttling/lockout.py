"""Locking an account out after repeated failed logins (django-axes, configured
in config/settings.py).

Each wrong admin password costs about a second of password hashing, so an
attacker guessing one account's password also slows every other request.
After `ADMIN_LOGIN_FAILURE_LIMIT` failures for one username, axes refuses
that username's logins before any hashing, for `ADMIN_LOGIN_LOCKOUT_SECONDS`
from the last counted failure (docs/app.md, "Failed logins"). These are the
two hooks axes calls: where the client is, and what a locked-out client gets.
"""

import logging
import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str | None:
    """The address the API's throttles count (the proxy's X-Forwarded-For entry), for axes' records."""
    return BaseThrottle().get_ident(request)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 with Retry-After and one plain sentence, instead of the login form again."""
    seconds = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds())
    # One line per refused attempt (axes' own verbose logging is off: config/settings.py).
    log.warning("admin login refused: account locked out", extra={"client": client_address(request)})
    minutes = math.ceil(seconds / 60)
    response = HttpResponse(
        f"Too many failed logins for this account: it is locked for {minutes} minute{'s' * (minutes != 1)}. "
        "Try again later.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response
