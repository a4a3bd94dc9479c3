"""CRUD, pagination, filters and every documented error through the generated Python client.

The client is what openapi-python-client makes of /api/schema/, used as a
caller would, against the real service: if the schema lies, these fail
(docs/testing.md#the-contract-tier).
"""

import httpx
import pytest

pytestmark = pytest.mark.contract

BOOKS = [
    ("Dune", "Frank Herbert", "9780441013593"),
    ("Emma", "Jane Austen", "9780141439587"),
    ("Ulysses", "James Joyce", "9780199535675"),
    ("Walden", "Henry David Thoreau", "9780691096124"),
    ("Beloved", "Toni Morrison", "9781400033416"),
]


def create(api, generated_client, writer, title, author, isbn, subtitle=None):
    models = generated_client.models
    fields = {"title": title, "author": author, "isbn": isbn}
    if subtitle is not None:
        fields["subtitle"] = subtitle
    response = api("books_create").sync_detailed(client=writer, body=models.BookRequest(**fields))
    assert response.status_code == 201, response.content
    return response.parsed


def test_every_operation_module_imports(generated_client, api):
    """Multi-content request bodies make openapi-python-client emit `Unset` without importing it."""
    for name in ("books_list", "books_create", "books_retrieve", "books_update", "books_partial_update"):
        api(name)
    api("books_destroy")


def test_crud(api, generated_client, writer, anonymous):
    models = generated_client.models
    book = create(api, generated_client, writer, "Dune", "Frank Herbert", "0-441-01359-7", subtitle="Book one")
    assert isinstance(book, models.Book)
    assert book.isbn == "9780441013593" and book.subtitle == "Book one"

    read = api("books_retrieve").sync(client=anonymous, id=book.id)
    assert read == book

    replaced = api("books_update").sync(
        client=writer,
        id=book.id,
        body=models.BookRequest(title="Dune Messiah", author="Frank Herbert", isbn="9780593098233"),
    )
    assert (replaced.title, replaced.subtitle, replaced.isbn) == ("Dune Messiah", "", "9780593098233")

    api("books_partial_update").sync(client=writer, id=book.id, body=models.PatchedBookRequest(subtitle="Book two"))
    patched = api("books_partial_update").sync(client=writer, id=book.id, body=models.PatchedBookRequest(title="DM"))
    assert (patched.title, patched.subtitle) == ("DM", "Book two"), "a title-only PATCH must keep the subtitle"

    assert api("books_destroy").sync_detailed(client=writer, id=book.id).status_code == 204
    gone = api("books_retrieve").sync_detailed(client=anonymous, id=book.id)
    assert gone.status_code == 404 and gone.parsed.detail


def test_token_prefix_also_accepted(api, generated_client, service_url, token_key):
    """The README's `Token <key>` keeps working next to the generated clients' default `Bearer`."""
    client = generated_client.AuthenticatedClient(base_url=service_url, token=token_key, prefix="Token")
    create(api, generated_client, client, "Emma", "Jane Austen", "9780141439587")


def test_pagination_follows_next_and_previous(api, generated_client, writer, anonymous):
    for title, author, isbn in BOOKS:
        create(api, generated_client, writer, title, author, isbn)
    first = api("books_list").sync(client=anonymous, page_size=2)
    assert isinstance(first, generated_client.models.PaginatedBookList)
    assert first.count == 5 and [b.title for b in first.results] == ["Dune", "Emma"]
    assert first.previous is None, "previous is always returned (null on the first page)"
    seen, page = [], first
    while page.next_:
        seen.extend(b.title for b in page.results)
        number = int(httpx.URL(page.next_).params["page"])
        page = api("books_list").sync(client=anonymous, page_size=2, page=number)
    seen.extend(b.title for b in page.results)
    assert seen == [title for title, _, _ in BOOKS]
    assert page.next_ is None and page.previous, "next is always returned (null on the last page)"


def ordering_value(generated_client, value: str):
    """`ordering` as the generated signature types it: a list of the declared keys (an enum each)."""
    items = [
        getattr(generated_client.models, name) for name in dir(generated_client.models) if name.endswith("OrderingItem")
    ]
    assert items, "the schema declares ordering's values: the generator makes an enum of them"
    return [items[0](value)]


def test_filters_search_and_ordering(api, generated_client, writer, anonymous, schema):
    for title, author, isbn in BOOKS:
        create(api, generated_client, writer, title, author, isbn)
    books_list = api("books_list")

    def titles(**params):
        return [book.title for book in books_list.sync(client=anonymous, **params).results]

    assert titles(author="Jane Austen") == ["Emma"]
    assert titles(isbn="978-0-19-953567-5") == ["Ulysses"]
    assert titles(search="thoreau") == ["Walden"]
    assert titles(ordering=ordering_value(generated_client, "-title")) == sorted((t for t, _, _ in BOOKS), reverse=True)

    parameters = {p["name"]: p for p in schema["paths"]["/api/books/"]["get"]["parameters"]}
    declared = parameters["ordering"]["schema"]
    values = set(declared.get("enum") or declared.get("items", {}).get("enum") or [])
    assert {"title", "-title", "author", "-author", "isbn", "-isbn", "id", "-id"} <= values, declared


def test_writes_are_json_only(schema):
    """The generated Python client cannot use multi-content bodies; the browsable API keeps its forms."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


def test_request_components_advertise_no_default_the_server_does_not_apply(schema):
    """A generated client sends a declared default: `subtitle: ""` in a PATCH wipes the subtitle."""
    patched = schema["components"]["schemas"]["PatchedBookRequest"]
    assert all("default" not in field for field in patched["properties"].values()), patched


def test_fields_always_returned_are_required(schema):
    components = schema["components"]["schemas"]
    assert "subtitle" in components["Book"]["required"]
    assert {"count", "next", "previous", "results"} <= set(components["PaginatedBookList"]["required"])
