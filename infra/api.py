"""The API: `apiReplicas` gunicorn containers of the service image.

Why these choices:
- Replica i publishes container port 8000 on bindAddress:hostPort+i. Until a
  reverse proxy sits in front (a later issue), each replica owns a fixed host
  port, so a replacement cannot start before the old container has released
  that port: replicas are delete-before-replace (stated explicitly below,
  although it is the provider's default for containers). Fixed container
  names follow from the same choice. With a proxy, this switches to
  create-before-delete with auto-names and no host ports.
- Each replica waits for its healthcheck (/healthz) to pass (`wait=True`), so
  `pulumi up` ends only when the new code answers.
- Every replica takes the migration's checked result as an input (the label
  org.library.migrated-image): if the migration failed, that input raises and
  no replica is created or replaced (see migrations.py).
- healthcheck and tmpfs are in replace_on_changes: the provider would
  otherwise record a change to them without applying it.
"""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_docker as docker

from app_env import APP_PORT, hardening
from config import Settings
from labels import labels

HEALTHCHECK = [
    "CMD",
    "python",
    "-c",
    "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)",
]
MIGRATED_IMAGE_LABEL = "org.library.migrated-image"
REPLICA_LABEL = "org.library.replica"


class Api(pulumi.ComponentResource):
    """The API replicas."""

    containers: list[docker.Container]
    container_names: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        image_ref: pulumi.Input[str],
        network_name: pulumi.Input[str],
        envs: list[pulumi.Input[str]],
        migrated_image: pulumi.Input[str],
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("library:infra:Api", name, None, opts)
        self.containers = []
        for index, host_port in enumerate(settings.host_ports):
            self.containers.append(
                docker.Container(
                    f"{name}-{index}",
                    name=f"{settings.prefix}-api-{index}",
                    image=image_ref,
                    envs=envs,
                    ports=[
                        docker.ContainerPortArgs(
                            internal=APP_PORT, external=host_port, ip=settings.bind_address, protocol="tcp"
                        )
                    ],
                    networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=["api"])],
                    healthcheck=docker.ContainerHealthcheckArgs(
                        tests=list(HEALTHCHECK),
                        interval="5s",
                        timeout="5s",
                        retries=3,
                        start_period="30s",
                    ),
                    wait=True,
                    wait_timeout=120,
                    restart="unless-stopped",
                    memory=settings.api_memory_mb,
                    cpus=f"{settings.api_cpus:g}",
                    # SIGTERM, then up to 15 s for gunicorn to finish requests.
                    destroy_grace_seconds=15,
                    log_driver="json-file",
                    log_opts={"max-size": "10m", "max-file": "3"},
                    labels=labels(
                        settings,
                        "api",
                        {REPLICA_LABEL: str(index), MIGRATED_IMAGE_LABEL: migrated_image},
                    ),
                    **hardening(),
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=depends_on,
                        delete_before_replace=True,  # fixed host port and name: see module doc
                        replace_on_changes=["healthcheck", "tmpfs"],
                    ),
                )
            )
        self.container_names = pulumi.Output.all(*[c.name for c in self.containers])
        self.register_outputs({"container_names": self.container_names})
