from django.core.exceptions import ValidationError
from django.db import models

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


class Book(models.Model):
    title = models.CharField(max_length=250)
    subtitle = models.CharField(max_length=250, blank=True)
    author = models.CharField(max_length=100, db_index=True)
    isbn = ISBNField("ISBN", unique=True)

    class Meta:
        # A total order, so that pages never skip or repeat a book.
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title
