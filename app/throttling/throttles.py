"""API throttling: anonymous clients by address, users by id, counted in PostgreSQL.

Rates come from the environment (API_THROTTLE_ANON, API_THROTTLE_USER, in
DRF's "N/second|minute|hour|day" form, or "off"). A throttled request gets a
429 with Retry-After.

Why not DRF's cache-based throttles: every worker of every replica must count
against one budget, and the only store they share is the database. DRF keeps
a list of timestamps per client and rewrites it (read, modify, write: lost
updates under concurrency), and Django's database cache counts its whole
table on every write. Here each request is one statement, an atomic upsert
on a fixed window per client:

    INSERT ... ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits

Fixed windows allow up to twice the rate across a window boundary; that is
the usual trade for one exact, race-free statement per request. When a
client opens a new window, its older windows are deleted, so the table holds
about one row per active client.
"""
import math
import time

from django.conf import settings
from django.db import connection
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


class UserThrottle(WindowThrottle):
    scope = "user"

    def client_key(self, request):
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None
