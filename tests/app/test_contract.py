"""The OpenAPI contract as generated clients read it, and the API keeping it.

Each test checks what the schema says against what the service does, as a
client generated from /api/schema/ would meet it (docs/app.md#the-api-contract).
"""

import json

import pytest

from books.models import Book

pytestmark = pytest.mark.django_db

NEW_BOOK = {"title": "Dune", "subtitle": "Book One", "author": "Frank Herbert", "isbn": "9780441172719"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def schema(anonymous):
    response = anonymous.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def component(schema, ref):
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def book(**fields):
    return Book.objects.create(**{**NEW_BOOK, **fields})


# --- 1. request defaults -------------------------------------------------------


def test_a_generated_clients_title_only_patch_keeps_the_subtitle(schema, writer):
    """openapi-python-client and others fill in every `default` the request
    component declares; the server does not apply defaults to a PATCH."""
    operation = schema["paths"]["/api/books/{id}/"]["patch"]
    request = component(schema, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    defaults = {name: prop["default"] for name, prop in request["properties"].items() if "default" in prop}
    stored = book()
    response = writer.patch(f"/api/books/{stored.id}/", {**defaults, "title": "Dune Messiah"}, format="json")
    assert response.status_code == 200, response.content
    stored.refresh_from_db()
    assert (stored.title, stored.subtitle) == ("Dune Messiah", "Book One")


def test_no_request_component_advertises_a_default(schema):
    for name, definition in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            assert not [p for p, prop in definition["properties"].items() if "default" in prop], name


def test_a_create_without_subtitle_still_stores_an_empty_one(writer):
    response = writer.post("/api/books/", {k: v for k, v in NEW_BOOK.items() if k != "subtitle"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["subtitle"] == "" and Book.objects.get().subtitle == ""


# --- 2. JSON bodies only ---------------------------------------------------------


def test_write_bodies_are_declared_as_json_only(schema):
    bodies = [(path, method, op["requestBody"]) for path, method, op in operations(schema) if "requestBody" in op]
    assert len(bodies) == 3  # POST, PUT, PATCH
    for path, method, body in bodies:
        assert set(body["content"]) == {"application/json"}, (path, method)


@pytest.mark.parametrize("encode", ["form", "multipart"])
def test_form_and_multipart_bodies_are_refused_with_415(writer, encode):
    from urllib.parse import urlencode

    from django.test.client import encode_multipart

    if encode == "form":
        data, content_type = urlencode(NEW_BOOK), "application/x-www-form-urlencoded"
    else:
        data, content_type = encode_multipart("BoUnDaRy", NEW_BOOK), "multipart/form-data; boundary=BoUnDaRy"
    response = writer.generic("POST", "/api/books/", data, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["detail"].startswith("Unsupported media type")
    assert not Book.objects.exists()


# --- 3. responses, parameters, metadata --------------------------------------------


def test_every_field_the_server_returns_is_required_in_responses(schema, anonymous):
    book_schema = schema["components"]["schemas"]["Book"]
    page_schema = schema["components"]["schemas"]["PaginatedBookList"]
    assert sorted(book_schema["required"]) == sorted(book_schema["properties"])
    assert sorted(page_schema["required"]) == sorted(page_schema["properties"])
    book()
    page = anonymous.get("/api/books/").json()
    assert set(page) == set(page_schema["required"]) and page["next"] is None and page["previous"] is None
    assert set(page["results"][0]) == set(book_schema["required"])


def test_ordering_declares_its_values_and_the_server_takes_exactly_those(schema, anonymous):
    book(title="B", author="Y", isbn="9780441172719")
    book(title="A", author="Y", isbn="9780441569595")
    book(title="C", author="X", isbn="9780593098233")
    (parameter,) = [p for p in schema["paths"]["/api/books/"]["get"]["parameters"] if p["name"] == "ordering"]
    assert (parameter["style"], parameter["explode"], parameter["schema"]["type"]) == ("form", False, "array")
    values = parameter["schema"]["items"]["enum"]
    assert sorted(values) == sorted(f"{sign}{f}" for f in ("id", "title", "author", "isbn") for sign in ("", "-"))
    for value in values:
        assert anonymous.get("/api/books/", {"ordering": value}).status_code == 200, value
    assert anonymous.get("/api/books/", {"ordering": "subtitle"}).status_code == 400

    def titles(query):
        response = anonymous.get(f"/api/books/?{query}")
        assert response.status_code == 200, response.content
        return [b["title"] for b in response.json()["results"]]

    # The declared serialization (comma-separated), and a list sent as repeated parameters.
    assert titles("ordering=author,-title") == titles("ordering=author&ordering=-title") == ["C", "B", "A"]


def test_the_schema_has_servers_tags_summaries_contact_and_license(schema):
    assert schema["servers"] and schema["servers"][0]["url"]
    assert schema["info"]["contact"] and schema["info"]["license"]["name"]
    declared_tags = {tag["name"] for tag in schema["tags"]}
    summaries = set()
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (path, method)
        assert set(operation["tags"]) <= declared_tags, (path, method)
        summaries.add(operation["summary"])
    assert len(summaries) == 6  # one per operation


# --- 4. Bearer and Token -----------------------------------------------------------


def test_the_schema_declares_a_bearer_scheme_for_every_write(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert not [name for name, s in schemes.items() if s.get("in") == "header" and s.get("name") == "Authorization"]
    for path, method, operation in operations(schema):
        assert {"bearerAuth": []} in operation["security"], (path, method)


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_a_token_works_with_either_prefix(anonymous, token, keyword):
    anonymous.credentials(HTTP_AUTHORIZATION=f"{keyword} {token.key}")
    response = anonymous.post("/api/books/", NEW_BOOK, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("keyword", ["Bearer", "Token"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_is_a_401_with_either_prefix_even_for_reads(anonymous, keyword, method):
    anonymous.credentials(HTTP_AUTHORIZATION=f"{keyword} not-a-real-token")
    response = getattr(anonymous, method)("/api/books/", NEW_BOOK if method == "post" else None, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_bearer_header_without_a_key_is_a_401(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer")
    response = anonymous.get("/api/books/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token header. No credentials provided."}


# --- 5. only declared behaviour: 405, 406, `format`, the browsable API ----------------


def test_every_operation_declares_406(schema):
    for path, method, operation in operations(schema):
        assert operation["responses"]["406"]["content"]["application/json"], (path, method)


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/csv"])
def test_a_client_that_accepts_no_json_gets_the_declared_406(anonymous, settings, accept):
    settings.API_BROWSABLE = False  # production
    book()
    for path in ("/api/", "/api/books/", f"/api/books/{Book.objects.get().id}/"):
        response = anonymous.get(path, HTTP_ACCEPT=accept)
        assert response.status_code == 406, (path, response.content[:200])
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Could not satisfy the request Accept header."}


def test_a_browser_gets_json_in_production(anonymous, settings):
    settings.API_BROWSABLE = False
    response = anonymous.get("/api/books/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"


@pytest.mark.parametrize("query", ["format=api", "format=json", "format=xml", "format="])
def test_the_format_parameter_is_not_part_of_the_contract(anonymous, settings, query):
    """Ignored like any unknown parameter (DRF would answer HTML, or a 404 for an unknown format)."""
    settings.API_BROWSABLE = False
    response = anonymous.get(f"/api/books/?{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json" and response.json()["count"] == 0


@pytest.mark.parametrize("path", ["/api/books.json", "/api/books/1.json", "/api/.json", "/api/books.api"])
def test_format_suffix_urls_do_not_exist(anonymous, path):
    book(id=1)
    response = anonymous.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    "path, declared",
    [
        ("/api/", {"GET"}),  # the API root: not in the schema, read-only
        ("/api/books/", {"GET", "POST"}),
        ("/api/books/{id}/", {"GET", "PUT", "PATCH", "DELETE"}),
    ],
)
def test_a_method_the_schema_does_not_list_is_a_json_405_naming_the_ones_it_does(schema, writer, path, declared):
    if path in schema["paths"]:
        assert {m.upper() for m in schema["paths"][path] if m in METHODS} == declared
    stored = book()
    for method in {"OPTIONS", "TRACE", "PUT", "POST", "PATCH", "DELETE"} - declared:
        response = writer.generic(method, path.format(id=stored.id))
        assert response.status_code == 405, (method, response.content[:200])
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}
        assert {m.strip() for m in response["Allow"].split(",")} == declared | {"HEAD"}, method


def test_the_browsable_api_answers_only_where_enabled(client, settings):
    book()
    settings.API_BROWSABLE = True
    html = client.get("/api/books/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html") and b"Dune" in html.content
    settings.API_BROWSABLE = False
    assert client.get("/api/books/", HTTP_ACCEPT="text/html").status_code == 406


# --- the edge, 5: links from the public origin ------------------------------------


def test_absolute_links_come_from_the_public_origin_not_the_host_header(anonymous, settings):
    settings.API_PUBLIC_ORIGIN = "https://library.example.com"
    for isbn in ("9780441172719", "9780441569595", "9780593098233"):
        book(isbn=isbn)
    page = anonymous.get("/api/books/?page_size=1&page=2", HTTP_HOST="localhost:1").json()
    assert page["next"] == "https://library.example.com/api/books/?page=3&page_size=1"
    assert page["previous"] == "https://library.example.com/api/books/?page_size=1"
    root = anonymous.get("/api/", HTTP_HOST="127.0.0.1:9").json()
    assert root == {"books": "https://library.example.com/api/books/"}


def test_without_a_public_origin_links_follow_the_request(anonymous, settings):
    settings.API_PUBLIC_ORIGIN = ""
    for isbn in ("9780441172719", "9780441569595"):
        book(isbn=isbn)
    page = anonymous.get("/api/books/?page_size=1", HTTP_HOST="localhost:8080").json()
    assert page["next"] == "http://localhost:8080/api/books/?page=2&page_size=1"
