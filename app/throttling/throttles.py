"""API throttling: anonymous clients by address, users by id, counted in PostgreSQL
with one atomic upsert per request on a fixed window per client, so every
worker of every replica counts against one budget (docs/app.md, "Throttling").
"""

import math
import time

from django.conf import settings
from django.db import connection
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from .models import ThrottleWindow
from .rates import parse_rate

_table = ThrottleWindow._meta.db_table
UPSERT = (
    f'INSERT INTO "{_table}" (key, window_start, hits) VALUES (%s, %s, 1) '
    f'ON CONFLICT (key, window_start) DO UPDATE SET hits = "{_table}".hits + 1 RETURNING hits'
)
FORGET_OLDER_WINDOWS = f'DELETE FROM "{_table}" WHERE key = %s AND window_start < %s'


class WindowThrottle(BaseThrottle):
    scope: str

    def client_key(self, request):
        """The client this throttle counts, or None when it does not apply."""
        raise NotImplementedError

    def allow_request(self, request, view):
        rate = settings.API_THROTTLE_RATES.get(self.scope)
        key = self.client_key(request) if rate else None
        if key is None:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window_start = int(now // period) * period
        with connection.cursor() as cursor:
            cursor.execute(UPSERT, [key, window_start])
            (hits,) = cursor.fetchone()
            if hits == 1:
                cursor.execute(FORGET_OLDER_WINDOWS, [key, window_start])
        self.retry_after = window_start + period - now
        return hits <= limit

    def wait(self):
        return math.ceil(self.retry_after)


class AnonThrottle(WindowThrottle):
    scope = "anon"

    def client_key(self, request):
        if request.user and request.user.is_authenticated:
            return None
        return f"anon:{self.get_ident(request)}"


def throttle_refused_credentials(request, view) -> Throttled | None:
    """Count a request refused for its credentials against the client's address.

    DRF authenticates (and checks permissions) before it throttles, so a
    request with an invalid token, or an anonymous write, is answered 401 and
    never counted: a client could try tokens without limit while its reads
    get 429. books/api/errors.py calls this for those refusals, whatever the
    authentication scheme, and answers 429 once the address is over the
    anonymous budget (docs/app.md, "Throttling").
    """
    throttle = AnonThrottle()
    if throttle.allow_request(request, view):
        return None
    return Throttled(throttle.wait())


class UserThrottle(WindowThrottle):
    scope = "user"

    def client_key(self, request):
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None
