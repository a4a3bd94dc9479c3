"""The stack's private bridge network.

Why a network of its own: the database publishes no port on the host; it is
reachable only by containers attached to this network, under the alias `db`.
One network per stack keeps stacks that share a host apart.
"""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_docker as docker

from config import Settings
from labels import labels


class StackNetwork(pulumi.ComponentResource):
    """A user-defined bridge network named `<project>-<stack>`."""

    network: docker.Network
    name: pulumi.Output[str]
    #: The IPv4 subnet Docker gave the network (e.g. 172.18.0.0/16): the
    #: only addresses that can reach the API replicas, which publish no port.
    subnet: pulumi.Output[str]

    def __init__(self, name: str, *, settings: Settings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("library:infra:StackNetwork", name, None, opts)
        self.network = docker.Network(
            f"{name}-bridge",
            name=settings.prefix,
            driver="bridge",
            labels=labels(settings, "network"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.network.name
        self.subnet = self.network.ipam_configs.apply(_first_subnet)
        self.register_outputs({"name": self.name, "subnet": self.subnet})


def _first_subnet(configs) -> str:
    """The subnet the provider read back from the engine (IPAM config)."""
    for config in configs or []:
        subnet = config.get("subnet") if isinstance(config, dict) else getattr(config, "subnet", None)
        if subnet:
            return subnet
    raise pulumi.RunError("the stack network reports no IPAM subnet; cannot restrict trusted proxies")
