import socket

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """The image collects static files at build time; tests use them uncollected."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("librarian", password="a-long-test-password")


@pytest.fixture
def token(user):
    return Token.objects.create(user=user)


@pytest.fixture
def writer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def unreachable_database():
    """Point the connection at a closed loopback port, then restore it.

    What a stopped database looks like from the app: every new connection is
    refused (tests/live/test_faults.py does it for real with a stopped container).
    """
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=closed_port)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
