"""docker:index/volume:Volume.

Follows terraform-provider-docker internal/provider/resource_docker_volume.go:
resourceDockerVolumeCreate (local driver by default). An existing volume of that name is
reused, not recreated: that is how a redeploy keeps the data."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import docker.errors

from ..values import autoname, check_keys, label_map, plain

if TYPE_CHECKING:
    from ..realizer import Realizer

log = logging.getLogger("live.realizer")

VOLUME_KEYS = {"name", "driver", "driverOpts", "labels"}


def realize(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("Volume", name, i, VOLUME_KEYS)
    vol_name = i.get("name")
    if not vol_name:
        existing = r.find("volume", urn)
        vol_name = existing[0]["Name"] if existing else autoname(name)
    try:
        vol = r.api.inspect_volume(vol_name)
        # Reusing the volume that carries the data is how a redeploy keeps it.
        log.info("volume %s: exists, reused (labels %s)", vol_name, vol.get("Labels"))
    except docker.errors.NotFound:
        vol = r.api.create_volume(
            vol_name,
            driver=i.get("driver") or "local",
            driver_opts=i.get("driverOpts"),
            labels=r.labels(urn, label_map(i.get("labels"), f"Volume {name}")),
        )
        r.created.append(("volume", vol["Name"], vol["Name"]))
    return vol["Name"], {
        **inputs,
        "name": vol["Name"],
        "driver": vol["Driver"],
        "mountpoint": vol.get("Mountpoint", ""),
    }
