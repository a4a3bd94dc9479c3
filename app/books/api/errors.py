"""DRF exception handler: every error is JSON, and nothing a client sends is a 500.

Database errors (OperationalError, InterfaceError) are left to DRF, which
re-raises them; config.unavailable answers them with a 503 for every view.
"""
from django.core.exceptions import RequestDataTooBig
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.response import Response


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": str(exc)}, status=413)
    return drf_exception_handler(exc, context)
