"""docker:index/volume:Volume.

Follows terraform-provider-docker v4.5.0 internal/provider/resource_docker_volume.go: every
attribute is ForceNew (a change replaces the volume); resourceDockerVolumeCreate (VolumeCreate,
local driver by default: Docker hands back an existing volume of that name, which is how data
survives a replacement or a state that lost it) and resourceDockerVolumeDelete (2 s, then
VolumeRemove with force, retried while the volume "is in use", for 30 s)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import docker.errors

from ..engine import ResourceType
from ..state import Entry
from ..values import RealizeError, autoname, check_keys, label_map, plain

if TYPE_CHECKING:
    from ..realizer import Realizer

log = logging.getLogger("live.realizer")

VOLUME_KEYS = {"name", "driver", "driverOpts", "labels"}

#: resource_docker_volume.go: volumeReadRefreshDelay, volumeReadRefreshTimeout,
#: volumeReadRefreshWaitBeforeRefreshes.
REMOVE_DELAY, REMOVE_TIMEOUT, REMOVE_INTERVAL = 2.0, 30.0, 5.0


def create(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("Volume", name, i, VOLUME_KEYS)
    vol_name = i.get("name") or autoname(name)
    try:
        vol = r.api.create_volume(
            vol_name,
            driver=i.get("driver") or "local",
            driver_opts=i.get("driverOpts"),
            labels=r.labels(urn, label_map(i.get("labels"), f"Volume {name}")),
        )
    except docker.errors.APIError as e:
        raise RealizeError(f"Volume {name!r}: Unable to create volume: {e.explanation or e}") from None
    if (vol.get("Labels") or {}).get("org.library.live-urn") != urn:
        log.info("volume %s: existed already, Docker handed it back (labels %s)", vol_name, vol.get("Labels"))
    r.created.append(("volume", vol["Name"], vol["Name"]))
    return vol["Name"], {
        **inputs,
        "name": vol["Name"],
        "driver": vol["Driver"],
        "mountpoint": vol.get("Mountpoint", ""),
    }


def delete(r: Realizer, entry: Entry) -> None:
    """resourceDockerVolumeDelete / resourceDockerVolumeRemoveRefreshFunc."""
    time.sleep(REMOVE_DELAY)
    deadline = time.monotonic() + REMOVE_TIMEOUT
    while True:
        try:
            r.api.remove_volume(entry["id"], force=True)
            log.info("deleted volume %s", entry["id"])
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as e:
            if "volume is in use" not in str(e) or time.monotonic() + REMOVE_INTERVAL > deadline:
                raise RealizeError(
                    f"Volume {entry['name']!r}: Error response from daemon: {e.explanation or e}"
                ) from None
        time.sleep(REMOVE_INTERVAL)


TYPE = ResourceType(create=create, delete=delete)
