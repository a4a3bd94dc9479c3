"""Failed admin logins lock the account out (django-axes, configured in
config/settings.py; the answer is app/throttling/lockout.py's). Each wrong
password costs a password hash; a locked account's attempts cost none."""

import statistics
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-keeper-password"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def keeper(db):
    return get_user_model().objects.create_user("keeper", password=PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def login(password: str, username: str = "keeper", **extra):
    return Client().post(LOGIN, {"username": username, "password": password}, **extra)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_the_account_is_locked_after_the_limit_with_a_clear_429(keeper):
    # Failures 1 and 2 get the form again; the 3rd reaches the limit and is
    # answered 429 already; every attempt after it is refused, the right
    # password included.
    statuses = [login("wrong").status_code for _ in range(2)]
    assert statuses == [200, 200]
    reached = login("wrong")
    refused = login(PASSWORD)
    for response in (reached, refused):
        assert response.status_code == 429
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["Retry-After"] == "900"
        assert response.content.decode().startswith(
            "Too many failed logins for this account: it is locked for 15 minutes."
        )
    from axes.models import AccessAttempt  # here: the module must load where axes is not installed

    (attempt,) = AccessAttempt.objects.all()
    assert attempt.username == "keeper" and attempt.failures_since_start == 3


def test_a_correct_login_after_the_window_works(settings, keeper):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    assert [login("wrong").status_code for _ in range(3)] == [200, 200, 429]
    assert login(PASSWORD).status_code == 429
    time.sleep(2.2)
    assert logged_in(login(PASSWORD))
    # A success forgets the failures: the next wrong password is the first again.
    assert login("wrong").status_code == 200


def test_guessing_during_a_lockout_does_not_extend_it(settings, keeper):
    """A fixed window: the owner can log in when it ends, even while guessing goes on."""
    settings.AXES_COOLOFF_TIME = timedelta(seconds=3)
    assert [login("wrong").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(1.5)
    assert login("wrong").status_code == 429
    time.sleep(1.8)
    assert logged_in(login(PASSWORD))


def test_the_lockout_is_per_account(keeper):
    get_user_model().objects.create_user("curator", password=PASSWORD, is_staff=True)
    assert [login("wrong").status_code for _ in range(3)] == [200, 200, 429]
    assert logged_in(login(PASSWORD, username="curator"))
    # Unknown usernames are counted (and locked) like real ones: no way to tell them apart.
    assert [login("wrong", username="nobody").status_code for _ in range(4)] == [200, 200, 429, 429]


def test_locked_out_attempts_spend_no_password_hashing(keeper):
    """What keeps reads fast under a guessing attack on one account: once it is
    locked, an attempt is refused before the (deliberately slow) hash."""

    def seconds(password: str) -> float:
        start = time.perf_counter()
        login(password)
        return time.perf_counter() - start

    checked = [seconds("wrong") for _ in range(3)]  # the 3rd locks the account
    refused = [seconds("wrong") for _ in range(5)] + [seconds(PASSWORD)]
    assert min(checked) > 0.05, f"the password hasher is too fast to tell: {checked}"
    assert statistics.median(refused) < min(checked) / 4, (checked, refused)


def test_the_record_has_the_forwarded_client_address(settings, keeper):
    """Behind the proxy, axes records the same address the API's throttles count."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    from axes.models import AccessAttempt

    login("wrong", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4")
    assert AccessAttempt.objects.get().ip_address == "198.51.100.4"
