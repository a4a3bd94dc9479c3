"""Throttling: 429 with Retry-After, per client kind, configured by environment."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.conftest import wait_for_room_in_the_throttle_window
from throttling.models import ThrottleWindow
from throttling.throttles import WindowThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_window():
    """Each test's requests count in one fixed window."""
    wait_for_room_in_the_throttle_window(needed_s=5)


def test_anonymous_clients_are_throttled_with_retry_after(settings, anonymous):
    settings.API_THROTTLE_RATES = {"anon": "3/minute", "user": None}
    statuses = [anonymous.get("/api/books/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = anonymous.get("/api/books/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")


def test_users_have_their_own_budget(settings, anonymous, writer):
    settings.API_THROTTLE_RATES = {"anon": "2/minute", "user": "4/minute"}
    assert [anonymous.get("/api/books/").status_code for _ in range(3)] == [200, 200, 429]
    assert [writer.get("/api/books/").status_code for _ in range(5)] == [200, 200, 200, 200, 429]


def test_each_anonymous_address_has_its_own_budget(settings):
    """Anonymous clients count by address only: the user budget does not
    apply to them (it would be one budget shared by every anonymous client)."""
    settings.API_THROTTLE_RATES = {"anon": "2/minute", "user": "2/minute"}
    first, second = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")
    assert [first.get("/api/books/").status_code for _ in range(2)] == [200, 200]
    assert [second.get("/api/books/").status_code for _ in range(2)] == [200, 200]
    assert first.get("/api/books/").status_code == 429
    assert sorted(ThrottleWindow.objects.values_list("key", "hits")) == [("anon:10.0.0.1", 3), ("anon:10.0.0.2", 2)]


def test_counters_are_shared_through_the_database(settings):
    """Two clients of one address count against one budget, as two replicas would."""
    settings.API_THROTTLE_RATES = {"anon": "2/minute", "user": None}
    first, second = APIClient(), APIClient()
    assert first.get("/api/books/").status_code == 200
    assert second.get("/api/books/").status_code == 200
    assert first.get("/api/books/").status_code == 429
    (window,) = ThrottleWindow.objects.all()
    assert window.key == "anon:127.0.0.1" and window.hits == 3


def test_one_statement_per_throttled_request(settings, anonymous):
    from django.test.utils import CaptureQueriesContext

    def queries_of_a_list_request() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert anonymous.get("/api/books/").status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    unthrottled = queries_of_a_list_request()
    settings.API_THROTTLE_RATES = {"anon": "100/minute", "user": None}
    queries_of_a_list_request()  # opens the window (and forgets older ones)
    throttled = queries_of_a_list_request()
    assert len(throttled) == len(unthrottled) + 1
    assert throttled[0].startswith('INSERT INTO "throttling_throttlewindow"')


def test_a_new_window_forgets_the_old_ones(settings, anonymous):
    settings.API_THROTTLE_RATES = {"anon": "100/minute", "user": None}
    ThrottleWindow.objects.create(key="anon:127.0.0.1", window_start=60, hits=99)
    ThrottleWindow.objects.create(key="anon:10.9.9.9", window_start=60, hits=5)  # another client stays
    anonymous.get("/api/books/")
    assert sorted(ThrottleWindow.objects.values_list("key", "hits")) == [("anon:10.9.9.9", 5), ("anon:127.0.0.1", 1)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_are_counted_exactly(settings):
    """No lost updates: N concurrent requests make exactly N hits and at most `limit` pass."""
    settings.API_THROTTLE_RATES = {"anon": "10/hour", "user": None}
    statuses, lock, start = [], threading.Lock(), threading.Barrier(16)

    def request():
        try:
            client = APIClient()
            start.wait(timeout=10)
            status = client.get("/api/books/").status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200] * 10 + [429] * 6
    assert ThrottleWindow.objects.get().hits == 16


def test_throttling_off(settings, anonymous):
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    assert {anonymous.get("/api/books/").status_code for _ in range(20)} == {200}


def test_probes_and_website_are_not_throttled(settings, client):
    settings.API_THROTTLE_RATES = {"anon": "1/minute", "user": None}
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}
    assert {client.get("/").status_code for _ in range(5)} == {200}


def test_a_throttle_must_say_which_client_it_counts(rf):
    """A subclass without client_key fails loudly instead of never throttling."""
    with pytest.raises(NotImplementedError):
        WindowThrottle().client_key(rf.get("/api/books/"))


def test_invalid_tokens_count_against_the_address(settings, anonymous):
    """DRF authenticates before it throttles: without counting, 40 bad tokens
    all got 401 while the same address's reads were already at 429."""
    settings.API_THROTTLE_RATES = {"anon": "5/minute", "user": "100/minute"}
    anonymous.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    statuses = [anonymous.get("/api/books/").status_code for _ in range(40)]
    assert statuses == [401] * 5 + [429] * 35
    response = anonymous.post("/api/books/", {"title": "x"}, format="json")
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")
    assert ThrottleWindow.objects.get().key == "anon:127.0.0.1"


def test_refused_credentials_and_reads_share_the_address_budget(settings, anonymous, writer):
    settings.API_THROTTLE_RATES = {"anon": "3/minute", "user": "100/minute"}
    assert [anonymous.get("/api/books/").status_code for _ in range(2)] == [200, 200]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert [bad.get("/api/books/").status_code for _ in range(2)] == [401, 429]
    assert anonymous.get("/api/books/").status_code == 429
    # An anonymous write (no credentials at all) is refused for them too: counted, then 429.
    assert anonymous.post("/api/books/", {"title": "x"}, format="json").status_code == 429
    # Users are counted by their own budget, not by the address.
    assert writer.get("/api/books/").status_code == 200


def test_a_malformed_authorization_header_is_counted_too(settings):
    settings.API_THROTTLE_RATES = {"anon": "2/minute", "user": None}
    client = APIClient(REMOTE_ADDR="10.0.0.7")
    client.credentials(HTTP_AUTHORIZATION="Token two words")
    assert [client.delete("/api/books/1/").status_code for _ in range(3)] == [401, 401, 429]
    assert ThrottleWindow.objects.get().key == "anon:10.0.0.7"


def test_refused_credentials_are_not_counted_when_throttling_is_off(settings, anonymous):
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    anonymous.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert {anonymous.get("/api/books/").status_code for _ in range(10)} == {401}
    assert not ThrottleWindow.objects.exists()
