"""What list and detail requests cost, on the real PostgreSQL of the test run:
pagination (exact counts for small and filtered lists, the planner's estimate
for large unfiltered ones, exact navigation either way), a constant number of
queries per request, search served by trigram indexes, and list parameters
that a detail request does not evaluate."""

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import connection
from django.db.models import Count, Value
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from books.api.pagination import EstimatedCountPaginator, estimate_table_rows, is_whole_table
from books.management.commands.load_sample_books import sample_isbn
from books.models import Book

pytestmark = pytest.mark.django_db


def add_books(count: int, start: int = 0, author: str = "Ada Lovelace") -> None:
    Book.objects.bulk_create(
        Book(title=f"Book {n}", author=author if n % 2 == 0 else "Alan Turing", isbn=sample_isbn(n))
        for n in range(start, start + count)
    )


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{Book._meta.db_table}"')


def fresh_table() -> None:
    """Start the test from a new, empty, never analyzed table file, whatever
    ran before: ANALYZE is not undone by an earlier test's rollback, and its
    rolled-back rows still take pages. TRUNCATE (undone with this test's
    transaction) gives the table a new file (reltuples -1, relpages 0), and
    its lock keeps autovacuum out until the rollback."""
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{Book._meta.db_table}" CASCADE')


def listing(client, query: str = "") -> dict:
    response = client.get(f"/api/books/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def stale_statistics():
    """60 books analyzed, then 30 deleted without a new ANALYZE: the
    planner's estimate (60) and the exact count (30) differ, so a test can
    tell which one a response reports."""
    add_books(60)
    analyze()
    Book.objects.filter(id__in=list(Book.objects.order_by("-id").values_list("id", flat=True)[:30])).delete()
    assert Book.objects.count() == 30 and estimate_table_rows(Book) == 60


def test_small_tables_are_counted_exactly(anonymous, stale_statistics):
    # Default threshold (100 000): far above this table's estimate.
    assert listing(anonymous)["count"] == 30


def test_large_unfiltered_lists_report_the_planners_estimate(anonymous, settings, stale_statistics):
    settings.API_COUNT_ESTIMATE_THRESHOLD = 10
    assert listing(anonymous)["count"] == 60
    # Ordering does not filter: still the estimate.
    assert listing(anonymous, "ordering=-title")["count"] == 60


def test_filtered_and_searched_lists_are_always_exact(anonymous, settings, stale_statistics):
    settings.API_COUNT_ESTIMATE_THRESHOLD = 10
    assert listing(anonymous, "author=Ada+Lovelace")["count"] == 15
    assert listing(anonymous, "search=turing")["count"] == 15
    assert listing(anonymous, "search=book")["count"] == 30


def test_navigation_is_exact_when_the_count_is_estimated(anonymous, settings, stale_statistics):
    settings.API_COUNT_ESTIMATE_THRESHOLD = 10
    ids = list(Book.objects.order_by("id").values_list("id", flat=True))
    first = listing(anonymous, "page_size=20")
    assert first["count"] == 60 and [b["id"] for b in first["results"]] == ids[:20]
    assert first["previous"] is None and first["next"].endswith("page=2&page_size=20")
    # The estimate says 3 pages; the second one is the real last one.
    second = listing(anonymous, "page_size=20&page=2")
    assert [b["id"] for b in second["results"]] == ids[20:] and second["next"] is None
    assert second["previous"].endswith("page_size=20")
    response = anonymous.get("/api/books/?page_size=20&page=3")
    assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}
    # page=last counts exactly, and then reports the exact count.
    last = listing(anonymous, "page_size=20&page=last")
    assert last["results"] == second["results"] and last["count"] == 30 and last["next"] is None


def test_probed_pages_number_their_rows_exactly(stale_statistics):
    """start_index/end_index (Django's page API) come from the rows fetched, not the estimate."""
    paginator = EstimatedCountPaginator(Book.objects.all(), 20, estimate_threshold=10)
    assert paginator.count == 60 and paginator.count_is_estimate
    first, second = paginator.page(1), paginator.page(2)
    assert (first.start_index(), first.end_index(), first.has_next()) == (1, 20, True)
    assert (second.start_index(), second.end_index(), second.has_next()) == (21, 30, False)
    # Page numbers as Django's Paginator takes them: a whole float is a number, anything else is not.
    assert paginator.page(2.0).end_index() == 30
    for bad in (1.5, "two", None):
        with pytest.raises(PageNotAnInteger):
            paginator.page(bad)
    with pytest.raises(EmptyPage):
        paginator.page(0)
    Book.objects.all().delete()  # the estimate still says 60: page 1 exists, and is empty
    empty = EstimatedCountPaginator(Book.objects.all(), 20, estimate_threshold=10).page(1)
    assert (len(empty), empty.end_index(), empty.has_next()) == (0, 0, False)


def test_page_last_when_few_or_no_rows_are_left_of_the_estimate(anonymous, settings, stale_statistics):
    settings.API_COUNT_ESTIMATE_THRESHOLD = 10  # the estimate stays 60 while rows go
    Book.objects.exclude(id=Book.objects.order_by("id").first().id).delete()
    last = listing(anonymous, "page_size=1&page=last")
    assert (last["count"], len(last["results"]), last["next"], last["previous"]) == (1, 1, None, None)
    assert listing(anonymous, "page_size=1")["next"] is None  # a full page with no row after it is the last
    Book.objects.all().delete()
    assert listing(anonymous)["results"] == []  # page 1 exists even when empty
    assert anonymous.get("/api/books/?page=2").status_code == 404
    assert listing(anonymous, "page=last") == {"count": 0, "next": None, "previous": None, "results": []}


