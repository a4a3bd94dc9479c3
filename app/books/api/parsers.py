import io

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(f"Request body too large: the limit is {settings.REQUEST_BODY_MAX_BYTES} bytes.")


class BoundedJSONParser(JSONParser):
    """JSON with a size limit that also holds for bodies without Content-Length."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.REQUEST_BODY_MAX_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestBodyTooLarge()
        return super().parse(io.BytesIO(body), media_type, parser_context)
