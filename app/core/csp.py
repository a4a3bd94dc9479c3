"""Content-Security-Policy: the pages load only their own scripts and styles.

Every page (website, admin, API docs, browsable API) serves its scripts and
styles as files from the app itself (the docs' assets come from
drf-spectacular-sidecar), so the policy needs no 'unsafe-inline' and no other
origin: an injected inline or external script is refused by the browser. Set
by the app, which knows its pages; nginx adds a `default-src 'none'` policy to
answers without one (its own errors, /healthz). docs/app.md, "Security
headers", tells the story.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

HEADER = "Content-Security-Policy"

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

#: DRF's browsable API has inline styles in its templates: its styles may be
#: inline, its scripts stay as strict as everywhere else.
INLINE_STYLES_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
#: Redoc styles itself by injecting <style> elements (styled-components) and
#: searches in a blob: worker.
REDOC_POLICY = INLINE_STYLES_POLICY + "; worker-src 'self' blob:"


class ContentSecurityPolicyMiddleware:
    """Adds POLICY to every response that does not carry a policy of its own
    (INLINE_STYLES_POLICY to the browsable API's pages)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            renderer = getattr(response, "accepted_renderer", None)
            browsable = getattr(renderer, "format", None) == "api"
            response[HEADER] = INLINE_STYLES_POLICY if browsable else POLICY
        return response


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its start script served as a file (`?script`), not inline."""

    template_name = "core/swagger_ui.html"


class RedocView(SpectacularRedocView):
    """Redoc without the inline style and the external fonts of drf-spectacular's page."""

    template_name = "core/redoc.html"

    @extend_schema(exclude=True)  # a page about the API, not an operation of it (as drf-spectacular's own)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response[HEADER] = REDOC_POLICY
        return response
