"""Typed readers for settings that come from the environment.

Every setting of the service comes from the environment (twelve-factor), so a
malformed value must stop the process at start-up with a message naming the
variable, instead of surfacing later as odd behaviour.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of: true, false, 1, 0, yes, no, on, off")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blank entries are dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_origin(name: str) -> str:
    """An origin, `scheme://host[:port]` with scheme http or https and nothing
    after it (a trailing slash is dropped); empty when unset."""
    raw = env_str(name)
    if not raw:
        return ""
    value = raw.removesuffix("/")
    try:
        parts = urlsplit(value)
        valid = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not (parts.path or parts.query or parts.fragment or parts.username or parts.password)
        )
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        valid = False
    if not valid:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not an origin; use scheme://host[:port], e.g. https://library.example.com"
        )
    return value
