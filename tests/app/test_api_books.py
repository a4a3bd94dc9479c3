"""The books API: every endpoint and method, permissions, validation, listing."""

import json

import pytest

from books.models import Book

pytestmark = pytest.mark.django_db

CLEAN_CODE = {
    "title": "Clean Code",
    "subtitle": "A Handbook of Agile Software Craftsmanship",
    "author": "Robert C. Martin",
    "isbn": "978-0-13-235088-4",
}


def make_book(**fields):
    values = {"title": "A Book", "subtitle": "", "author": "Someone", "isbn": "9780306406157", **fields}
    return Book.objects.create(**values)


# --- API root and schema -----------------------------------------------------


def test_api_root_lists_books_endpoint(anonymous):
    response = anonymous.get("/api/")
    assert response.status_code == 200
    assert response.json()["books"].endswith("/api/books/")


def test_openapi_schema_describes_books(anonymous):
    response = anonymous.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/books/" in schema["paths"] and "/api/books/{id}/" in schema["paths"]
    assert set(schema["paths"]["/api/books/{id}/"]) >= {"get", "put", "patch", "delete"}


def test_docs_are_served_with_local_assets(anonymous, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "https://" not in html  # no internet needed
    asset = next(part.split('"')[0] for part in html.split('src="')[1:] if "swagger-ui" in part)
    assert client.get(asset).status_code == 200


# --- read: anyone -------------------------------------------------------------


def test_list_is_paginated_and_includes_ids(anonymous):
    book = make_book()
    response = anonymous.get("/api/books/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    assert body["results"] == [
        {"id": book.id, "title": "A Book", "subtitle": "", "author": "Someone", "isbn": "9780306406157"}
    ]


def test_retrieve(anonymous):
    book = make_book(title="Dune")
    response = anonymous.get(f"/api/books/{book.id}/")
    assert response.status_code == 200
    assert response.json()["title"] == "Dune"


@pytest.mark.parametrize(
    "path, detail",
    [
        ("/api/books/999999/", "No Book matches the given query."),
        ("/api/books/99999999999999999999999/", "No Book matches the given query."),
        ("/api/books/abc/", "Not found."),
    ],
)
def test_unknown_ids_are_json_404(anonymous, path, detail):
    response = anonymous.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}


def test_unknown_api_path_is_json_404(anonymous):
    response = anonymous.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


