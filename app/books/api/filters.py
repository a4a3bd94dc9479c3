import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

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


class ParameterSearchFilter(SearchFilter):
    """DRF's search, but a refused search term (a NUL character) is reported
    under `search`, like every other parameter's error."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as error:
            raise ValidationError({self.search_param: error.detail}) from None


class StrictOrderingFilter(OrderingFilter):
    """DRF's ordering, but an unknown field is a 400 instead of being ignored,
    and the schema lists the accepted values.

    Several fields are comma-separated (`ordering=author,-title`, the schema's
    `style: form, explode: false`) or, as some generated clients send a list,
    repeated (`ordering=author&ordering=-title`): both mean the same.
    """

    def get_ordering(self, request, queryset, view):
        given = request.query_params.getlist(self.ordering_param)
        if given:  # `ordering=` too: an empty value is not a field (the schema's enum)
            fields = [param.strip() for param in ",".join(given).split(",")]
            allowed = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            unknown = [field for field in fields if field.lstrip("-") not in allowed]
            if unknown or not all(fields):
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"Unknown ordering field(s): {', '.join(unknown) or '(empty)'}. "
                            f"Allowed: {', '.join(sorted(allowed))}, each optionally prefixed by '-'."
                        ]
                    }
                )
            return fields
        return self.get_default_ordering(view)

    def get_schema_operation_parameters(self, view):
        values = [value for field in view.ordering_fields for value in (field, f"-{field}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by these fields, in this order; `-` for descending. Default: `id`.",
                "style": "form",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "string", "enum": values}},
            }
        ]


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the request names none of the
    filter set's parameters.

    The filter set then filters nothing (no filter here has a default or is
    required), yet building it and validating its form is a fifth of a list
    request's Python time: the plain list, the most common request, need not
    pay for it.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
