from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class BookPagination(PageNumberPagination):
    """Page-number pagination with a capped, validated `page_size`.

    DRF silently falls back to the default page size on a bad value; a client
    asking for `page_size=abc` or `page_size=100000` is told instead. A page
    that is not a positive integer is a 400; a page past the end is a 404.
    """

    page_size_query_param = "page_size"

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Must be an integer from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings and not (raw.isdigit() and int(raw) >= 1):
            raise ValidationError({self.page_query_param: ["Must be a positive integer or 'last'."]})
        return super().paginate_queryset(queryset, request, view)
