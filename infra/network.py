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
        self.register_outputs({"name": self.name})
