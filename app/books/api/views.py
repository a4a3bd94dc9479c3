from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from ..models import SEARCHED_COLUMNS, Book
from .filters import BookFilter, ParameterSearchFilter, QueryFilterBackend, StrictOrderingFilter
from .negotiation import ApiContentNegotiation
from .pagination import BookPagination
from .serializers import BookSerializer

DUPLICATE_ISBN = {"isbn": ["A book with this ISBN already exists."]}


@extend_schema_view(
    list=extend_schema(
        summary="List books",
        description="A page of books. Filter by `author` (exact) or `isbn` (any spelling), `search` title, "
        "subtitle and author, sort with `ordering`.",
    ),
    create=extend_schema(summary="Add a book", description="`subtitle` may be left out (empty)."),
    retrieve=extend_schema(summary="Get a book"),
    update=extend_schema(summary="Replace a book", description="Every field is set; a missing `subtitle` is empty."),
    partial_update=extend_schema(
        summary="Change some fields of a book", description="Only the fields sent change; the others keep their value."
    ),
    destroy=extend_schema(summary="Delete a book"),
)
class BookViewSet(viewsets.ModelViewSet):
    """Books: anyone may read; authenticated users may create, update and delete.

    Filters: `author`, `isbn` (any spelling). `search` looks in title, subtitle
    and author; `ordering` takes title, author, isbn or id, `-` for descending.
    """

    queryset = Book.objects.all()
    serializer_class = BookSerializer
    pagination_class = BookPagination
    filter_backends = [QueryFilterBackend, ParameterSearchFilter, StrictOrderingFilter]
    filterset_class = BookFilter
    search_fields = list(SEARCHED_COLUMNS)  # trigram-indexed: see Book.Meta
    ordering_fields = ["id", "title", "author", "isbn"]
    ordering = ["id"]
    # The schema's methods and no others (OPTIONS would be an undeclared
    # metadata answer): anything else is a JSON 405 with an `Allow` header.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]
    content_negotiation_class = ApiContentNegotiation

    def filter_queryset(self, queryset):
        # Filters, search and ordering are parameters of the list. DRF also
        # runs them for one book (retrieve, update, delete), where they can
        # only hide the book asked for by id, and where building and
        # validating the filter form is most of the request's Python time.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def perform_create(self, serializer):
        self._save_unique(serializer)

    def perform_update(self, serializer):
        self._save_unique(serializer)

    @staticmethod
    def _save_unique(serializer):
        # The serializer's uniqueness check and the INSERT are not atomic: two
        # concurrent writers of one ISBN both pass the check, and the database's
        # unique index decides. The loser gets the same 400 as a plain duplicate.
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:
            raise serializers.ValidationError(DUPLICATE_ISBN) from None
