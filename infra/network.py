"""The stack's private bridge network: only its containers reach the database
and the API replicas, and stacks sharing a host stay apart (docs/deploy.md,
"What gets deployed")."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
from labels import StackNames


class StackNetwork(pulumi.ComponentResource):
    """A user-defined bridge network named `<project>-<stack>`."""

    network: docker.Network
    name: pulumi.Output[str]
    #: The IPv4 subnet Docker gave the network (e.g. 172.18.0.0/16): the
    #: only addresses that can reach the API replicas, which publish no port.
    subnet: pulumi.Output[str]

    def __init__(self, name: str, *, names: StackNames, opts: pulumi.ResourceOptions | None = None):
        super().__init__("library:infra:StackNetwork", name, None, opts)
        self.network = docker.Network(
            f"{name}-bridge",
            name=names.prefix,
            driver="bridge",
            labels=names.labels("network"),
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
