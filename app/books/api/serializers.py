from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from ..isbn import InvalidISBN, normalize_isbn
from ..models import Book


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans and other non-strings.

    DRF's CharField turns 123 into "123"; a client sending the wrong type has
    a bug, and should hear about it rather than have its data reinterpreted.
    """

    default_error_messages = {"not_a_string": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class ISBNField(StrictCharField):
    """Accepts ISBN-10 or ISBN-13 with hyphens or spaces; yields the ISBN-13."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return normalize_isbn(value)
        except InvalidISBN as error:
            raise serializers.ValidationError(str(error)) from None


def model_max_length(name: str) -> int:
    """The model's column length: the model is the one place that sets it."""
    return Book._meta.get_field(name).max_length


class BookSerializer(serializers.ModelSerializer):
    title = StrictCharField(max_length=model_max_length("title"))
    # No serializer default: a default is applied to partial updates too, and
    # the schema would advertise it, so generated clients would send it and
    # a title-only PATCH would blank the subtitle. A create or a full
    # replacement (PUT) without one gets the empty string (to_internal_value).
    subtitle = StrictCharField(max_length=model_max_length("subtitle"), allow_blank=True, required=False)
    author = StrictCharField(max_length=model_max_length("author"))
    isbn = ISBNField(
        help_text="ISBN-10 or ISBN-13, hyphens and spaces allowed; stored and returned as ISBN-13 digits.",
        validators=[UniqueValidator(queryset=Book.objects.all(), message="A book with this ISBN already exists.")],
    )

    class Meta:
        model = Book
        fields = ["id", "title", "subtitle", "author", "isbn"]
        read_only_fields = ["id"]

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if not self.partial:
            values.setdefault("subtitle", "")  # PUT replaces the whole book
        return values
