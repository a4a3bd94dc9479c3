"""Page-number pagination whose cost does not grow with the table.

An unfiltered list of a large table reports PostgreSQL's row estimate as
`count` instead of scanning it with COUNT(*); filtered lists and navigation
stay exact: docs/app.md#counting-a-large-table.
"""

from __future__ import annotations

import math
from functools import partial

from django.conf import settings
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.utils.functional import cached_property  # no lock, unlike functools (Python < 3.12)
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from ..isbn import is_ascii_digits

# The planner's row estimate for a table (see estimate_table_rows). NULL when
# the table has no statistics yet (never analyzed, or analyzed while empty).
_PLANNER_ROW_ESTIMATE = """
    SELECT CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN NULL
                ELSE c.reltuples / c.relpages
                     * (pg_relation_size(c.oid) / current_setting('block_size')::int)
           END AS estimate
    FROM pg_class c WHERE c.oid = %(table)s::regclass
"""
# A whole table's count in one round trip: the estimate, and the exact count
# only when the estimate is missing or at most the threshold. The COUNT is an
# uncorrelated subquery (an InitPlan), which PostgreSQL runs only when the
# CASE needs it: above the threshold the table is not scanned.
_ESTIMATE_OR_EXACT_COUNT = f"""
    WITH planner AS ({_PLANNER_ROW_ESTIMATE})
    SELECT p.estimate,
           CASE WHEN p.estimate IS NULL OR p.estimate <= %(threshold)s
                THEN (SELECT COUNT(*) FROM {{table}}) END
    FROM (SELECT (SELECT estimate FROM planner) AS estimate) AS p
"""


def estimate_table_rows(model, using: str = "default") -> int | None:
    """PostgreSQL's estimate of a model's table rows, as the planner makes it
    for a sequential scan: the tuple density of the last ANALYZE (or VACUUM)
    times the table's current number of pages. None without statistics."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(_PLANNER_ROW_ESTIMATE, {"table": connection.ops.quote_name(model._meta.db_table)})
        row = cursor.fetchone()
    return None if row is None or row[0] is None else round(row[0])


def count_or_estimate_table_rows(model, threshold: int, using: str = "default") -> tuple[int, bool]:
    """(rows, is_estimate) of a model's whole table, in one query: the
    planner's estimate when it exceeds `threshold`, else the exact count."""
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_ESTIMATE_OR_EXACT_COUNT.format(table=table), {"table": table, "threshold": threshold})
        estimate, exact = cursor.fetchone()
    return (exact, False) if exact is not None else (round(estimate), True)


def is_whole_table(queryset) -> bool:
    """True when the queryset selects every row of its model's table once: no
    WHERE clause, joins, grouping, DISTINCT, set operations or slicing.
    Ordering does not change a count."""
    query = queryset.query
    return (
        not query.where
        and len(query.alias_map) <= 1
        and query.group_by is None
        and not query.distinct
        and not query.combinator
        and not query.annotations
        and not query.extra
        and query.low_mark == 0
        and query.high_mark is None
    )


class ProbedPage(Page):
    """A page that knows whether another one follows from having fetched one
    row more than it shows, not from the (estimated) count."""

    def __init__(self, object_list, number, paginator, has_more: bool):
        super().__init__(object_list, number, paginator)
        self._has_more = has_more

    def has_next(self) -> bool:
        return self._has_more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


class EstimatedCountPaginator(Paginator):
    """Django's Paginator, with the planner's estimate as `count` for whole
    tables above `estimate_threshold` rows (docs/app.md#counting-a-large-table)."""

    def __init__(self, object_list, per_page, *, estimate_threshold: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.estimate_threshold = estimate_threshold

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        """(count, is_estimate), with one query."""
        queryset = self.object_list
        if hasattr(queryset, "query") and is_whole_table(queryset):
            return count_or_estimate_table_rows(queryset.model, self.estimate_threshold, queryset.db)
        return Paginator.count.func(self), False  # Django's own count (a cached_property)

    @property
    def count_is_estimate(self) -> bool:
        return self._counted[1] and "exact_count" not in self.__dict__

    @property
    def count(self) -> int:
        return self.exact_count if "exact_count" in self.__dict__ else self._counted[0]

    @cached_property
    def exact_count(self) -> int:
        """The exact count, even where `count` is an estimate (page=last)."""
        value, is_estimate = self._counted
        return Paginator.count.func(self) if is_estimate else value

    @property
    def exact_num_pages(self) -> int:
        if self.exact_count == 0 and not self.allow_empty_first_page:
            return 0
        return math.ceil(max(1, self.exact_count - self.orphans) / self.per_page)

    def page(self, number):
        if not self.count_is_estimate:
            return super().page(number)
        # The estimate bounds nothing: fetch one row more than the page shows.
        number = self._positive_int(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return ProbedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)

    def _positive_int(self, number) -> int:
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number


class BookPagination(PageNumberPagination):
    """Page-number pagination with a capped, validated `page_size` and a
    `count` that stays cheap on large tables (docs/app.md#counting-a-large-table).

    DRF silently falls back to the default page size on a bad value; a client
    asking for `page_size=abc` or `page_size=100000` is told instead. A page
    that is not a positive integer is a 400; a page past the end is a 404.
    """

    page_size_query_param = "page_size"

    @property
    def page_size(self):
        return settings.API_PAGE_SIZE

    @property
    def django_paginator_class(self):
        return partial(EstimatedCountPaginator, estimate_threshold=settings.API_COUNT_ESTIMATE_THRESHOLD)

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not is_ascii_digits(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"Must be an integer from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings and paginator.count_is_estimate:
            return paginator.exact_num_pages  # the real last page, not the estimate's
        return super().get_page_number(request, paginator)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings and not (is_ascii_digits(raw) and int(raw) >= 1):
            raise ValidationError({self.page_query_param: ["Must be a positive integer or 'last'."]})
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        """`page` and `page_size` as validated above, so that the schema says
        which values are refused (tests/live/test_hostile.py fuzzes with it)."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {
                    "anyOf": [
                        {"type": "integer", "minimum": 1},
                        {"type": "string", "enum": sorted(self.last_page_strings)},
                    ]
                }
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "next", "previous", "results"]  # always there; null at either end
        response["properties"]["count"]["description"] = (
            "Number of matching books: exact for filtered or searched lists and for tables of up to "
            "API_COUNT_ESTIMATE_THRESHOLD books; above that, an unfiltered list reports PostgreSQL's "
            "estimate (exact after ANALYZE, usually within a few percent). `next`, `previous` and "
            "page=last are always exact."
        )
        return response
