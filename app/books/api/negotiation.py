"""Content negotiation of the API: JSON, and the browsable API only where enabled.

What the OpenAPI schema does not declare, the API does not do
(docs/app.md#the-api-contract): the HTML browsable API answers only when
API_BROWSABLE is on (default: with DJANGO_DEBUG), so in production a client
that accepts no JSON gets the declared 406; and the `format` query parameter
(`?format=api`, `?format=json`) is an ordinary unknown parameter, ignored.
"""

from django.conf import settings
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.routers import APIRootView


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class ApiContentNegotiation(DefaultContentNegotiation):
    settings = _NoFormatOverride()

    def select_renderer(self, request, renderers, format_suffix=None):
        if not settings.API_BROWSABLE:
            renderers = [renderer for renderer in renderers if not isinstance(renderer, BrowsableAPIRenderer)]
        return super().select_renderer(request, renderers, format_suffix=None)


class ApiRootView(APIRootView):
    content_negotiation_class = ApiContentNegotiation
    http_method_names = ["get", "head"]
