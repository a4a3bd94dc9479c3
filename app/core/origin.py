"""Absolute links from the service's configured public origin.

DRF builds absolute URLs (pagination's `next`/`previous`, the API root's
links) from the request's Host header. Django checks its host name against
ALLOWED_HOSTS but not its port, so `Host: localhost:1` came back as
`next: http://localhost:1/...`. With API_PUBLIC_ORIGIN set (the origin clients
use, e.g. https://library.example.com) every absolute URL the app builds
starts with it instead (docs/app.md#the-api-contract).
"""

from django.conf import settings


class PublicOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.API_PUBLIC_ORIGIN:
            # HttpRequest.build_absolute_uri prefixes every absolute URL with
            # this cached property (scheme://Host); setting it replaces the
            # request's scheme and Host there, and only there.
            # tests/app/test_contract.py fails if a Django upgrade changes that.
            request._current_scheme_host = settings.API_PUBLIC_ORIGIN
        return self.get_response(request)
