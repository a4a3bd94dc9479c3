"""The API: `apiReplicas` gunicorn containers of the service image.

Why these choices:
- Replicas publish no host port: the reverse proxy (proxy.py) owns the
  published port and finds them on the stack network under the alias `api`.
- Zero-downtime replacement: replicas have no fixed name (Pulumi auto-names
  them, `api-<i>-<random>`) and are create-before-delete
  (`delete_before_replace=False`, stated explicitly). A code deployment
  therefore creates the new replica, waits until it is healthy (`wait=True`
  and the /healthz healthcheck; the provider fails the step otherwise), and
  only then is the old one deleted: the engine deletes replaced resources
  after their replacements exist (at the end of the update). The provider
  stops an old replica with SIGTERM and `destroy_grace_seconds`, so gunicorn
  finishes the requests under way; the proxy retries what a vanishing
  replica refuses on another one. Just before that, a `before_delete` hook
  drains it (drain_hook.py): new connections are dropped (the proxy sends
  them elsewhere, writes included) and queued ones served, so the stop
  resets no connection the proxy has sent a write on. A name given explicitly would make the
  Docker provider replace delete-before-create (the old name must be free
  first), hence no `name`.
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

from app_env import API_STOP_TIMEOUT_SECONDS, APP_PORT, hardening
from config import Settings
from drain_hook import make_drain_hook
from labels import labels

HEALTHCHECK = [
    "CMD",
    "python",
    "-c",
    "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)",
]
MIGRATED_IMAGE_LABEL = "org.library.migrated-image"
#: The replicas' shared name on the stack network (what the proxy resolves).
API_ALIAS = "api"
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
        # Before Pulumi deletes a replica (replaced, or fewer replicas), drain it.
        drain = make_drain_hook(
            docker_host=settings.docker_host,
            port=APP_PORT,
            labels={item["label"]: item["value"] for item in labels(settings, "api-drain")},
        )
        self.containers = []
        for index in range(settings.api_replicas):
            self.containers.append(
                docker.Container(
                    f"{name}-{index}",
                    # No name: auto-named, so old and new replicas can coexist.
                    image=image_ref,
                    envs=envs,
                    networks_advanced=[
                        docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=[API_ALIAS])
                    ],
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
                    # SIGTERM, then up to 15 s for gunicorn (graceful timeout 8 s)
                    # to finish in-flight requests, whoever stops the container:
                    # the provider on delete, `docker stop`, a daemon shutdown.
                    stop_signal="SIGTERM",
                    stop_timeout=API_STOP_TIMEOUT_SECONDS,
                    destroy_grace_seconds=API_STOP_TIMEOUT_SECONDS,
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
                        delete_before_replace=False,  # create-before-delete: see module doc
                        replace_on_changes=["healthcheck", "tmpfs"],
                        hooks=pulumi.ResourceHookBinding(before_delete=[drain]),
                    ),
                )
            )
        self.container_names = pulumi.Output.all(*[c.name for c in self.containers])
        self.register_outputs({"container_names": self.container_names})
