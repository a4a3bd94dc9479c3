"""Error pages: JSON under /api/, Django's HTML pages elsewhere.

DRF answers errors raised inside its views itself; these handlers cover what
happens outside them (an unknown /api/ path, a disallowed host, a crash), so
an API client never has to parse an HTML error page.
"""

from django.http import JsonResponse
from django.views import defaults


def wants_json(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if wants_json(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if wants_json(request):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if wants_json(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