def page_query(client, query: str) -> str:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/api/books/?{query}").status_code == 200
    return captured.captured_queries[-1]["sql"]


def test_only_an_estimated_count_costs_a_probe_row(anonymous, settings, stale_statistics):
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    assert page_query(anonymous, "page_size=20").endswith("LIMIT 20")  # exact count (30 rows): no probe
    assert page_query(anonymous, "author=Ada+Lovelace&page_size=5").endswith("LIMIT 5")  # filtered: exact
    settings.API_COUNT_ESTIMATE_THRESHOLD = 10
    assert page_query(anonymous, "page_size=20").endswith("LIMIT 21")  # estimated: one row more
    assert page_query(anonymous, "page_size=20&page=last").endswith("LIMIT 10 OFFSET 20")  # counted exactly


def test_estimate_sees_rows_added_since_the_last_analyze(settings):
    fresh_table()  # no dead pages of earlier tests' rows to dilute the density ANALYZE measures
    add_books(2000)
    analyze()
    add_books(2000, start=2000)
    estimate = estimate_table_rows(Book)
    assert estimate is not None and 3600 <= estimate <= 4400  # scaled by the table's current pages


def test_no_statistics_means_an_exact_count(anonymous, settings):
    settings.API_COUNT_ESTIMATE_THRESHOLD = 0
    fresh_table()
    add_books(5)
    assert estimate_table_rows(Book) is None
    assert listing(anonymous)["count"] == 5


def compiled(queryset):
    """The queryset after Django wrote its SQL once (its base table is then in alias_map)."""
    str(queryset.query)
    return queryset


@pytest.mark.parametrize(
    ("make", "whole"),
    [
        (lambda: Book.objects.all(), True),
        (lambda: compiled(Book.objects.all()), True),
        (lambda: compiled(Book.objects.order_by("-title")), True),  # ordering does not change a count
        (lambda: Book.objects.filter(author="Ada Lovelace"), False),
        (lambda: compiled(Token.objects.select_related("user")), False),  # a join
        (lambda: Book.objects.values("author").annotate(n=Count("id")), False),  # grouping
        (lambda: Book.objects.distinct(), False),
        (lambda: Book.objects.all().union(Book.objects.all()), False),
        (lambda: Book.objects.annotate(n=Value(1)), False),
        (lambda: Book.objects.extra(select={"n": "1"}), False),
        (lambda: Book.objects.all()[5:], False),
        (lambda: Book.objects.all()[:5], False),
    ],
    ids=[
        "all",
        "all-compiled",
        "ordered",
        "filtered",
        "joined",
        "grouped",
        "distinct",
        "union",
        "annotated",
        "extra",
        "offset",
        "limit",
    ],
)
def test_only_a_whole_table_may_be_estimated(make, whole):
    assert is_whole_table(make()) is whole


def test_page_last_of_an_exactly_counted_list_counts_once(anonymous, settings):
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    add_books(5)
    for query, count in (("", 5), ("author=Ada+Lovelace&", 3)):  # the whole table, a filtered list
        assert queries_for(anonymous, f"/api/books/?{query}page_size=2&page=last") == 2  # the count and the page
        assert listing(anonymous, f"{query}page_size=2&page=last")["count"] == count


def queries_for(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


@pytest.mark.parametrize("threshold", [0, 100_000], ids=["estimated-count", "exact-count"])
def test_queries_per_request_do_not_grow_with_page_or_table_size(anonymous, settings, threshold):
    settings.API_COUNT_ESTIMATE_THRESHOLD = threshold
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}  # the database-cached counters cost queries of their own
    add_books(150)
    analyze()
    small = {size: queries_for(anonymous, f"/api/books/?page_size={size}") for size in (10, 100)}
    add_books(850, start=150)
    analyze()
    large = {size: queries_for(anonymous, f"/api/books/?page_size={size}") for size in (10, 100)}
    assert set(small.values()) == set(large.values()) == {2}  # the count (or estimate) and the page
    book = Book.objects.last()
    assert queries_for(anonymous, f"/api/books/{book.id}/") == 1


@pytest.mark.parametrize("column", ["title", "subtitle", "author"])
def test_search_can_use_the_trigram_indexes(anonymous, column):
    add_books(50)
    analyze()
    queryset = Book.objects.filter(**{f"{column}__icontains": "lovelace"}).order_by()  # as the count runs it
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # this table is tiny: show the index *can* serve it
        plan = queryset.explain()
    assert f"book_{column}_trgm" in plan, plan


def test_a_book_by_id_ignores_list_parameters(anonymous):
    add_books(3)
    book = Book.objects.get(isbn=sample_isbn(1))  # by Alan Turing
    for query in ("author=Ada+Lovelace", "search=nothing-matches", "ordering=title", "isbn=not-an-isbn"):
        response = anonymous.get(f"/api/books/{book.id}/?{query}")
        assert response.status_code == 200 and response.json()["id"] == book.id, (query, response.content)
    # The list still applies them.
    assert anonymous.get("/api/books/?author=Ada+Lovelace").json()["count"] == 2
    assert anonymous.get("/api/books/?isbn=not-an-isbn").status_code == 400


def test_the_schema_tells_clients_what_count_means(anonymous):
    schema = anonymous.get("/api/schema/?format=json").json()
    count = schema["components"]["schemas"]["PaginatedBookList"]["properties"]["count"]
    assert "estimate" in count["description"] and "API_COUNT_ESTIMATE_THRESHOLD" in count["description"]
    assert count["description"].startswith("Number of matching books: exact for filtered")
    assert count["description"].endswith("`next`, `previous` and page=last are always exact.")
