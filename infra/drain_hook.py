"""Drain an API replica just before Pulumi deletes it (a `before_delete` hook).

A short-lived helper container (the replica's image, in its network and PID
namespaces, with exactly the capabilities listed below) makes the replica
drop new connections and serve the ones it has (app/core/draining.py), on the
engine the provider deploys to, reached exactly as the provider reaches it
(docker_engine.py: docker:host, docker:context, docker:sshOpts, the TLS
settings and their environment fallbacks). A replica that cannot be drained
is still deleted, with a warning (docs/deploy.md, "Zero-downtime deployments").
"""

from __future__ import annotations

import json

import pulumi
from docker_engine import Engine, engine_client
from labels import PROJECT, STACK

#: What the helper needs, and nothing more (see the module docstring).
HELPER_CAPABILITIES = ["NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"]
HOOK_NAME = "library-drain-api-replica"
HELPER_TIMEOUT_SECONDS = 30


def helper_container_args(replica_id: str, image: str, port: int, labels: dict[str, str]) -> dict:
    """docker-py `containers.run` arguments for the helper that drains `replica_id`.

    The helper is made through the Docker API, outside Pulumi's state: if the
    deployment dies while it runs, only its labels say whose it is, so it must
    carry the stack's (project and stack) for a cleanup or the live harness's
    teardown to find it (docs/testing.md, the live tier)."""
    missing = [key for key in (PROJECT, STACK) if not labels.get(key)]
    if missing:
        raise ValueError(f"the drain helper must carry the stack's labels; missing {missing}")
    return {
        "image": image,
        "command": ["python", "-m", "core.draining", "--port", str(port)],
        "network_mode": f"container:{replica_id}",
        "pid_mode": f"container:{replica_id}",
        "user": "0",
        "cap_drop": ["ALL"],
        "cap_add": list(HELPER_CAPABILITIES),
        "security_opt": ["no-new-privileges:true"],
        "read_only": True,
        "environment": {"PYTHONDONTWRITEBYTECODE": "1"},
        "labels": labels,
        "detach": True,
    }


def drain_replica(client, replica_id: str, image: str, port: int, labels: dict[str, str]) -> dict:
    """Run the helper against a running replica; return its JSON report.
    Raises RuntimeError with the helper's output if it did not drain."""
    helper = client.containers.run(**helper_container_args(replica_id, image, port, labels))
    try:
        status = helper.wait(timeout=HELPER_TIMEOUT_SECONDS)
        output = helper.logs().decode("utf-8", "replace").strip()
    finally:
        helper.remove(force=True)
    last_line = output.splitlines()[-1] if output else ""
    try:
        report = json.loads(last_line)
    except ValueError:
        report = {}
    if status.get("StatusCode") != 0 or not report.get("drained"):
        raise RuntimeError(f"drain helper exited with {status.get('StatusCode')}: {output[-1500:]}")
    return report


def make_drain_hook(*, engine: Engine, port: int, labels: dict[str, str]) -> pulumi.ResourceHook:
    """The named before_delete hook for the API replicas (one per program)."""

    def drain_before_delete(args: pulumi.ResourceHookArgs) -> None:
        outputs = args.old_outputs or {}
        image = outputs.get("image")
        what = f"API replica {outputs.get('name') or args.id}"
        if not args.id or not image:
            pulumi.log.warn(f"{what}: not drained before deletion (no container id or image in its state)")
            return
        try:
            with engine_client(engine, HELPER_TIMEOUT_SECONDS) as client:
                running = client.containers.list(filters={"id": args.id, "status": "running"})
                if not running:
                    return  # gone or stopped: nothing listens, nothing to drain
                report = drain_replica(client, args.id, image, port, labels)
            pulumi.log.info(f"{what}: drained in {report.get('seconds')} s before deletion")
        except Exception as error:  # noqa: BLE001 - never block a deletion, say why instead
            pulumi.log.warn(
                f"{what}: not drained before deletion ({type(error).__name__}: {error}); "
                f"a write under way may fail with a 502"
            )

    return pulumi.ResourceHook(HOOK_NAME, drain_before_delete)
