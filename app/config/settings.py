"""Settings of the library service, all from the environment.

Production is the default: DEBUG is off, a secret key must be given, HTTPS
hardening is on. A host that serves plain HTTP (a local deployment) or sits
behind a TLS-terminating proxy switches the HTTPS settings by environment.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from core.env import env_bool, env_int, env_list, env_origin, env_str
from throttling.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off: "
            "set it to a long random value (at least 50 characters)"
        )
    # Debug only: a fresh key per process, never one written in the code.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # trigram indexes (OpClass) for the API's search
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "books",
    "throttling",
    "core",
    "axes",
]

MIDDLEWARE = [
    # First: probes answer before host validation, sessions or the database.
    "core.health.HealthProbeMiddleware",
    # A database that does not answer: 503 + Retry-After from any view, not a 500.
    "core.unavailable.DatabaseUnavailableMiddleware",
    "core.limits.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Absolute links from API_PUBLIC_ORIGIN, not from the request's Host.
    "core.origin.PublicOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes requires: turns a locked-out login into throttling.lockout's 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL only, from DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_URL is required, e.g. postgres://user:password@host:5432/dbname")
try:
    _database = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {error}") from None
if _database["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
_database.setdefault("OPTIONS", {})
# Bounded waits: a database that is down must give a quick 503, never a hung worker.
_database["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1))
_statement_timeout_ms = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 30000, minimum=0)
if _statement_timeout_ms:
    _database["OPTIONS"].setdefault("options", f"-c statement_timeout={_statement_timeout_ms}")
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins: after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one
# username, its logins are refused (429) without hashing for
# ADMIN_LOGIN_LOCKOUT_SECONDS (throttling/lockout.py; docs/app.md, "Failed logins").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("ADMIN_LOGIN_LOCKOUT_SECONDS", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]  # per account; the proxy limits per address
# axes.W006 asks for ip_address too: the per-address limit on the login is
# nginx's (limit_req), which refuses before any worker or hash is spent.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# A fixed window: failures during a lockout do not extend it, so the owner can
# log in once it ends even while guessing goes on (guessers get N tries a window).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "throttling.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "throttling.lockout.lockout_response"
# No banner in every process's log at start-up (logs are one JSON line per event).
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: collected at image build time, served by whitenoise.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Request size limits. The API's JSON parser enforces the body limit itself
# (DRF reads the stream, which Django's own limit does not cover).
REQUEST_BODY_MAX_BYTES = env_int("DJANGO_REQUEST_BODY_MAX_BYTES", 64 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# HTTPS. On by default; a plain-HTTP host sets DJANGO_HTTPS=false, and a host
# behind a TLS-terminating proxy sets DJANGO_SECURE_PROXY_SSL_HEADER=true so
# that X-Forwarded-Proto from that proxy counts.
HTTPS = env_bool("DJANGO_HTTPS", True)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Authorization: Bearer <key>` or `Token <key>`.
        "books.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # JSON only: the schema declares JSON bodies, and generated clients break
    # on bodies declared in several media types. The browsable API's raw-data
    # form sends JSON too.
    "DEFAULT_PARSER_CLASSES": ["books.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "books.api.schema.LibraryAutoSchema",
    "EXCEPTION_HANDLER": "books.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["throttling.throttles.AnonThrottle", "throttling.throttles.UserThrottle"],
    # Behind a reverse proxy, the client address is the proxy's X-Forwarded-For entry.
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0, minimum=0) or None,
}
# "off" (or empty) disables a kind of throttling, e.g. for benchmarks.
API_THROTTLE_RATES = {}
for _scope, _default in (("anon", "600/minute"), ("user", "3000/minute")):
    _rate = env_str(f"API_THROTTLE_{_scope.upper()}", _default)
    try:
        API_THROTTLE_RATES[_scope] = _rate if parse_rate(_rate) else None
    except ValueError as error:
        raise ImproperlyConfigured(f"API_THROTTLE_{_scope.upper()}={error}") from None

# The HTML browsable API: off in production (the schema does not declare it),
# on with debug unless set (books/api/negotiation.py).
API_BROWSABLE = env_bool("API_BROWSABLE", DEBUG)
# The public origin (scheme://host[:port]) that absolute links in answers
# (pagination, the API root) are built from, instead of the request's Host
# header: core/origin.py. Empty: from the request.
API_PUBLIC_ORIGIN = env_origin("API_PUBLIC_ORIGIN")

# Pagination and filters are the book API's own (books/api/views.py declares them).
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 20, minimum=1)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100, minimum=1)
# Unfiltered lists of a table larger than this report PostgreSQL's row estimate
# as `count` instead of a COUNT(*) scan (docs/app.md#counting-a-large-table says why).
API_COUNT_ESTIMATE_THRESHOLD = env_int("API_COUNT_ESTIMATE_THRESHOLD", 100_000, minimum=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Library API",
    "DESCRIPTION": (
        "Books of the library: anyone may read, authenticated users may write "
        "(`Authorization: Bearer <token>`; `Token <token>` works too).\n\n"
        "Request and response bodies are JSON; every error is a JSON object. A method a path does "
        "not list is answered 405 with an `Allow` header naming the ones it does."
    ),
    "VERSION": "1.0.0",
    "CONTACT": {"name": "The library service's maintainers"},
    "LICENSE": {"name": "Proprietary"},
    # Relative to the schema's own address unless the public origin is configured.
    "SERVERS": [{"url": API_PUBLIC_ORIGIN or "/", "description": "This service"}],
    "TAGS": [{"name": "books", "description": "The library's books: list, search, create, change, delete."}],
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components (BookRequest): no read-only id,
    # and minLength 1 where the API refuses blank strings.
    "COMPONENT_SPLIT_REQUEST": True,
    # Docs assets come from the app itself (drf-spectacular-sidecar): no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Logs: one JSON object a line on stdout.
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "filters": {"one_line_warning": {"()": "core.logging.OneLineWarning"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        # Suspicious requests (a forged Host, ...) are a client's doing: one short
        # warning line each, no traceback, so that a flood of them cannot fill the logs.
        "security": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
            "filters": ["one_line_warning"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # Client errors (4xx) are answered, not faults: log them quietly.
        "django.request": {"handlers": ["stdout"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["security"], "level": "WARNING", "propagate": False},
    },
}
