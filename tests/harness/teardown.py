"""Finding and removing a run's Docker objects by their run label (see docs/testing.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors

from .state import RUN_LABEL, RunState
from .values import RealizeError


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

    Only objects labelled ``org.library.live-run=<run_id>`` are touched (plus
    ``extra_volumes`` by name, when ``remove_volumes``). With the volumes go
    the run's remembered random values. Returns what was removed. Repeats
    until nothing of the run is left, so that an object the engine finished
    creating late (a request of a deployment that died) is removed too.
    """
    client = client or docker.from_env()
    removed: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
    for attempt in range(5):
        errors = _remove_round(client, run_id, removed, remove_volumes, extra_volumes)
        left = run_objects(run_id, client)
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
    for c in api.containers(all=True, filters=flt):
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
