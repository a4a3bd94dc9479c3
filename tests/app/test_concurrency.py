"""Concurrent creates of one ISBN: exactly one book, the others a 400, never a 500."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from books.api.views import BookViewSet
from books.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOAD = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780441172719"}


def post_concurrently(token_key: str, writers: int, before_save=None) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def write():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_key}")
            start.wait(timeout=10)
            response = client.post("/api/books/", PAYLOAD, format="json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_racing_creates_past_the_uniqueness_check(token, monkeypatch):
    """Every writer passes the serializer's check before any inserts: the unique index decides."""
    writers = 4
    all_validated = threading.Barrier(writers)
    original = BookViewSet._save_unique

    def save_after_everyone_validated(serializer):
        all_validated.wait(timeout=10)
        original(serializer)

    monkeypatch.setattr(BookViewSet, "_save_unique", staticmethod(save_after_everyone_validated))
    statuses = post_concurrently(token.key, writers)
    assert sorted(statuses) == [201] + [400] * (writers - 1)
    assert Book.objects.filter(isbn=PAYLOAD["isbn"]).count() == 1


def test_many_concurrent_creates(token):
    statuses = post_concurrently(token.key, 12)
    assert sorted(statuses) == [201] + [400] * 11
    assert Book.objects.count() == 1


def test_a_write_that_only_the_database_refuses_is_a_400(token, monkeypatch):
    """The path a race takes: validation passed, the INSERT violates the unique index."""
    from rest_framework.validators import UniqueValidator

    Book.objects.create(**PAYLOAD)
    monkeypatch.setattr(UniqueValidator, "__call__", lambda self, value, serializer_field: None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post("/api/books/", PAYLOAD, format="json")
    assert response.status_code == 400
    assert response.json() == {"isbn": ["A book with this ISBN already exists."]}
    assert Book.objects.count() == 1
