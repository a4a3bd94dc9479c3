"""Docker image references and ids, checked before Docker sees them.

The grammar follows github.com/distribution/reference (reference.go, and
normalize.go for the registry host of a name): enough to reject a typo in a
stack file before a deployment is half-way through.
"""

from __future__ import annotations

import re

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE_REF = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
#: distribution/reference's NameTotalLengthMax.
NAME_MAX_LENGTH = 255
#: An image id as `docker images --no-trunc` and the stack's `image` output show it.
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
#: distribution/reference normalize.go: Docker Hub's domain and its legacy name.
DOCKER_HUB, DOCKER_HUB_LEGACY = "docker.io", "index.docker.io"


def parse_image_reference(ref: str) -> tuple[str, str | None, str | None] | None:
    """(name, tag, digest) of a Docker image reference, or None if malformed."""
    match = _IMAGE_REF.match(ref)
    if not match or len(match.group("name")) > NAME_MAX_LENGTH:
        return None
    return match.group("name"), match.group("tag"), match.group("digest")


def is_pinned(ref: str) -> bool:
    """A digest, or an explicit tag other than `latest` (what production stacks need)."""
    parsed = parse_image_reference(ref)
    if parsed is None:
        return False
    _, tag, digest = parsed
    return digest is not None or (tag is not None and tag != "latest")


def registry_host(name: str) -> str | None:
    """The registry host a repository name starts with, or None when it names none (Docker Hub is
    implied): the first component counts as a host when it has a `.` or `:`, is `localhost` or has
    an upper-case letter (distribution/reference normalize.go, splitDockerDomain)."""
    first, slash, _ = name.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        return first
    return None


def is_canonical_repository(name: str) -> bool:
    """A repository name as distribution/reference's ParseNamed takes it (normalize.go: the name
    equals its normalized form): its registry host first, Docker Hub as `docker.io/<user>/<name>`."""
    host = registry_host(name)
    if host is None or host == DOCKER_HUB_LEGACY:
        return False
    return host != DOCKER_HUB or "/" in name[len(host) + 1 :]
