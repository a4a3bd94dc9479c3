"""Liveness and readiness probes."""

import pytest


def test_healthz_needs_no_database_and_no_allowed_host(client):
    # No django_db mark: any database access here would raise.
    response = client.get("/healthz", HTTP_HOST="not-an-allowed-host.example")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_when_the_database_answers(client):
    response = client.get("/readyz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_json_when_the_database_is_down(client, unreachable_database):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}


@pytest.mark.django_db
def test_healthz_stays_up_when_the_database_is_down(client, unreachable_database):
    assert client.get("/healthz").status_code == 200
