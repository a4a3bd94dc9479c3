"""The OpenAPI schema says every status code the API can answer, and its body.

drf-spectacular documents only the success response of each operation. A
client (or a schema-driven fuzzer such as schemathesis, tests/live/test_hostile.py)
then meets 400, 401, 404, 429 ... that the contract never mentioned. Every
error of this API is JSON (books/api/errors.py, core/errors.py,
core/limits.py): `{"detail": "..."}`, or for validation errors an object of
field name -> list of messages (`detail` for a body that is not valid JSON).
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERRORS = {
    "type": "object",
    "description": "Field name (or non_field_errors) -> messages; `detail` for a malformed body.",
    "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}

# status -> (description, body schema, response headers)
ERRORS = {
    "400": ("Invalid parameters or body.", VALIDATION_ERRORS, None),
    "401": ("Missing or invalid credentials (an invalid token is refused, even for reads).", DETAIL, None),
    "403": ("Not allowed (e.g. a session without a valid CSRF token).", DETAIL, None),
    "404": ("No such book, or no such page.", DETAIL, None),
    "413": ("Request body larger than the limit.", DETAIL, None),
    "406": ("The Accept header allows no JSON: this API answers in JSON only.", DETAIL, None),
    "415": ("Unsupported Content-Type: request bodies are JSON.", DETAIL, None),
    "429": ("Too many requests: throttled.", DETAIL, RETRY_AFTER),
    "503": ("The database is unavailable; try again later.", DETAIL, None),
}
ALWAYS = ("401", "406", "429", "503")
WRITE = ("400", "403", "413", "415")


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """API tokens as the standard HTTP bearer scheme, which generated clients
    send as `Authorization: Bearer <key>` (books/api/authentication.py)."""

    target_class = "books.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"
    priority = 1  # before drf-spectacular's own scheme for TokenAuthentication subclasses

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API token: `Authorization: Bearer <key>` (`Authorization: Token <key>` works too). "
                "Create one with `python manage.py drf_create_token <user>`. An invalid token is a 401, "
                "even for reads."
            ),
        }


class LibraryAutoSchema(AutoSchema):
    """AutoSchema that adds the error responses each operation can give, and
    marks every field of a response body required: the API always returns
    them all, and generated clients otherwise type them as maybe missing."""

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response":
            schema["required"] = sorted(schema["properties"])
        return schema

    def _error_codes(self) -> set[str]:
        codes = set(ALWAYS)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.update(WRITE)
        elif self.method == "DELETE":
            codes.add("403")
        if self._is_list_view():
            codes.update(("400", "404"))  # bad filter or page size; a page past the end
        elif "{" in self.path:
            codes.add("404")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_codes()):
            description, schema, headers = ERRORS[code]
            response = {"description": description, "content": {"application/json": {"schema": schema}}}
            if headers:
                response["headers"] = headers
            responses.setdefault(code, response)
        return responses
