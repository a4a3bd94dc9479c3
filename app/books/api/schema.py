"""The OpenAPI schema says every status code the API can answer, and its body.

drf-spectacular documents only the success response of each operation. A
client (or a schema-driven fuzzer such as schemathesis, tests/live/test_hostile.py)
then meets 400, 401, 404, 429 ... that the contract never mentioned. Every
error of this API is JSON (books/api/errors.py, core/errors.py,
core/limits.py): `{"detail": "..."}`, or for validation errors an object of
field name -> list of messages (`detail` for a body that is not valid JSON).
"""

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
    "415": ("Unsupported Content-Type.", DETAIL, None),
    "429": ("Too many requests: throttled.", DETAIL, RETRY_AFTER),
    "503": ("The database is unavailable; try again later.", DETAIL, None),
}
ALWAYS = ("401", "429", "503")
WRITE = ("400", "403", "413", "415")


class LibraryAutoSchema(AutoSchema):
    """AutoSchema that adds the error responses each operation can give."""

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
