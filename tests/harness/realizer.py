"""The realizer: a ``pulumi.runtime.Mocks`` whose resources are real Docker
objects. It dispatches each registration to the module of its resource type
(tests/harness/resources/), answers invokes, and runs the engine's delete
phase after a successful deployment (see docs/testing.md, the live tier)."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, cast

import docker
import docker.errors
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from .resources import container, dynamic, image, network, provider, random, remote_image, volume
from .state import BEFORE_DELETE_LABEL, GRACE_LABEL, RUN_LABEL, URN_LABEL, RunState
from .values import RealizeError, plain

log = logging.getLogger("live.realizer")

Handler = Callable[["Realizer", str, dict, str], tuple[str, dict]]

#: The resource types the harness realizes, each by the module of its type.
HANDLERS: dict[str, Handler] = {
    "docker:index/image:Image": image.realize,
    "docker:index/network:Network": network.realize,
    "docker:index/volume:Volume": volume.realize,
    "docker:index/container:Container": container.realize,
    "docker:index/remoteImage:RemoteImage": remote_image.realize,
    "random:index/randomPassword:RandomPassword": random.remembered(random.password),
    "random:index/randomString:RandomString": random.remembered(random.string_),
    "random:index/randomId:RandomId": random.remembered(random.id_),
    "random:index/randomInteger:RandomInteger": random.remembered(random.integer),
    "random:index/randomUuid:RandomUuid": random.remembered(random.uuid_),
    "pulumi-python:dynamic:Resource": dynamic.realize,
    "pulumi:providers:docker": provider.realize,
    "pulumi:providers:random": provider.realize,
}

#: The invokes the harness answers.
INVOKES: dict[str, Callable[[Realizer, str, dict], dict]] = {
    "docker:index/getRemoteImage:getRemoteImage": remote_image.get_remote_image,
    "docker:index/getNetwork:getNetwork": network.get_network,
}


class Realizer(Mocks):
    """A ``pulumi.runtime.Mocks`` whose resources are real Docker objects."""

    def __init__(
        self, run_id: str, program_dir: str, client: docker.DockerClient | None = None, build_log_dir: str | None = None
    ):
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}", run_id):
            raise RealizeError(f"run id {run_id!r}: use letters, digits, '.', '_' or '-'")
        self.run_id = run_id
        self.program_dir = os.path.abspath(program_dir)
        self.client = client or docker.from_env(timeout=300)
        self.api = self.client.api
        self.build_log_dir = build_log_dir or tempfile.gettempdir()
        self.state = RunState(run_id)
        self.registered_urns: set[str] = set()
        self.created: list[tuple[str, str, str]] = []  # (type, name, docker id)
        self.lock = threading.Lock()
        #: Per registering thread: the URN and the engine's options of the resource being made
        #: (set by the monitor, tests/harness/live.py).
        self.local = threading.local()
        self._in_flight = 0
        self._idle = threading.Condition(self.lock)
        self.stopped: str | None = None
        #: URN -> id of the container that is the resource after this deployment.
        self.current: dict[str, str] = {}
        self.failures: list[str] = []  # root causes, in order
        #: The program's resource hooks by name (the live runner records them as they register).
        self.hooks: dict[str, Any] = {}
        #: The program's context (its configuration lives in context variables): hooks run in a
        #: copy of it, as in the engine, where they are called back into the running program.
        self.program_context: contextvars.Context | None = None
        #: Every before_delete hook run: {"hook", "container", "seconds"}.
        self.hook_runs: list[dict] = []

    # --- Mocks interface -------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        urn = getattr(self.local, "urn", None) or f"urn:pulumi:live::live::{args.typ}::{args.name}"
        with self.lock:
            self.registered_urns.add(urn)
        if args.custom is False:
            # Component resources are only containers for children.
            return "", {}
        handler = HANDLERS.get(args.typ)
        if handler is None:
            raise RealizeError(
                f"resource {args.name!r} of type {args.typ}: the live harness does not realize this "
                f"type. Add it to tests/harness/resources/ (with the provider's semantics) to use it."
            )
        if args.resource_id:
            raise RealizeError(f"{args.typ} {args.name!r}: get/import of existing resources is not supported")
        with self.lock:
            if self.stopped:
                # As the engine after a failed step: start nothing new.
                raise RealizeError(f"{args.typ} {args.name!r} not created: {self.stopped}")
            self._in_flight += 1
        started = time.monotonic()
        log.info("creating %s %s", args.typ.split(":")[-1], args.name)
        try:
            rid, state = handler(self, args.name, args.inputs, urn)
        except BaseException as e:
            with self.lock:
                self.failures.append(f"{type(e).__name__}: {e}")
            self.stop(f"an earlier resource failed ({args.name}: {type(e).__name__})")
            raise
        finally:
            with self.lock:
                self._in_flight -= 1
                self._idle.notify_all()
        log.info("created %s %s in %.1fs", args.typ.split(":")[-1], args.name, time.monotonic() - started)
        return rid, state

    def call(self, args: MockCallArgs) -> tuple[dict, list | None]:
        invoke = INVOKES.get(args.token)
        if invoke is None:
            raise RealizeError(
                f"invoke {args.token}: the live harness does not implement this function; add it to "
                f"INVOKES in tests/harness/realizer.py"
            )
        return invoke(self, args.token, plain(args.args)), []

    def stop(self, reason: str) -> None:
        """Refuse new resources from now on (the deployment has failed)."""
        with self.lock:
            self.stopped = self.stopped or reason

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no resource is being created; False on timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # --- shared by the resource types ---------------------------------------

    def options(self) -> dict[str, Any]:
        """The registration's options the engine would act on (deleteBeforeReplace, hooks)."""
        return getattr(self.local, "options", None) or {}

    def labels(self, urn: str, program_labels: dict[str, str]) -> dict[str, str]:
        return {**program_labels, RUN_LABEL: self.run_id, URN_LABEL: urn}

    def find(self, kind: str, urn: str) -> list[dict]:
        """The run's Docker objects of a kind that carry this URN."""
        filters = {"label": [f"{RUN_LABEL}={self.run_id}", f"{URN_LABEL}={urn}"]}
        if kind == "container":
            return self.api.containers(all=True, filters=filters)
        if kind == "network":
            return self.api.networks(filters=filters)
        if kind == "volume":
            return (self.api.volumes(filters=filters) or {}).get("Volumes") or []
        raise ValueError(kind)

    def local_image(self, ref: str, what: str) -> dict:
        try:
            return self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            raise RealizeError(
                f"{what}: image {ref!r} is not present on the engine, and this harness never pulls "
                f"(no registry is reachable). Build it first, e.g. scripts/build-debian-images.sh."
            ) from None

    def inspect(self, cid: str) -> dict | None:
        try:
            return self.api.inspect_container(cid)
        except docker.errors.NotFound:
            return None

    def logs_tail(self, cid: str, lines: int = 40) -> str:
        try:
            return self.api.logs(cid, stdout=True, stderr=True, tail=lines).decode("utf-8", "replace").rstrip()
        except docker.errors.APIError as e:
            return f"(logs unavailable: {e})"

    # --- the engine's delete phase --------------------------------------------

    def delete_container(self, container: dict) -> None:
        """Delete as the engine and the provider do: the resource's
        before_delete hooks first (a failing one fails the delete), then stop
        with the container's destroyGraceSeconds (unless it was attached),
        then remove.
        Follows terraform-provider-docker internal/provider/resource_docker_container_funcs.go:
        resourceDockerContainerDelete (ContainerStop with destroy_grace_seconds, then ContainerRemove)."""
        cid, cname = container["Id"], container["Names"][0].lstrip("/")
        labels = container.get("Labels") or {}
        self._run_before_delete_hooks(container)
        grace = int(labels.get(GRACE_LABEL) or 0)
        try:
            if grace > 0 and container.get("State") == "running":
                self.api.stop(cid, timeout=grace)
            self.api.remove_container(cid, v=True, force=True)
            log.info("deleted container %s", cname)
        except docker.errors.NotFound:
            pass

    def _run_before_delete_hooks(self, container: dict) -> None:
        """The resource's before_delete hooks, by the names it registered them with, in a copy of
        the program's context (pulumi engine pkg/resource/deploy/step.go: DeleteStep.Apply runs
        the before-delete hooks; a failing one fails the step)."""
        from pulumi.resource_hooks import ResourceHookArgs

        cid, cname = container["Id"], container["Names"][0].lstrip("/")
        labels = container.get("Labels") or {}
        for name in filter(None, (labels.get(BEFORE_DELETE_LABEL) or "").split(",")):
            hook = self.hooks.get(name)
            if hook is None:
                raise RealizeError(
                    f"container {cname}: its before_delete hook {name!r} is not registered "
                    f"by the program (the engine would fail the delete)"
                )
            started = time.monotonic()
            args = ResourceHookArgs(
                urn=labels.get(URN_LABEL, ""),
                id=cid,
                name=cname,
                type="docker:index/container:Container",
                old_outputs={"name": cname, "image": container.get("ImageID")},
            )
            context = (self.program_context or contextvars.copy_context()).copy()
            try:
                result = context.run(hook.callback, args)
                if inspect.isawaitable(result):
                    context.run(asyncio.run, cast(Coroutine[Any, Any, Any], result))
            except Exception as e:
                raise RealizeError(
                    f"container {cname}: before_delete hook {name!r} failed: {type(e).__name__}: {e}"
                ) from e
            with self.lock:
                self.hook_runs.append(
                    {"hook": name, "container": cname, "seconds": round(time.monotonic() - started, 2)}
                )

    def delete_replaced(self) -> list[str]:
        """After a successful deployment: delete the containers that a
        create-before-delete replacement (now or in a failed deployment
        before) left behind, all at once, as the engine's delete phase does
        (pulumi engine pkg/resource/deploy/deployment_executor.go: pending deletes go at the end)."""
        with self.lock:
            current = dict(self.current)
        stale = [
            c
            for c in self.api.containers(all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"})
            if (urn := str((c.get("Labels") or {}).get(URN_LABEL))) in current and c["Id"] != current[urn]
        ]
        errors: list[str] = []

        def delete(container: dict) -> None:
            try:
                self.delete_container(container)
            except Exception as e:  # noqa: BLE001 - reported below: a failed delete fails the deployment
                with self.lock:
                    errors.append(f"{type(e).__name__}: {e}")

        threads = [threading.Thread(target=delete, args=(c,)) for c in stale]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise RealizeError("deleting replaced containers failed:\n" + "\n".join(errors))
        return [c["Names"][0].lstrip("/") for c in stale]

    def prune_undeclared(self) -> list[str]:
        """After a successful deployment: delete the run's containers (as
        delete_container does, hooks included) and networks whose URN the
        program no longer declares (what ``pulumi up`` would delete)."""
        flt = {"label": f"{RUN_LABEL}={self.run_id}"}
        gone = []
        for c in self.api.containers(all=True, filters=flt):
            if (c.get("Labels") or {}).get(URN_LABEL) not in self.registered_urns:
                self.delete_container(c)
                gone.append(c["Names"][0].lstrip("/"))
        for n in self.api.networks(filters=flt):
            if (n.get("Labels") or {}).get(URN_LABEL) not in self.registered_urns:
                self.api.remove_network(n["Id"])
                gone.append(n["Name"])
        return gone
