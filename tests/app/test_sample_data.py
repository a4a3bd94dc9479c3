"""The sample-data loader: valid, unique ISBNs, repeatable, fast bulk loading."""

import pytest
from django.core.management import CommandError, call_command

from books.isbn import normalize_isbn
from books.models import Book

pytestmark = pytest.mark.django_db


def test_loads_valid_unique_books_and_can_add_more():
    call_command("load_sample_books", 2500, batch_size=1000, seed=1, stdout=open("/dev/null", "w"))
    call_command("load_sample_books", 500, seed=2, stdout=open("/dev/null", "w"))
    assert Book.objects.count() == 3000
    isbns = list(Book.objects.values_list("isbn", flat=True))
    assert len(set(isbns)) == 3000
    assert all(normalize_isbn(isbn) == isbn for isbn in isbns)
    assert Book.objects.filter(subtitle="").exists() and Book.objects.exclude(subtitle="").exists()


def test_rejects_bad_arguments():
    with pytest.raises(CommandError, match="count must be zero or more"):
        call_command("load_sample_books", -1)
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("load_sample_books", 10, batch_size=0)
