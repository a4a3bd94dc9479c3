import django_filters
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from ..isbn import InvalidISBN, normalize_isbn
from ..models import Book


class BookFilter(django_filters.FilterSet):
    author = django_filters.CharFilter(field_name="author", lookup_expr="exact")
    isbn = django_filters.CharFilter(method="filter_isbn")

    class Meta:
        model = Book
        fields = ["author", "isbn"]

    def filter_isbn(self, queryset, name, value):
        try:
            return queryset.filter(isbn=normalize_isbn(value))
        except InvalidISBN as error:
            raise ValidationError({"isbn": [str(error)]}) from None


class StrictOrderingFilter(OrderingFilter):
    """DRF's ordering, but an unknown field is a 400 instead of being ignored."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [param.strip() for param in params.split(",")]
            allowed = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            unknown = [field for field in fields if field.lstrip("-") not in allowed]
            if unknown or not all(fields):
                raise ValidationError(
                    {self.ordering_param: [f"Unknown ordering field(s): {', '.join(unknown) or '(empty)'}. "
                                           f"Allowed: {', '.join(sorted(allowed))}, each optionally prefixed by '-'."]}
                )
        return super().get_ordering(request, queryset, view)
