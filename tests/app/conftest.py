import pytest
from django.contrib.auth import get_user_model
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
