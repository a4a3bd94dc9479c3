"""Every error response the schema documents, provoked through the generated Python client.

Each (operation, status) the schema lists is caused for real against the
service, and the client must hand back its typed model for it (not None, not
an UnexpectedStatus): the documented errors are the ones a client meets
(docs/testing.md#the-contract-tier).
"""

import socket

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client as DjangoClient

pytestmark = pytest.mark.contract

WRITES = {"books_create", "books_update", "books_partial_update"}
DETAIL = {"books_retrieve", "books_update", "books_partial_update", "books_destroy"}
ORDER = ("400", "401", "403", "404", "413", "415", "429", "503")  # 429 and 503 change the service: last


def documented_errors(schema) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for operations in schema["paths"].values():
        for operation in operations.values():
            codes = {code for code in operation.get("responses", {}) if code[0] in "45"}
            if codes:
                found[operation["operationId"]] = codes
    return found


class Caller:
    """Calls one operation of the generated client with arguments fit for it."""

    def __init__(self, api, generated_client, book_id):
        self.api, self.models, self.book_id = api, generated_client.models, book_id

    def kwargs(self, operation_id, *, book_id=None, title="Walden", isbn="9780691096124", **params):
        kwargs = dict(params)
        if operation_id in DETAIL:
            kwargs["id"] = self.book_id if book_id is None else book_id
        if operation_id in WRITES:
            body = self.models.PatchedBookRequest if operation_id == "books_partial_update" else self.models.BookRequest
            kwargs["body"] = body(title=title, author="Henry David Thoreau", isbn=isbn)
        return kwargs

    def __call__(self, operation_id, client, **overrides):
        return self.api(operation_id).sync_detailed(client=client, **self.kwargs(operation_id, **overrides))

    def with_header(self, operation_id, client, header, value):
        """The generated request, sent with one header changed, parsed by the generated code."""
        module = self.api(operation_id)
        request = module._get_kwargs(**self.kwargs(operation_id))
        request["headers"] = {**request.get("headers", {}), header: value}
        return module._build_response(client=client, response=client.get_httpx_client().request(**request))


@pytest.fixture
def session_client(generated_client, service_url, transactional_db):
    """A browser's session (sessionid cookie) without a CSRF token."""
    user = get_user_model().objects.create_user("contract-browser", password="a-long-test-password")
    browser = DjangoClient()
    browser.force_login(user)
    return generated_client.Client(base_url=service_url, cookies={"sessionid": browser.cookies["sessionid"].value})


def provoke(code, operation_id, call, clients, settings):
    """The response to a request that must get `code` from `operation_id`."""
    anonymous, writer, invalid, session = clients
    reader = writer if operation_id in WRITES or operation_id == "books_destroy" else anonymous
    if code == "400":
        return (
            call(operation_id, writer, isbn="123")
            if operation_id in WRITES
            else call(operation_id, anonymous, page_size=0)
        )
    if code == "401":
        return call(operation_id, invalid)
    if code == "403":
        return call(operation_id, session)
    if code == "404":
        return (
            call(operation_id, reader, book_id=2**31 - 1)
            if operation_id in DETAIL
            else call(operation_id, anonymous, page=999)
        )
    if code == "413":
        return call(operation_id, writer, title="x" * 70_000)
    if code == "415":
        return call.with_header(operation_id, writer, "Content-Type", "text/plain")
    if code == "406":
        return call.with_header(operation_id, writer, "Accept", "application/xml")
    if code == "429":
        settings.API_THROTTLE_RATES = {"anon": "1/minute", "user": "1/minute"}
        try:
            call(operation_id, reader)
            return call(operation_id, reader)
        finally:
            settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    if code == "503":
        return with_database_down(lambda: call(operation_id, reader))
    raise AssertionError(f"no way to provoke {code} here: add one")


def with_database_down(request):
    """The service's database connections cut, and its next ones pointed at a closed port.

    The live server's thread shares the settings dict of this one; its open
    connection is terminated by PostgreSQL, so the health check reconnects."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    original = dict(connection.settings_dict)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=closed_port)
    try:
        return request()
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)


def test_every_documented_error_is_met_typed(
    schema, api, generated_client, service_url, writer, anonymous, session_client, settings
):
    documented = documented_errors(schema)
    assert documented, "the schema documents no error"
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    book = api("books_create").sync(
        client=writer,
        body=generated_client.models.BookRequest(title="Dune", author="Frank Herbert", isbn="9780441013593"),
    )
    call = Caller(api, generated_client, book.id)
    invalid = generated_client.AuthenticatedClient(base_url=service_url, token="not-a-valid-token")
    clients = (anonymous, writer, invalid, session_client)
    problems = []
    for code in ORDER + tuple(sorted({c for codes in documented.values() for c in codes} - set(ORDER))):
        for operation_id, codes in sorted(documented.items()):
            if code not in codes:
                continue
            try:
                response = provoke(code, operation_id, call, clients, settings)
            except Exception as error:  # noqa: BLE001 - collected, every pair is reported
                problems.append(f"{operation_id} {code}: {type(error).__name__}: {error}")
                continue
            if str(int(response.status_code)) != code:
                problems.append(f"{operation_id} {code}: got {int(response.status_code)} {response.content[:120]!r}")
            elif response.parsed is None or isinstance(response.parsed, dict):
                problems.append(f"{operation_id} {code}: the client gave no typed model ({response.parsed!r})")
            elif code == "429" and "retry-after" not in {k.lower() for k in response.headers}:
                problems.append(f"{operation_id} 429 without Retry-After")
    assert not problems, "\n".join(problems)
