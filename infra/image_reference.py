"""Docker image references and ids, checked before Docker sees them.

The grammar follows github.com/distribution/reference (reference.go): enough
to reject a typo in a stack file before a deployment is half-way through.
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
