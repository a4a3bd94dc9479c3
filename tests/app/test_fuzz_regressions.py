"""Regressions for what schema-driven fuzzing (tests/live/test_hostile.py,
scripts/fuzz) found against the deployed API.

- Non-ASCII digits: str.isdigit() is true for "²" (which int() refuses: a 500)
  and for other scripts' digits such as "٠" (int() reads them, so an ISBN made
  of them was stored as "978٠٣٠..." - a second copy of a book the uniqueness
  constraint no longer recognised).
- A NUL character in `search` (found by fuzzing, 2026-11-27): DRF's search
  filter answered 400 with a bare list, not the documented object.
- The schema documented only success responses, so every 400/401/404/429 was
  "undocumented"; and it did not say that blank strings, page 0 or a page size
  over the limit are refused.
"""

import json

import pytest

from books.isbn import InvalidISBN, normalize_isbn
from books.models import Book

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # "²": isdigit() but not int()-able
ARABIC_INDIC = "\u0660\u0663\u0660\u0666\u0664\u0660\u0666\u0661\u0665"  # ٠٣٠٦٤٠٦١٥ = 030640615


@pytest.mark.parametrize(
    "raw",
    [
        SUPERSCRIPT_TWO * 10,
        SUPERSCRIPT_TWO * 13,
        ARABIC_INDIC + "2",
        "978" + ARABIC_INDIC + "7",
        "９７８０３０６４０６１５７",
    ],  # fullwidth digits
)
def test_isbn_accepts_ascii_digits_only(raw):
    with pytest.raises(InvalidISBN):
        normalize_isbn(raw)


def test_isbn_ascii_spellings_still_work():
    assert normalize_isbn("0-306-40615-2") == normalize_isbn("9780306406157") == "9780306406157"


@pytest.mark.parametrize("isbn", [SUPERSCRIPT_TWO * 10, ARABIC_INDIC + "2"])
def test_create_with_non_ascii_digit_isbn_is_a_400_and_stores_nothing(writer, isbn):
    response = writer.post("/api/books/", {"title": "T", "author": "A", "isbn": isbn}, format="json")
    assert response.status_code == 400, response.content
    assert "isbn" in response.json()
    assert not Book.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        f"isbn={SUPERSCRIPT_TWO * 10}",
        f"page={SUPERSCRIPT_TWO}",
        f"page_size={SUPERSCRIPT_TWO}",
        "page_size=\u0661\u0660",
    ],  # Arabic-Indic "10"
)
def test_list_with_non_ascii_digits_is_a_400(anonymous, query):
    response = anonymous.get(f"/api/books/?{query}")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_documents_the_error_responses(anonymous):
    paths = _schema(anonymous)["paths"]
    expected = {
        ("/api/books/", "get"): {"200", "400", "401", "404", "429"},
        ("/api/books/", "post"): {"201", "400", "401", "403", "413", "415", "429"},
        ("/api/books/{id}/", "get"): {"200", "401", "404", "429"},
        ("/api/books/{id}/", "put"): {"200", "400", "401", "403", "404", "413", "429"},
        ("/api/books/{id}/", "patch"): {"200", "400", "401", "403", "404", "413", "429"},
        ("/api/books/{id}/", "delete"): {"204", "401", "403", "404", "429"},
    }
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert codes <= set(responses), (path, method, sorted(responses))
        for code in codes - {"200", "201", "204"}:
            assert "application/json" in responses[code]["content"], (path, method, code)
    assert "Retry-After" in paths["/api/books/"]["get"]["responses"]["429"]["headers"]


def test_schema_states_what_requests_are_refused(anonymous):
    schema = _schema(anonymous)
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/books/"]["get"]["parameters"]}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert {"type": "integer", "minimum": 1} in parameters["page"]["anyOf"]
    request_body = schema["components"]["schemas"]["BookRequest"]["properties"]
    for field in ("title", "author", "isbn"):
        assert request_body[field]["minLength"] == 1, field
    assert "id" not in request_body


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=101"])
def test_what_the_schema_refuses_is_refused(anonymous, query):
    assert anonymous.get(f"/api/books/?{query}").status_code == 400


def test_a_nul_in_search_is_a_400_naming_the_parameter(anonymous):
    response = anonymous.get("/api/books/", {"search": "a\x00b"})
    assert response.status_code == 400
    assert response.json() == {"search": ["Null characters are not allowed."]}


def test_a_bare_list_validation_error_gets_the_documented_object_shape():
    from rest_framework.exceptions import ValidationError

    from books.api.errors import exception_handler

    response = exception_handler(ValidationError("Not like this."), {})
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Not like this."]}
