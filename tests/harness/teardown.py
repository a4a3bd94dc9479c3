"""Finding and removing a run's Docker objects by their run label (see docs/testing.md),
and the containers the program's hooks made for the run's stack outside the harness."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors

from .state import RUN_LABEL, URN_LABEL, RunState
from .values import RealizeError

#: The program's own labels (infra/labels.py: PROJECT, STACK) on everything it makes.
PROJECT_LABEL = "org.library.project"
STACK_LABEL = "org.library.stack"


def run_stacks(run_id: str, client: docker.DockerClient) -> set[tuple[str, str]]:
    """(project, stack) of every URN the run knows: its state and its objects' URN labels.

    The drain helper (infra/drain_hook.py) is made by a hook through the Docker
    API, not by the harness, so it carries the stack's labels but not the run
    label; a deployment that dies while it runs leaves it behind, and only the
    stack's labels find it."""
    state = RunState(run_id)
    urns = set(state.resources()) | {entry["urn"] for entry in state.pending_deletes()}
    api = client.api
    flt = {"label": f"{RUN_LABEL}={run_id}"}
    for obj in [*api.containers(all=True, filters=flt), *api.networks(filters=flt)]:
        labels = obj.get("Labels") or {}
        if labels.get(URN_LABEL):
            urns.add(labels[URN_LABEL])
    stacks = set()
    for urn in urns:
        # urn:pulumi:<stack>::<project>::<type>::<name>
        head, _, rest = urn.partition("::")
        project = rest.partition("::")[0]
        if head.startswith("urn:pulumi:") and project:
            stacks.add((project, head.removeprefix("urn:pulumi:")))
    return stacks


def stack_containers(client: docker.DockerClient, stacks: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The containers labelled with one of these (project, stack) pairs."""
    found: dict[str, dict[str, Any]] = {}
    for project, stack in sorted(stacks):
        flt = {"label": [f"{PROJECT_LABEL}={project}", f"{STACK_LABEL}={stack}"]}
        for c in client.api.containers(all=True, filters=flt):
            found[c["Id"]] = c
    return list(found.values())


def run_objects(run_id: str, client: docker.DockerClient | None = None) -> dict[str, list[str]]:
    """Names of the containers, networks and volumes that carry the run label."""
    client = client or docker.from_env()
    api = client.api
    flt = {"label": f"{RUN_LABEL}={run_id}"}
    return {
        "containers": sorted(c["Names"][0].lstrip("/") for c in api.containers(all=True, filters=flt)),
        "networks": sorted(n["Name"] for n in api.networks(filters=flt)),
        "volumes": sorted(v["Name"] for v in (api.volumes(filters=flt) or {}).get("Volumes") or []),
    }


def teardown(
    run_id: str,
    remove_volumes: bool = False,
    client: docker.DockerClient | None = None,
    extra_volumes: tuple[str, ...] = (),
) -> dict[str, list[str]]:
    """Remove a run's containers and networks, and its volumes when asked.

    Only objects labelled ``org.library.live-run=<run_id>`` are touched, the
    containers labelled with the run's project and stack (a drain helper left
    behind: ``run_stacks``), and ``extra_volumes`` by name, when ``remove_volumes``. With the volumes go
    the run's remembered random values. Returns what was removed. Repeats
    until nothing of the run is left, so that an object the engine finished
    creating late (a request of a deployment that died) is removed too.
    """
    client = client or docker.from_env()
    removed: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
    stacks: set[tuple[str, str]] = set()
    for attempt in range(5):
        stacks |= run_stacks(run_id, client)
        errors = _remove_round(client, run_id, removed, remove_volumes, extra_volumes, stacks)
        left = run_objects(run_id, client)
        left["containers"] += [c["Names"][0].lstrip("/") for c in stack_containers(client, stacks)]
        if not remove_volumes:
            left["volumes"] = []
        if not errors and not any(left.values()):
            break
        if attempt == 4:
            raise RealizeError(f"teardown of run {run_id}: still left {left}; errors: {errors}")
        time.sleep(1)
    if remove_volumes:
        RunState(run_id).forget()
    return removed


def _remove_round(
    client: docker.DockerClient,
    run_id: str,
    removed: dict[str, list[str]],
    remove_volumes: bool,
    extra_volumes: tuple[str, ...],
    stacks: set[tuple[str, str]],
) -> list[Exception]:
    """One pass over the run's objects; the errors that call for another pass."""
    api = client.api
    flt = {"label": f"{RUN_LABEL}={run_id}"}

    def remove(kind: str, name: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
            if name not in removed[kind]:
                removed[kind].append(name)
        except docker.errors.NotFound:
            pass

    errors: list[Exception] = []
    for c in [*api.containers(all=True, filters=flt), *stack_containers(client, stacks)]:
        remove("containers", c["Names"][0].lstrip("/"), api.remove_container, c["Id"], v=True, force=True)
    for n in api.networks(filters=flt):
        try:
            remove("networks", n["Name"], api.remove_network, n["Id"])
        except docker.errors.APIError as e:  # still in use: another round
            errors.append(e)
    if remove_volumes:
        names = {v["Name"] for v in (api.volumes(filters=flt) or {}).get("Volumes") or []}
        for name in sorted(names | set(extra_volumes)):
            try:
                remove("volumes", name, api.remove_volume, name, force=True)
            except docker.errors.APIError as e:
                errors.append(e)
    return errors
