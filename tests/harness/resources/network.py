"""docker:index/network:Network and the getNetwork invoke.

Follows terraform-provider-docker internal/provider/resource_docker_network_funcs.go:
resourceDockerNetworkCreate (bridge driver by default, IPAM pools) and resourceDockerNetworkRead
(the ipamConfigs the engine assigned are read back). A network of the same URN from an earlier
deployment of the run is kept, as an unchanged resource is."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import docker
import docker.errors

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


def realize(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("Network", name, i, NETWORK_KEYS)
    existing = r.find("network", urn)
    if existing:
        net = r.api.inspect_network(existing[0]["Id"])
        log.info("network %s: kept from an earlier deployment of this run", net["Name"])
    else:
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


def _create(r: Realizer, name: str, i: dict[str, Any], urn: str) -> dict:
    net_name = i.get("name") or autoname(name)
    if r.api.networks(names=[net_name]) and any(n["Name"] == net_name for n in r.api.networks(names=[net_name])):
        raise RealizeError(f"Network {name!r}: a network named {net_name!r} already exists (not from this run)")
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
