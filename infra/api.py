"""The API: `apiReplicas` gunicorn containers of the service image.

Replicas publish no port and have no fixed name (an auto-name after the logical
name `<project>-<stack>-api-<index>`), so a deployment starts new
ones next to the old (create-before-delete), waits until they are healthy,
and only then drains and deletes the old ones; a failed migration stops them
from being created or replaced at all (docs/deploy.md, "Zero-downtime
deployments").
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
from app_env import API_STOP_TIMEOUT_SECONDS, APP_PORT, APP_USER
from container_parts import LOGGING, REPLACE_ON_CHANGES, RESTART, graceful_stop, hardening, health_gate, memory_limit
from docker_engine import Engine
from drain_hook import make_drain_hook
from health_report import make_health_report_hook
from labels import MIGRATED_IMAGE, REPLICA, StackNames
from sweep_hook import make_sweep_hook

#: The image's own HEALTHCHECK runs the same probe (a unit test keeps the Dockerfile in step).
HEALTHCHECK = [
    "CMD",
    "python",
    "-c",
    f"import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:{APP_PORT}/healthz', timeout=3)",
]
#: gunicorn loads the app before it listens (app/gunicorn.conf.py), in a few seconds.
HEALTH_GATE = health_gate(HEALTHCHECK, start_period="15s")
#: The replicas' shared name on the stack network (what the proxy resolves).
API_ALIAS = "api"


class Api(pulumi.ComponentResource):
    """The API replicas."""

    containers: list[docker.Container]
    container_names: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        names: StackNames,
        replicas: int,
        image_ref: pulumi.Input[str],
        network_name: pulumi.Input[str],
        envs: list[pulumi.Input[str]],
        memory_mb: int,
        cpus: float,
        engine: Engine,
        migrated_image: pulumi.Input[str],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("library:infra:Api", name, None, opts)
        # Before Pulumi deletes a replica (replaced, or fewer replicas), drain it.
        drain = make_drain_hook(engine=engine, port=APP_PORT, labels=names.label_dict("api-drain"))
        # When one does not become healthy, say why (its last health check).
        report = make_health_report_hook(engine=engine)
        # Once one is healthy, the container it replaces (and any an interrupted update left) goes.
        sweep = make_sweep_hook(
            role="api",
            engine=engine,
            stack_labels=names.label_dict("api"),
            drain_port=APP_PORT,
            drain_labels=names.label_dict("api-drain"),
        )
        self.containers = [
            docker.Container(
                f"{names.prefix}-api-{index}",
                # No name: auto-named after the logical name, so old and new replicas can coexist.
                image=image_ref,
                envs=envs,
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=[API_ALIAS])],
                **HEALTH_GATE,
                restart=RESTART,
                **memory_limit(memory_mb),
                cpus=f"{cpus:g}",
                **graceful_stop(API_STOP_TIMEOUT_SECONDS, "SIGTERM"),
                **LOGGING,
                labels=names.labels("api", {REPLICA: str(index), MIGRATED_IMAGE: migrated_image}),
                **hardening(APP_USER),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=depends_on,
                    delete_before_replace=False,  # create-before-delete: see the module docstring
                    replace_on_changes=list(REPLACE_ON_CHANGES),
                    hooks=pulumi.ResourceHookBinding(after_create=[sweep], before_delete=[drain], on_error=[report]),
                    # Its name before the stack prefix: older stacks keep their replicas (docs/deploy.md,
                    # "What gets deployed").
                    aliases=[pulumi.Alias(name=f"{name}-{index}")],
                ),
            )
            for index in range(replicas)
        ]
        self.container_names = pulumi.Output.all(*[c.name for c in self.containers])
        self.register_outputs({"container_names": self.container_names})