# --- write: authenticated only -----------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_anonymous_writes_are_refused(anonymous, method):
    book = make_book()
    path = "/api/books/" if method == "post" else f"/api/books/{book.id}/"
    response = getattr(anonymous, method)(path, CLEAN_CODE, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert Book.objects.count() == 1 and Book.objects.get().title == "A Book"


def test_bad_token_is_refused(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anonymous.post("/api/books/", CLEAN_CODE, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_create_normalizes_isbn(writer):
    response = writer.post("/api/books/", CLEAN_CODE, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["isbn"] == "9780132350884" and isinstance(body["id"], int)
    assert Book.objects.get(id=body["id"]).isbn == "9780132350884"


def test_create_from_isbn10_stores_isbn13(writer):
    response = writer.post("/api/books/", {**CLEAN_CODE, "isbn": "0-13-235088-2"}, format="json")
    assert response.status_code == 201
    assert response.json()["isbn"] == "9780132350884"


def test_subtitle_is_optional(writer):
    payload = {key: value for key, value in CLEAN_CODE.items() if key != "subtitle"}
    response = writer.post("/api/books/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["subtitle"] == ""


def test_update(writer):
    book = make_book()
    response = writer.put(f"/api/books/{book.id}/", CLEAN_CODE, format="json")
    assert response.status_code == 200
    book.refresh_from_db()
    assert (book.title, book.isbn) == ("Clean Code", "9780132350884")


def test_a_full_update_without_subtitle_empties_it_and_a_partial_one_keeps_it(writer):
    book = make_book()
    book.subtitle = "Kept by PATCH"
    book.save()
    response = writer.patch(f"/api/books/{book.id}/", {"title": "Only the title"}, format="json")
    assert response.status_code == 200 and response.json()["subtitle"] == "Kept by PATCH"
    payload = {key: value for key, value in CLEAN_CODE.items() if key != "subtitle"}
    response = writer.put(f"/api/books/{book.id}/", payload, format="json")
    assert response.status_code == 200 and response.json()["subtitle"] == ""


def test_update_keeping_own_isbn_is_not_a_duplicate(writer):
    book = make_book()
    response = writer.put(f"/api/books/{book.id}/", {**CLEAN_CODE, "isbn": "0-306-40615-2"}, format="json")
    assert response.status_code == 200


def test_partial_update(writer):
    book = make_book()
    response = writer.patch(f"/api/books/{book.id}/", {"subtitle": "Second edition"}, format="json")
    assert response.status_code == 200
    book.refresh_from_db()
    assert (book.title, book.subtitle) == ("A Book", "Second edition")


def test_delete(writer):
    book = make_book()
    assert writer.delete(f"/api/books/{book.id}/").status_code == 204
    assert not Book.objects.exists()
    assert writer.delete(f"/api/books/{book.id}/").status_code == 404


def test_session_authentication_works_for_the_browsable_api(client, user):
    client.force_login(user)
    response = client.post("/api/books/", data=json.dumps(CLEAN_CODE), content_type="application/json")
    # Session auth enforces CSRF; the Django test client skips the check by default.
    assert response.status_code == 201


def test_browsable_api_renders(client, settings):
    settings.API_BROWSABLE = True  # off in production (tests/app/test_contract.py)
    make_book()
    response = client.get("/api/books/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"A Book" in response.content


# --- validation: 400 with field errors ------------------------------------------


@pytest.mark.parametrize(
    "isbn, message",
    [
        ("978-0-13-235088-5", "ISBN-13 check digit is wrong."),
        ("0-13-235088-3", "ISBN-10 check digit is wrong."),
        ("12345", "ISBN must have 10 or 13 digits (hyphens and spaces are ignored)."),
        ("", "This field may not be blank."),
        (9780132350884, "Not a valid string."),
    ],
)
def test_bad_isbn_is_a_field_error(writer, isbn, message):
    response = writer.post("/api/books/", {**CLEAN_CODE, "isbn": isbn}, format="json")
    assert response.status_code == 400
    assert response.json() == {"isbn": [message]}
    assert not Book.objects.exists()


@pytest.mark.parametrize("spelling", ["9780132350884", "0132350882", "0-13-235088-2", "978 0 13 235088 4"])
def test_duplicate_isbn_in_any_spelling_is_a_field_error(writer, spelling):
    make_book(isbn="9780132350884")
    response = writer.post("/api/books/", {**CLEAN_CODE, "isbn": spelling}, format="json")
    assert response.status_code == 400
    assert response.json() == {"isbn": ["A book with this ISBN already exists."]}
    assert Book.objects.count() == 1


def test_update_to_another_books_isbn_is_a_field_error(writer):
    make_book(isbn="9780132350884")
    other = make_book(isbn="9780306406157")
    response = writer.patch(f"/api/books/{other.id}/", {"isbn": "0-13-235088-2"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"isbn": ["A book with this ISBN already exists."]}


def test_missing_fields(writer):
    response = writer.post("/api/books/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["This field is required."] for field in ("title", "author", "isbn")}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("title", "x" * 251, "Ensure this field has no more than 250 characters."),
        ("subtitle", "x" * 251, "Ensure this field has no more than 250 characters."),
        ("author", "x" * 101, "Ensure this field has no more than 100 characters."),
        ("title", 42, "Not a valid string."),
        ("title", ["a list"], "Not a valid string."),
        ("author", {"an": "object"}, "Not a valid string."),
        ("title", None, "This field may not be null."),
        ("title", True, "Not a valid string."),
        ("title", "", "This field may not be blank."),
    ],
)
def test_bad_field_values(writer, field, value, message):
    response = writer.post("/api/books/", {**CLEAN_CODE, field: value}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_malformed_json(writer):
    response = writer.post("/api/books/", data='{"title": "oops"', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.parametrize("payload", ["[1, 2]", '"a string"', "42", "null"])
def test_json_that_is_not_an_object(writer, payload):
    response = writer.post("/api/books/", data=payload, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert "non_field_errors" in body or "detail" in body


def test_unsupported_media_type(writer):
    response = writer.post("/api/books/", data="title=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_method_not_allowed_is_json(writer):
    response = writer.put("/api/books/", CLEAN_CODE, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}


def test_oversized_body_with_content_length(writer, settings):
    body = json.dumps({**CLEAN_CODE, "title": "x" * (settings.REQUEST_BODY_MAX_BYTES + 10)})
    response = writer.post("/api/books/", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert not Book.objects.exists()


def test_parser_enforces_the_limit_on_the_stream_itself(settings):
    """Defence in depth: a body that arrives without a trustworthy length is cut at the limit too."""
    from io import BytesIO

    from books.api.parsers import BoundedJSONParser, RequestBodyTooLarge

    big = json.dumps({"title": "x" * settings.REQUEST_BODY_MAX_BYTES}).encode()
    with pytest.raises(RequestBodyTooLarge):
        BoundedJSONParser().parse(BytesIO(big))
    assert BoundedJSONParser().parse(BytesIO(b'{"title": "ok"}')) == {"title": "ok"}


# --- listing: pagination, filters, search, ordering ------------------------------


@pytest.fixture
def shelf(db):
    books = [
        make_book(title="Dune", subtitle="", author="Frank Herbert", isbn="9780441172719"),
        make_book(title="Children of Dune", subtitle="Dune Chronicles 3", author="Frank Herbert", isbn="9780593098233"),
        make_book(title="Neuromancer", subtitle="", author="William Gibson", isbn="9780441569595"),
        make_book(
            title="The Left Hand of Darkness",
            subtitle="Hainish Cycle",
            author="Ursula K. Le Guin",
            isbn="9780441478125",
        ),
    ]
    return books


def titles(response):
    assert response.status_code == 200, response.content
    return [book["title"] for book in response.json()["results"]]


def test_page_size_and_pages(anonymous, shelf):
    first = anonymous.get("/api/books/?page_size=3").json()
    assert first["count"] == 4 and len(first["results"]) == 3 and first["next"].endswith("page=2&page_size=3")
    second = anonymous.get("/api/books/?page_size=3&page=2").json()
    assert [book["title"] for book in second["results"]] == ["The Left Hand of Darkness"]
    assert anonymous.get("/api/books/?page=last&page_size=3").json()["results"] == second["results"]


def test_page_one_is_the_first_page(anonymous, shelf):
    unnumbered = anonymous.get("/api/books/?page_size=3")
    first = anonymous.get("/api/books/?page_size=3&page=1")
    assert first.status_code == 200, first.content
    assert first.json()["results"] == unnumbered.json()["results"] and first.json()["previous"] is None


def test_default_and_maximum_page_size(anonymous, settings):
    from books.management.commands.load_sample_books import sample_isbn

    Book.objects.bulk_create(Book(title=f"Book {n}", author="Bulk", isbn=sample_isbn(n)) for n in range(130))
    assert len(anonymous.get("/api/books/").json()["results"]) == 20
    assert len(anonymous.get(f"/api/books/?page_size={settings.API_MAX_PAGE_SIZE}").json()["results"]) == 100


@pytest.mark.parametrize(
    "query, key, message",
    [
        ("page_size=0", "page_size", "Must be an integer from 1 to 100."),
        ("page_size=101", "page_size", "Must be an integer from 1 to 100."),
        ("page_size=abc", "page_size", "Must be an integer from 1 to 100."),
        ("page_size=-5", "page_size", "Must be an integer from 1 to 100."),
        ("page=0", "page", "Must be a positive integer or 'last'."),
        ("page=abc", "page", "Must be a positive integer or 'last'."),
        ("page=-1", "page", "Must be a positive integer or 'last'."),
        ("ordering=price", "ordering", None),
        ("ordering=title,,author", "ordering", None),
        ("ordering=", "ordering", None),
        ("ordering=&ordering=title", "ordering", None),
        ("ordering=-subtitle", "ordering", None),
        ("isbn=123", "isbn", "ISBN must have 10 or 13 digits (hyphens and spaces are ignored)."),
    ],
)
def test_bad_query_parameters_are_400(anonymous, shelf, query, key, message):
    response = anonymous.get(f"/api/books/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [key]
    if message:
        assert body[key] == [message]
    else:
        assert body[key][0].startswith("Unknown ordering field(s)")


def test_page_past_the_end_is_404(anonymous, shelf):
    response = anonymous.get("/api/books/?page=99")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_filter_by_author(anonymous, shelf):
    assert titles(anonymous.get("/api/books/", {"author": "Frank Herbert"})) == ["Dune", "Children of Dune"]
    assert titles(anonymous.get("/api/books/", {"author": "Nobody"})) == []


def test_filter_by_isbn_in_any_spelling(anonymous, shelf):
    assert titles(anonymous.get("/api/books/", {"isbn": "0-441-17271-7"})) == ["Dune"]
    assert titles(anonymous.get("/api/books/", {"isbn": "9780441569595"})) == ["Neuromancer"]


def test_search_over_title_subtitle_and_author(anonymous, shelf):
    assert titles(anonymous.get("/api/books/", {"search": "dune"})) == ["Dune", "Children of Dune"]
    assert titles(anonymous.get("/api/books/", {"search": "hainish"})) == ["The Left Hand of Darkness"]
    assert titles(anonymous.get("/api/books/", {"search": "gibson"})) == ["Neuromancer"]
    assert titles(anonymous.get("/api/books/", {"search": "frank chronicles"})) == ["Children of Dune"]


def test_ordering(anonymous, shelf):
    assert titles(anonymous.get("/api/books/", {"ordering": "title"})) == [
        "Children of Dune",
        "Dune",
        "Neuromancer",
        "The Left Hand of Darkness",
    ]
    assert titles(anonymous.get("/api/books/", {"ordering": "-author,title"})) == [
        "Neuromancer",
        "The Left Hand of Darkness",
        "Children of Dune",
        "Dune",
    ]
    assert titles(anonymous.get("/api/books/", {"ordering": "-id"}))[0] == "The Left Hand of Darkness"


def test_filters_search_ordering_and_pagination_combine(anonymous, shelf):
    response = anonymous.get(
        "/api/books/", {"author": "Frank Herbert", "search": "dune", "ordering": "-title", "page_size": 1}
    )
    assert titles(response) == ["Dune"]
    assert response.json()["count"] == 2


def test_the_schema_says_which_pages_and_page_sizes_are_accepted(anonymous, settings):
    """Clients (and tests/live/test_hostile.py's fuzzer) learn the validation from the schema."""
    schema = anonymous.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p.get("schema") for p in schema["paths"]["/api/books/"]["get"]["parameters"]}
    assert parameters["page"] == {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["last"]}]}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE}
