"""Parsers of stack config values: a string in, a typed value out, or `Invalid`.

Each message says what the key accepts, so that `ConfigError` (settings.py)
can prefix it with the key and list every problem of a stack at once.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from image_reference import IMAGE_ID, is_canonical_repository, is_pinned, parse_image_reference, registry_host

TRUE, FALSE = "true", "false"
DOCKER_HOST_SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")
#: DRF's rate periods (the app's API_THROTTLE_ANON/USER), and the value that turns a throttle off.
THROTTLE_PERIODS = ("second", "minute", "hour", "day")
THROTTLE_OFF = "off"
#: Platforms the service image can be built for (`platform`): Debian bookworm's, on which the base images exist.
PLATFORMS = ("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/386", "linux/ppc64le", "linux/s390x")
#: A host name or Django ALLOWED_HOSTS pattern: "*", ".example.com", "a.b", "[::1]".
_ALLOWED_HOST = re.compile(r"^(?:\*|\.?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$")
_PEM_KEY = re.compile(r"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+-----END \1-----", re.S)


class Invalid(ValueError):
    """A value a key does not accept; the message says what it accepts."""


@dataclass(frozen=True)
class Context:
    """What a parser may need beyond the value: whether the stack is a
    production one (None: unknown, `production` itself is invalid) and which
    keys are secrets (None: not known, e.g. a stack file read by a test)."""

    key: str
    production: bool | None = None
    secret_keys: Sequence[str] | None = None


Parser = Callable[[str, Context], Any]


def integer(lo: int, hi: int) -> Parser:
    def parse(raw: str, ctx: Context) -> int:
        text = raw.strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise Invalid(f"must be an integer from {lo} to {hi}, got {raw!r}")
        value = int(text)
        if not lo <= value <= hi:
            raise Invalid(f"must be an integer from {lo} to {hi}, got {value}")
        return value

    return parse


def boolean(raw: str, ctx: Context) -> bool:
    text = raw.strip().lower()
    if text in (TRUE, FALSE):
        return text == TRUE
    raise Invalid(f"must be true or false, got {raw!r}")


def cpus(lo: float, hi: float) -> Parser:
    """A decimal number of CPUs, greater than `lo` and at most `hi`."""

    def parse(raw: str, ctx: Context) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not lo < value <= hi:
            raise Invalid(f"must be a number greater than {lo:g} and at most {hi:g} (e.g. 0.5, 1, 2.5), got {raw!r}")
        return value

    return parse


def address(raw: str, ctx: Context) -> str:
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        raise Invalid(
            f"must be an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0, ::1 (not a host name), got {raw!r}"
        ) from None


def image(raw: str, ctx: Context) -> str:
    """An image reference; pinned (a tag other than latest, or a digest) in production."""
    text = raw.strip()
    if parse_image_reference(text) is None:
        raise Invalid(
            "must be a Docker image reference like name:tag, registry.example.com/team/name:tag "
            f"or name@sha256:<digest>, got {raw!r}"
        )
    if ctx.production and not is_pinned(text):
        raise Invalid(
            "production stacks need a pinned image (an explicit tag other than 'latest', or a @sha256 digest), "
            f"got {raw!r}"
        )
    return text


def optional_image(raw: str, ctx: Context) -> str | None:
    """Empty (None), an image id, or an image reference as `image` takes it."""
    text = raw.strip()
    if not text:
        return None
    if IMAGE_ID.match(text):
        return text
    return image(text, ctx)


def hosts(raw: str, ctx: Context) -> tuple[str, ...]:
    entries = [entry.strip() for entry in raw.split(",")]
    bad = [entry for entry in entries if not entry or not _ALLOWED_HOST.match(entry)]
    if bad:
        raise Invalid(
            "must be a comma-separated list of host names (e.g. localhost,127.0.0.1,.example.com or *), "
            f"with no empty entries, schemes or ports; invalid: {', '.join(repr(b) for b in bad)}"
        )
    return tuple(dict.fromkeys(entries))  # de-duplicated, order kept


def rate(raw: str, ctx: Context) -> str:
    """A request rate as the app takes it: "N/second|minute|hour|day" (N >= 1) or "off"."""
    text = raw.strip()
    if text.lower() == THROTTLE_OFF:
        return THROTTLE_OFF
    periods = "|".join(THROTTLE_PERIODS)
    match = re.fullmatch(rf"([0-9]+)/({periods})", text)
    if not match or int(match.group(1)) < 1:
        raise Invalid(
            f"must be a request rate N/{periods} with N >= 1 (e.g. 600/minute) or {THROTTLE_OFF}, got {raw!r}"
        )
    return f"{int(match.group(1))}/{match.group(2)}"


def pem_certificate(raw: str, ctx: Context) -> str | None:
    """Empty (None), or a PEM certificate chain (newline-terminated)."""
    text = raw.strip()
    if not text:
        return None
    if "-----BEGIN CERTIFICATE-----" not in text or "-----END CERTIFICATE-----" not in text:
        raise Invalid(
            "must be a PEM certificate (chain) with -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----"
        )
    return text + "\n"


def pem_private_key(raw: str, ctx: Context) -> str | None:
    """Empty (None), or an unencrypted PEM private key set as a secret. The
    messages never quote the key."""
    text = raw.strip()
    if not text:
        return None
    if not _PEM_KEY.search(text):
        raise Invalid("must be a PEM private key (-----BEGIN PRIVATE KEY----- ...)")
    if "ENCRYPTED" in text:
        raise Invalid("must not be passphrase-protected (nginx would ask for the passphrase)")
    _require_secret(ctx, "the private key", " < key.pem")
    return text + "\n"


def _require_secret(ctx: Context, what: str, stdin: str = "") -> None:
    """Refuse a value not set as a secret (unless which keys are secret is not known); the message
    says how to set it as one and never quotes the value."""
    if ctx.secret_keys is not None and ctx.key not in ctx.secret_keys:
        raise Invalid(
            f"must be a secret, or {what} sits in plain text in the stack file: "
            f"`pulumi config set --secret {ctx.key}{stdin}`"
        )


def optional_text(raw: str, ctx: Context) -> str | None:
    """Empty (None), or the text without surrounding blanks."""
    return raw.strip() or None


def secret_text(raw: str, ctx: Context) -> str | None:
    """Empty (None), or a value set as a secret (a password, a token), kept as given."""
    if not raw.strip():
        return None
    _require_secret(ctx, "it")
    return raw


def image_repository(raw: str, ctx: Context) -> str | None:
    """Empty (None: no registry), or a repository to push to, named as pulumi-docker needs it to push:
    its registry host first (provider/provider.go Check, provider/image.go getRegistryAddrFromImage,
    both through distribution/reference's ParseNamed), without a tag or digest (the stack is the tag)."""
    text = raw.strip()
    if not text:
        return None
    parsed = parse_image_reference(text)
    if parsed is None:
        why = "a Docker repository name"
    elif parsed[1:] != (None, None):
        why = "no tag or digest: the stack's name is the tag"
    elif registry_host(text) is None:
        why = "named with its registry host first"
    elif not is_canonical_repository(text):
        why = "Docker Hub's as docker.io/<user or organisation>/<name>"
    else:
        return text
    raise Invalid(
        "must be empty (no registry) or a repository such as registry.example.com:5000/team/library-api "
        f"({why}), got {raw!r}"
    )


def docker_host(raw: str, ctx: Context) -> str:
    text = raw.strip()
    scheme = next((s for s in DOCKER_HOST_SCHEMES if text.startswith(s)), None)
    if scheme is None or len(text) == len(scheme):
        raise Invalid(
            f"must start with one of {', '.join(DOCKER_HOST_SCHEMES)} and name a socket or host "
            f"(e.g. unix:///var/run/docker.sock, ssh://deploy@host), got {raw!r}"
        )
    return text


def platform(raw: str, ctx: Context) -> str | None:
    """Empty (None: the Docker engine's own platform), or one of PLATFORMS."""
    text = raw.strip()
    if not text:
        return None
    if text not in PLATFORMS:
        raise Invalid(
            f"must be empty (build for the Docker engine's own platform) or one of {', '.join(PLATFORMS)}, got {raw!r}"
        )
    return text


_ORIGIN = re.compile(r"^(https?)://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?/?$")


def origin(raw: str, ctx: Context) -> str | None:
    """Empty (None: derived from the other keys), or an origin: http(s)://host[:port], no path."""
    text = raw.strip()
    if not text:
        return None
    match = _ORIGIN.match(text)
    if not match or (match.group(3) and not 1 <= int(match.group(3)) <= 65535):
        raise Invalid(f"must be empty or an origin such as https://library.example.com[:port] (no path), got {raw!r}")
    return text.rstrip("/")
