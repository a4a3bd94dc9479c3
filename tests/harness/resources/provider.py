"""pulumi:providers:docker and pulumi:providers:random: explicit provider resources.
Only this harness's own engine is accepted as a Docker host (no remote hosts). A changed
configuration is an update (the bridge's DiffConfig replaces a provider only for a changed
host, which this harness never sees); deleting a provider does nothing."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..engine import Diff, ResourceType, input_diff
from ..state import Entry
from ..values import RealizeError, check_keys, plain

if TYPE_CHECKING:
    from ..realizer import Realizer

PROVIDER_KEYS = {"host", "version", "registryAuth", "disableDockerDaemonCheck"}


def realize(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("provider", name, i, PROVIDER_KEYS)
    host = i.get("host")
    if host and host not in ("unix:///var/run/docker.sock", os.environ.get("DOCKER_HOST")):
        raise RealizeError(f"provider {name!r}: host {host!r} is not this harness's engine")
    return f"{name}-provider", dict(inputs)


def diff(r: Realizer, name: str, old: Entry, news: dict) -> Diff:
    return Diff(input_diff(old, news))


def update(r: Realizer, name: str, old: Entry, news: dict, urn: str) -> dict:
    return realize(r, name, news, urn)[1]


TYPE = ResourceType(create=realize, diff=diff, update=update)
