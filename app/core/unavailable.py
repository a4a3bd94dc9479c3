"""A database that does not answer is a 503 with Retry-After, never a 500.

A temporary condition, not a bug: clients should retry, and nothing about the
failure leaks out. One middleware covers every view, DRF's included:
docs/app.md#a-database-that-does-not-answer.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from .errors import wants_json

logger = logging.getLogger(__name__)

#: Seconds a client should wait before retrying: about a database restart.
RETRY_AFTER_SECONDS = 5
DETAIL = "Service temporarily unavailable: the database does not answer."
HTML_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    "<title>Service temporarily unavailable</title></head>\n"
    "<body><h1>Service temporarily unavailable</h1>\n"
    "<p>The database does not answer. Please try again in a moment.</p></body></html>\n"
)


def database_unavailable_response(request) -> HttpResponse:
    """503 for `request`: JSON under /api/, a short HTML page elsewhere."""
    if wants_json(request):
        response = JsonResponse({"detail": DETAIL}, status=503)
    else:
        response = HttpResponse(HTML_PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        # One line, no traceback: the cause is outside this process.
        first_line = (str(exception).strip().splitlines() or [""])[0][:200]
        logger.warning(
            "database unavailable: answered 503",
            extra={
                "path": request.path,
                "method": request.method,
                "error": type(exception).__name__,
                "reason": first_line,
            },
        )
        return database_unavailable_response(request)
