"""Request throttling for the API: anonymous clients by address, users by id.

Rates come from the environment (API_THROTTLE_ANON, API_THROTTLE_USER, in
DRF's "N/second|minute|hour|day" form, or "off"). Counters live in the
"throttle" cache, a database table by default, so that every worker and
every replica counts against one budget. A throttled request gets a 429 with
Retry-After.
"""
from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _ConfiguredRate:
    """Read the rate when a request comes, not when the class is imported."""

    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)

    @property
    def cache(self):
        return caches["throttle"]

    def allow_request(self, request, view):
        if self.rate is None:  # throttling of this kind is off
            return True
        return super().allow_request(request, view)


class AnonThrottle(_ConfiguredRate, AnonRateThrottle):
    pass


class UserThrottle(_ConfiguredRate, UserRateThrottle):
    pass
