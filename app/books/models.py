from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper

from .isbn import InvalidISBN, normalize_isbn


class ISBNField(models.CharField):
    """Stores the normalized ISBN-13; forms (the admin) accept any valid spelling."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 13)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        try:
            return normalize_isbn(value)
        except InvalidISBN as error:
            raise ValidationError(str(error), code="invalid") from None


#: The columns the API's `search` looks in (books/api/views.py).
SEARCHED_COLUMNS = ("title", "subtitle", "author")


class Book(models.Model):
    title = models.CharField(max_length=250)
    subtitle = models.CharField(max_length=250, blank=True)
    author = models.CharField(max_length=100, db_index=True)
    isbn = ISBNField("ISBN", unique=True)

    class Meta:
        # A total order, so that pages never skip or repeat a book.
        ordering = ["id"]
        # The API's `search` is icontains over these columns, which Django
        # writes as UPPER(col::text) LIKE UPPER('%term%'): trigram indexes on
        # UPPER(col) let PostgreSQL answer it without reading the whole table.
        indexes = [
            GinIndex(OpClass(Upper(column), name="gin_trgm_ops"), name=f"book_{column}_trgm")
            for column in SEARCHED_COLUMNS
        ]

    def __str__(self) -> str:
        return self.title
