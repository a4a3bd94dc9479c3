"""After a container is created, remove the others of its role and replica (an `after_create` hook).

When `pulumi up` is interrupted while it creates a container, the engine
forgets the half-finished create on the next run (it warns about "pending
operations") and the container lives on: an orphan API replica would keep
serving under the proxy's alias, with code nobody deploys. So once a new API
replica (or migration run) exists, this hook drains and removes every other
container of the same stack, role and replica index: the one it replaces
(a little earlier than the engine's delete, which then finds it gone, as the
provider allows) and any the engine forgot (docs/deploy.md, "Interrupted deployments").
"""

from __future__ import annotations

import pulumi
from docker_engine import Engine, engine_client
from drain_hook import drain_replica
from labels import REPLICA

#: How long a call to the engine may take (a drain has its own limit).
CLIENT_TIMEOUT_SECONDS = 60
HOOK_PREFIX = "library-sweep-"


def stray_filters(stack_labels: dict[str, str], replica: str | None) -> dict[str, list[str]]:
    """Docker filters for the containers of one role (and replica index) of the stack."""
    wanted = {**stack_labels, **({REPLICA: replica} if replica is not None else {})}
    return {"label": [f"{key}={value}" for key, value in sorted(wanted.items())]}


def make_sweep_hook(
    *, role: str, engine: Engine, stack_labels: dict[str, str], drain_port: int | None, drain_labels: dict
) -> pulumi.ResourceHook:
    """The named after_create hook of a role's containers (one per role and program)."""

    def sweep_after_create(args: pulumi.ResourceHookArgs) -> None:
        outputs = args.new_outputs or {}
        labels = {item["label"]: item["value"] for item in outputs.get("labels") or []}
        try:
            with engine_client(engine, CLIENT_TIMEOUT_SECONDS) as client:
                for stray in client.api.containers(all=True, filters=stray_filters(stack_labels, labels.get(REPLICA))):
                    if stray["Id"] == args.id:
                        continue
                    name = stray["Names"][0].lstrip("/")
                    drained = ""
                    if drain_port is not None and stray.get("State") == "running":
                        try:
                            report = drain_replica(client, stray["Id"], stray["ImageID"], drain_port, drain_labels)
                            drained = f" drained in {report.get('seconds')} s and"
                        except Exception as error:  # noqa: BLE001 - removed anyway, as the engine would
                            pulumi.log.warn(f"{name}: not drained before removal ({type(error).__name__}: {error})")
                    client.api.remove_container(stray["Id"], v=True, force=True)
                    pulumi.log.info(f"{role} container {name}:{drained} removed; {args.name} replaces it")
        except Exception as error:  # noqa: BLE001 - a cleanup: never fail a create that succeeded
            pulumi.log.warn(f"{args.name}: could not look for untracked {role} containers ({error})")

    return pulumi.ResourceHook(f"{HOOK_PREFIX}{role}", sweep_after_create)
