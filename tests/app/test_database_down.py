"""A database that does not answer: 503 with Retry-After from every view, never a 500.

`unreachable_database` (tests/app/conftest.py) points the connection at a
closed port, as a stopped PostgreSQL looks to the app. The live tier
(tests/live/test_faults.py) does the same with a real stopped container.
"""

import json
import logging
import time

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from core.unavailable import DETAIL, RETRY_AFTER_SECONDS, DatabaseUnavailableMiddleware

pytestmark = pytest.mark.django_db

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"}
#: Connection refused is immediate; anything near the connect timeout (5 s) would be a hang.
QUICK_SECONDS = 2.0


def assert_json_503(response):
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"detail": DETAIL}
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("path", ["/api/books/", "/api/books/1/", "/api/books/?search=dune"])
def test_api_reads_are_503_json(anonymous, unreachable_database, path):
    started = time.monotonic()
    response = anonymous.get(path)
    assert time.monotonic() - started < QUICK_SECONDS
    assert_json_503(response)


def test_authenticated_writes_are_503_json(writer, unreachable_database):
    # The token lookup itself needs the database: that is where it fails.
    assert_json_503(writer.post("/api/books/", BOOK, format="json"))
    assert_json_503(writer.patch("/api/books/1/", {"title": "Dune Messiah"}, format="json"))
    assert_json_503(writer.delete("/api/books/1/"))


@pytest.mark.parametrize("path", ["/", "/books/1/"])
def test_website_pages_are_503_without_a_traceback(client, unreachable_database, path):
    response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "temporarily unavailable" in page
    for leak in ("Traceback", "OperationalError", "psycopg", "127.0.0.1"):
        assert leak not in page


def test_the_503_is_logged_as_one_line_without_a_traceback(anonymous, unreachable_database, caplog):
    with caplog.at_level(logging.WARNING, logger="core.unavailable"):
        assert anonymous.get("/api/books/").status_code == 503
    (record,) = [r for r in caplog.records if r.name == "core.unavailable"]
    assert record.exc_info is None
    assert record.error == "OperationalError" and record.path == "/api/books/"


@pytest.mark.parametrize(
    "error", [OperationalError("server closed the connection"), InterfaceError("connection already closed")]
)
def test_middleware_answers_connection_errors(error):
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    assert_json_503(middleware.process_exception(RequestFactory().get("/api/books/"), error))


def test_middleware_leaves_other_errors_alone():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/api/books/"), ValueError("a bug")) is None


def test_with_the_database_back_the_api_answers(anonymous):
    # The same requests without the fixture: the middleware changes nothing then.
    assert anonymous.get("/api/books/").status_code == 200
