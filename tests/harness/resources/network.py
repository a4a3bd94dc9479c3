"""docker:index/network:Network and the getNetwork invoke.

Follows terraform-provider-docker v4.5.0 internal/provider/resource_docker_network.go (every
attribute is ForceNew: any change replaces the network; no Update) and
resource_docker_network_funcs.go: resourceDockerNetworkCreate (bridge driver by default, IPAM
pools; a taken name fails with Docker's error), resourceDockerNetworkRead (the ipamConfigs the
engine assigned are read back) and resourceDockerNetworkDelete (2 s, then NetworkRemove,
retried while the network "has active endpoints", for 30 s)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import docker
import docker.errors

from ..engine import ResourceType
from ..state import Entry
from ..values import RealizeError, autoname, check_keys, label_map, plain

if TYPE_CHECKING:
    from ..realizer import Realizer

log = logging.getLogger("live.realizer")

NETWORK_KEYS = {
    "name",
    "driver",
    "internal",
    "attachable",
    "ipv6",
    "options",
    "labels",
    "ipamDriver",
    "ipamConfigs",
    "checkDuplicate",
}
NETWORK_IPAM_KEYS = {"subnet", "gateway", "ipRange", "auxAddress"}


def create(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("Network", name, i, NETWORK_KEYS)
    net = _create(r, name, i, urn)
    return net["Id"], {
        **inputs,
        "name": net["Name"],
        "driver": net["Driver"],
        "scope": net.get("Scope", "local"),
        "internal": net.get("Internal", False),
        "attachable": net.get("Attachable", False),
        "ipv6": net.get("EnableIPv6", False),
        "options": net.get("Options") or {},
        # As the provider reads it back: the subnets the engine assigned.
        "ipamConfigs": [
            {
                k: v
                for k, v in (("subnet", c.get("Subnet")), ("gateway", c.get("Gateway")), ("ipRange", c.get("IPRange")))
                if v
            }
            for c in ((net.get("IPAM") or {}).get("Config") or [])
        ],
    }


#: resource_docker_network_funcs.go: networkRemoveRefreshDelay, networkRemoveRefreshTimeout,
#: networkRemoveRefreshWaitBeforeRefreshes.
REMOVE_DELAY, REMOVE_TIMEOUT, REMOVE_INTERVAL = 2.0, 30.0, 5.0


def delete(r: Realizer, entry: Entry) -> None:
    """resourceDockerNetworkDelete / resourceDockerNetworkRemoveRefreshFunc."""
    time.sleep(REMOVE_DELAY)
    deadline = time.monotonic() + REMOVE_TIMEOUT
    while True:
        try:
            r.api.remove_network(entry["id"])
            log.info("deleted network %s", entry.get("outputs", {}).get("name"))
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as e:
            if "has active endpoints" not in str(e) or time.monotonic() + REMOVE_INTERVAL > deadline:
                raise RealizeError(
                    f"Network {entry['name']!r}: Error response from daemon: {e.explanation or e}"
                ) from None
        time.sleep(REMOVE_INTERVAL)


TYPE = ResourceType(create=create, delete=delete)


def _create(r: Realizer, name: str, i: dict[str, Any], urn: str) -> dict:
    net_name = i.get("name") or autoname(name)
    ipam = None
    if i.get("ipamConfigs") or i.get("ipamDriver"):
        pools = []
        for c in i.get("ipamConfigs") or []:
            check_keys("Network", name, c, NETWORK_IPAM_KEYS, "ipamConfigs")
            pools.append(
                docker.types.IPAMPool(
                    subnet=c.get("subnet"),
                    gateway=c.get("gateway"),
                    iprange=c.get("ipRange"),
                    aux_addresses=c.get("auxAddress"),
                )
            )
        ipam = docker.types.IPAMConfig(driver=i.get("ipamDriver") or "default", pool_configs=pools)
    try:
        created = r.api.create_network(
            net_name,
            driver=i.get("driver") or "bridge",
            options=i.get("options"),
            ipam=ipam,
            internal=bool(i.get("internal", False)),
            attachable=bool(i.get("attachable", False)),
            enable_ipv6=bool(i.get("ipv6", False)),
            check_duplicate=True,
            labels=r.labels(urn, label_map(i.get("labels"), f"Network {name}")),
        )
    except docker.errors.APIError as e:
        raise RealizeError(
            f"Network {name!r}: Unable to create network: Error response from daemon: {e.explanation or e}"
        ) from None
    net = r.api.inspect_network(created["Id"])
    r.created.append(("network", net["Name"], net["Id"]))
    return net


def get_network(r: Realizer, token: str, args: dict) -> dict:
    """terraform-provider-docker internal/provider/data_source_docker_network.go (a network by name)."""
    check_keys("invoke", token, args, {"name"})
    try:
        net = r.api.inspect_network(args["name"])
    except docker.errors.NotFound:
        raise RealizeError(f"invoke {token}: no network named {args['name']!r}") from None
    return {
        "id": net["Id"],
        "name": net["Name"],
        "driver": net["Driver"],
        "internal": net.get("Internal", False),
        "scope": net.get("Scope", "local"),
        "options": net.get("Options") or {},
        "ipamConfigs": [],
    }
