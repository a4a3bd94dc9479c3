"""Reading resource properties the way policies see them: inputs under their
wire (camelCase) names, secrets unwrapped, and in a preview values that are
not known yet, which these helpers return as UNKNOWN instead of raising, so
that an unknown value a policy does not need hides no violation
(docs/policy.md, "Previews and unknown values").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy.proxy import UnknownValueError

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"

#: Labels set by the program (infra/labels.py).
COMPONENT_LABEL = "org.library.component"
#: Optional marker a program may put on a volume it keeps on delete (see volumes.py).
RETAIN_LABEL = "org.library.retain"


class _Unknown:
    """A value not known during preview."""

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # never mistaken for a real value in a truth test
        return False


UNKNOWN: Any = _Unknown()


def get(obj: Any, key: Any, default: Any = None) -> Any:
    """obj[key] (mapping or sequence), `default` when missing, UNKNOWN when unknown."""
    if obj is None or obj is UNKNOWN:
        return default if obj is None else UNKNOWN
    try:
        return obj[key]
    except UnknownValueError:
        return UNKNOWN
    except (KeyError, IndexError, TypeError):
        return default


def items(obj: Any) -> list[Any]:
    """The elements of a list property (unknown elements as UNKNOWN); [] when absent."""
    if obj is None or obj is UNKNOWN or isinstance(obj, (str, bytes, Mapping)):
        return []
    result = []
    try:
        length = len(obj)
    except TypeError:
        return []
    for index in range(length):
        result.append(get(obj, index))
    return result


def labels(props: Mapping[str, Any]) -> dict[str, Any]:
    """{label: value} of a container/volume/network (`labels: [{label, value}]`).

    Entries whose name is unknown are left out; unknown values map to UNKNOWN.
    """
    result: dict[str, Any] = {}
    for item in items(get(props, "labels")):
        name = get(item, "label")
        if isinstance(name, str):
            result[name] = get(item, "value")
    return result


def component(props: Mapping[str, Any]) -> Any:
    """The org.library.component label (db, api, migrate, volume, network), or None."""
    return labels(props).get(COMPONENT_LABEL)


def as_bool(value: Any) -> bool | None:
    """True/False from a bool or "true"/"false" (any case); None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
    return None


# ----------------------------------------------------------------- image references

_IMAGE_ID = re.compile(r"^(?:sha256:)?[0-9a-f]{64}$")


def is_image_id(ref: str) -> bool:
    """An image id (sha256:<64 hex> or the bare hex) rather than a reference."""
    return bool(_IMAGE_ID.match(ref.strip()))


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of a reference such as
    registry:5000/team/name:tag@sha256:... (tag/digest None when absent)."""
    text = ref.strip()
    name, _, digest = text.partition("@")
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:  # a colon before the last slash is a registry port
        name, tag = name[:colon], name[colon + 1 :]
    return name, (tag or None), (digest or None)


def is_pinned(ref: str) -> bool:
    """Pinned = a digest (@sha256:...), or an explicit tag other than `latest`."""
    _, tag, digest = split_reference(ref)
    if digest:
        return True
    return tag is not None and tag != "latest"


_POSTGRES = re.compile(r"postgres|postgis", re.IGNORECASE)


def looks_like_postgres(ref: str) -> bool:
    """The repository's last path component names PostgreSQL (postgres,
    postgresql, bitnami/postgresql, registry:5000/db/postgres, postgis/postgis)."""
    if is_image_id(ref):
        return False
    repository, _, _ = split_reference(ref)
    return bool(_POSTGRES.search(repository.rsplit("/", 1)[-1]))
