"""The server-rendered website and the admin."""

import pytest

from books.management.commands.load_sample_books import sample_isbn
from books.models import Book

pytestmark = pytest.mark.django_db


def test_empty_list(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"No books yet." in response.content


def test_list_links_to_detail_pages(client):
    book = Book.objects.create(title="Dune <1965>", author="Frank Herbert", isbn="9780441172719")
    response = client.get("/")
    html = response.content.decode()
    assert f'href="/books/{book.pk}/"' in html
    assert "Dune &lt;1965&gt;" in html  # escaped, never raw HTML from data


def test_list_is_paginated(client):
    Book.objects.bulk_create(Book(title=f"Book {n:02d}", author="A", isbn=sample_isbn(n)) for n in range(45))
    first = client.get("/").content.decode()
    assert "Book 00" in first and "Book 19" in first and "Book 20" not in first
    assert "Page 1 of 3" in first
    third = client.get("/?page=3").content.decode()
    assert "Book 40" in third and "Book 44" in third
    assert client.get("/?page=4").status_code == 404
    assert client.get("/?page=abc").status_code == 404


def test_detail_page(client):
    book = Book.objects.create(title="Neuromancer", subtitle="Sprawl 1", author="William Gibson", isbn="9780441569595")
    html = client.get(f"/books/{book.pk}/").content.decode()
    assert "Neuromancer" in html and "Sprawl 1" in html and "William Gibson" in html and "9780441569595" in html


def test_unknown_book_page_is_404(client):
    assert client.get("/books/424242/").status_code == 404


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Django administration" in response.content


def test_admin_normalizes_isbn(admin_client):
    response = admin_client.post(
        "/admin/books/book/add/", {"title": "Dune", "subtitle": "", "author": "Frank Herbert", "isbn": "0-441-17271-7"}
    )
    assert response.status_code == 302, response.content
    assert Book.objects.get().isbn == "9780441172719"


def test_admin_rejects_bad_isbn(admin_client):
    response = admin_client.post(
        "/admin/books/book/add/", {"title": "Dune", "subtitle": "", "author": "Frank Herbert", "isbn": "0-441-17271-8"}
    )
    assert response.status_code == 200
    assert b"ISBN-10 check digit is wrong." in response.content
    assert not Book.objects.exists()
