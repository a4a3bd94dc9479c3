"""Throttling: 429 with Retry-After, per client kind, configured by environment."""
import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


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


def test_counters_are_shared_through_the_database(settings):
    """Two clients of one address count against one budget, as two replicas would."""
    settings.API_THROTTLE_RATES = {"anon": "2/minute", "user": None}
    first, second = APIClient(), APIClient()
    assert first.get("/api/books/").status_code == 200
    assert second.get("/api/books/").status_code == 200
    assert first.get("/api/books/").status_code == 429
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM api_throttle_cache")
        assert cursor.fetchone()[0] >= 1


def test_throttling_off(settings, anonymous):
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    assert {anonymous.get("/api/books/").status_code for _ in range(20)} == {200}


def test_probes_and_website_are_not_throttled(settings, client):
    settings.API_THROTTLE_RATES = {"anon": "1/minute", "user": None}
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}
    assert {client.get("/").status_code for _ in range(5)} == {200}
