"""Liveness and readiness probes.

They sit first in the middleware stack: a container's healthcheck calls them
as http://127.0.0.1:8000/..., which is not an allowed host, and liveness must
not depend on the database, sessions or authentication.
"""

import logging

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def database_is_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except DatabaseError as error:
        logger.warning("readiness check failed: database unavailable", extra={"error": type(error).__name__})
        # A broken connection must not be reused by the next request.
        connection.close_if_unusable_or_obsolete()
        return False


class HealthProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            if database_is_ready():
                return JsonResponse({"status": "ready", "database": "ok"})
            return JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
        return self.get_response(request)
