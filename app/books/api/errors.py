"""DRF exception handler: every error is JSON, and nothing a client sends is a 500.

Database errors (OperationalError, InterfaceError) are left to DRF, which
re-raises them; core.unavailable answers them with a 503 for every view.
A request refused for its credentials (401) counts against the client's
throttling budget, since DRF throttles only after it authenticates
(throttling.throttles.throttle_refused_credentials).
"""

from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from throttling.throttles import throttle_refused_credentials


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": str(exc)}, status=413)
    if isinstance(exc, (AuthenticationFailed, NotAuthenticated)):
        exc = throttle_refused_credentials(context["request"], context["view"]) or exc
    response = drf_exception_handler(exc, context)
    if isinstance(exc, ValidationError) and isinstance(response.data, list):
        # A ValidationError raised outside a serializer (a filter, a
        # validator run by hand) carries a bare list; the documented shape
        # of a 400 is an object: field name (or non_field_errors) -> messages.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response
