"""Refuse oversized request bodies before any view reads them."""

from django.conf import settings
from django.http import JsonResponse


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            too_big = int(length) > settings.REQUEST_BODY_MAX_BYTES
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        if too_big:
            return JsonResponse(
                {"detail": f"Request body too large: the limit is {settings.REQUEST_BODY_MAX_BYTES} bytes."},
                status=413,
            )
        return self.get_response(request)
