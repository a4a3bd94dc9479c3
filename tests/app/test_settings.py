"""Settings from the environment: production hardening and clear start-up errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "app"
PRODUCTION = {
    "DJANGO_SECRET_KEY": "p8#vZ2!qL0w@xN5$kR7^tY3&uI9*oP1(aS4)dF6-gH8_jK2+lZ0=cX5bV7nM3",
    "DJANGO_ALLOWED_HOSTS": "library.example.com",
    "DATABASE_URL": "postgres://library:secret@db.example.com:5432/library",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=APP_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_behind_a_tls_proxy_is_clean():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECURE_PROXY_SSL_HEADER="true", **PRODUCTION)
    assert result.returncode == 0, result.stderr


def test_plain_http_settings_are_reported_by_check_deploy():
    """Switching HTTPS off is possible, and check --deploy says what that gives up."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_HTTPS="false", **PRODUCTION)
    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT


def test_missing_secret_key_stops_start_up_with_a_clear_message():
    env = {key: value for key, value in PRODUCTION.items() if key != "DJANGO_SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off" in result.stderr


def test_debug_without_a_secret_key_gets_a_random_one():
    env = {key: value for key, value in PRODUCTION.items() if key != "DJANGO_SECRET_KEY"}
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = manage("shell", "-c", code, DJANGO_DEBUG="true", **env)
    second = manage("shell", "-c", code, DJANGO_DEBUG="true", **env)
    assert first.returncode == 0, first.stderr
    first_key, second_key = (run.stdout.strip().splitlines()[-1] for run in (first, second))
    assert len(first_key) >= 50 and first_key != second_key


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL is required"),
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL must point at PostgreSQL"),
        ({"DATABASE_URL": "nonsense://"}, "DATABASE_URL is not a valid database URL"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG='maybe' is not a boolean"),
        ({"DJANGO_CONN_MAX_AGE": "soon"}, "DJANGO_CONN_MAX_AGE='soon' is not an integer"),
        ({"DATABASE_CONNECT_TIMEOUT": "0"}, "DATABASE_CONNECT_TIMEOUT=0 must be at least 1"),
        ({"API_THROTTLE_ANON": "lots"}, "API_THROTTLE_ANON='lots' is not a rate"),
        ({"API_THROTTLE_USER": "10/fortnight"}, "API_THROTTLE_USER='10/fortnight' is not a rate"),
        ({"API_THROTTLE_ANON": "²/minute"}, "API_THROTTLE_ANON='²/minute' is not a rate"),
        ({"API_PUBLIC_ORIGIN": "library.example.com"}, "API_PUBLIC_ORIGIN='library.example.com' is not an origin"),
        ({"API_PUBLIC_ORIGIN": "ftp://example.com"}, "API_PUBLIC_ORIGIN='ftp://example.com' is not an origin"),
        ({"API_PUBLIC_ORIGIN": "https://example.com/api"}, "is not an origin"),
        ({"API_PUBLIC_ORIGIN": "https://example.com:99999"}, "is not an origin"),
        ({"API_PUBLIC_ORIGIN": "https://u:p@example.com"}, "is not an origin"),
        ({"API_BROWSABLE": "perhaps"}, "API_BROWSABLE='perhaps' is not a boolean"),
        ({"ADMIN_LOGIN_FAILURE_LIMIT": "0"}, "ADMIN_LOGIN_FAILURE_LIMIT=0 must be at least 1"),
        ({"ADMIN_LOGIN_LOCKOUT_SECONDS": "a while"}, "ADMIN_LOGIN_LOCKOUT_SECONDS='a while' is not an integer"),
    ],
)
def test_bad_environment_values_are_named(env, message):
    result = manage("check", **{**PRODUCTION, **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_hosts_and_origins_are_comma_separated_lists():
    code = (
        "from django.conf import settings; import json; "
        "print(json.dumps([settings.ALLOWED_HOSTS, settings.CSRF_TRUSTED_ORIGINS]))"
    )
    result = manage(
        "shell",
        "-c",
        code,
        **{
            **PRODUCTION,
            "DJANGO_ALLOWED_HOSTS": "a.example, b.example,,",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://a.example,https://b.example",
        },
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        ["a.example", "b.example"],
        ["https://a.example", "https://b.example"],
    ]


def test_logs_are_json_lines():
    code = "import logging; logging.getLogger('books').warning('shelf %s is full', 7, extra={'shelf': 7})"
    result = manage("shell", "-c", code, **PRODUCTION)
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["level"] == "WARNING" and line["message"] == "shelf 7 is full" and line["shelf"] == 7
    assert line["logger"] == "books" and "time" in line


def test_page_sizes_come_from_the_environment():
    """API_PAGE_SIZE and API_MAX_PAGE_SIZE reach the book API's pagination."""
    code = (
        "from books.api.views import BookViewSet; pages = BookViewSet.pagination_class(); "
        "print(pages.page_size, pages.max_page_size)"
    )
    result = manage("shell", "-c", code, **{**PRODUCTION, "API_PAGE_SIZE": "7", "API_MAX_PAGE_SIZE": "30"})
    assert result.stdout.strip().splitlines()[-1] == "7 30", result.stderr


def test_public_origin_and_browsable_api_from_the_environment():
    """API_PUBLIC_ORIGIN (trailing slash dropped) is also the schema's server;
    the browsable API is off in production and on with debug."""
    code = (
        "from django.conf import settings as s; import json; "
        "print(json.dumps([s.API_PUBLIC_ORIGIN, s.SPECTACULAR_SETTINGS['SERVERS'][0]['url'], s.API_BROWSABLE]))"
    )
    configured = manage("shell", "-c", code, API_PUBLIC_ORIGIN="https://library.example.com:8443/", **PRODUCTION)
    assert json.loads(configured.stdout.strip().splitlines()[-1]) == [
        "https://library.example.com:8443",
        "https://library.example.com:8443",
        False,
    ], configured.stderr
    debug = manage("shell", "-c", code, DJANGO_DEBUG="true", **PRODUCTION)
    assert json.loads(debug.stdout.strip().splitlines()[-1]) == ["", "/", True], debug.stderr


@pytest.mark.parametrize("host", ["evil.example", "evil.example:1", "x" * 5000 + ".example"])
def test_a_forged_host_logs_one_short_warning_line(host):
    """Django logs a SuspiciousOperation as an ERROR with a traceback: an
    attacker could fill the logs with forged Host headers."""
    code = (
        "from django.test import Client; "
        f"response = Client().get('/api/books/', HTTP_HOST={host!r}); print('status', response.status_code)"
    )
    result = manage("shell", "-c", code, **PRODUCTION)
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "status 400", result.stdout[-2000:] + result.stderr[-2000:]
    logged = [line for line in lines[:-1] if line.startswith("{")]  # the shell prints a line of its own
    assert len(logged) == 1 and "Traceback" not in result.stdout, lines
    entry = json.loads(logged[0])
    assert entry["level"] == "WARNING" and entry["logger"] == "django.security.DisallowedHost"
    assert "exception" not in entry
    assert entry["message"].startswith("Invalid HTTP_HOST header") and len(logged[0]) < 600


def test_the_login_lockout_comes_from_the_environment():
    """ADMIN_LOGIN_FAILURE_LIMIT and ADMIN_LOGIN_LOCKOUT_SECONDS reach django-axes."""
    code = "from axes.conf import settings as s; print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds())"
    env = {"ADMIN_LOGIN_FAILURE_LIMIT": "4", "ADMIN_LOGIN_LOCKOUT_SECONDS": "120"}
    result = manage("shell", "-c", code, **{**PRODUCTION, **env})
    assert result.stdout.strip().splitlines()[-1] == "4 120.0", result.stderr
    result = manage("shell", "-c", code, **PRODUCTION)
    assert result.stdout.strip().splitlines()[-1] == "5 900.0", result.stderr
