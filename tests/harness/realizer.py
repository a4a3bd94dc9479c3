"""The realizer: a ``pulumi.runtime.Mocks`` whose resources are real Docker
objects. It hands each registration to the engine's rules (tests/harness/engine.py),
which call the module of its resource type (tests/harness/resources/), answers
invokes, and replays the stored outputs for `destroy --run-program`
(see docs/testing.md, the live tier)."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, rpc

from . import engine
from .engine import ResourceType
from .resources import container, dynamic, image, network, provider, random, remote_image, volume
from .state import RUN_LABEL, URN_LABEL, RunState
from .values import RealizeError, plain

log = logging.getLogger("live.realizer")

#: The resource types the harness realizes, each by the module of its type.
TYPES: dict[str, ResourceType] = {
    "docker:index/image:Image": image.TYPE,
    "docker:index/network:Network": network.TYPE,
    "docker:index/volume:Volume": volume.TYPE,
    "docker:index/container:Container": container.TYPE,
    "docker:index/remoteImage:RemoteImage": remote_image.TYPE,
    "random:index/randomPassword:RandomPassword": random.type_of(random.password),
    "random:index/randomString:RandomString": random.type_of(random.string_),
    "random:index/randomId:RandomId": random.type_of(random.id_),
    "random:index/randomInteger:RandomInteger": random.type_of(random.integer),
    "random:index/randomUuid:RandomUuid": random.type_of(random.uuid_),
    "pulumi:providers:docker": provider.TYPE,
    "pulumi:providers:random": provider.TYPE,
}
#: pulumi.dynamic.Resource registers pulumi-python:dynamic:Resource (or pulumi-python:dynamic/<module>:<name>).
DYNAMIC_PREFIX = "pulumi-python:dynamic"

#: The resource hooks the harness runs (the engine's others are refused, loudly).
HANDLED_HOOKS = ("afterCreate", "beforeDelete", "afterDelete", "onError")

#: The invokes the harness answers.
INVOKES: dict[str, Callable[[Realizer, str, dict], dict]] = {
    "docker:index/getRemoteImage:getRemoteImage": remote_image.get_remote_image,
    "docker:index/getNetwork:getNetwork": network.get_network,
}


class Realizer(Mocks):
    """A ``pulumi.runtime.Mocks`` whose resources are real Docker objects."""

    def __init__(
        self,
        run_id: str,
        program_dir: str,
        client: docker.DockerClient | None = None,
        build_log_dir: str | None = None,
        replay: bool = False,
    ):
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}", run_id):
            raise RealizeError(f"run id {run_id!r}: use letters, digits, '.', '_' or '-'")
        self.run_id = run_id
        self.program_dir = os.path.abspath(program_dir)
        self.client = client or docker.from_env(timeout=300)
        #: The infra/docker_engine.py Engine the client reaches (None: the environment's), for the
        #: docker CLI's builds (resources/image.py).
        self.engine: Any = None
        self.api = self.client.api
        self.build_log_dir = build_log_dir or tempfile.gettempdir()
        self.state = RunState(run_id)
        #: `destroy --run-program`: registrations get the stored outputs, nothing is made.
        self.replay = replay
        self.registered_urns: set[str] = set()
        #: The URNs of the state the deployment started with (the engine's olds), and the aliases
        #: matched so far: old URN -> new URN and back (step_generator.go: aliased, aliases).
        self.old_urns: set[str] = set(self.state.resources())
        self.aliased: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.created: list[tuple[str, str, str]] = []  # (type, name, docker id)
        self.deleted: list[str] = []  # names (or URNs) of what the delete phase / destroy deleted
        self.retained: list[str] = []  # URNs dropped from the state but kept (retain_on_delete)
        self.lock = threading.RLock()
        #: Per registering thread: the URN and the engine's options of the resource being made
        #: (set by the monitor, tests/harness/live.py).
        self.local = threading.local()
        self._in_flight = 0
        self._idle = threading.Condition(self.lock)
        self.stopped: str | None = None
        self.failures: list[str] = []  # root causes, in order
        #: The program's resource hooks and error hooks by name (the live runner records them as they register).
        self.hooks: dict[str, Any] = {}
        self.error_hooks: dict[str, Any] = {}
        #: The program's context (its configuration lives in context variables): hooks run in a
        #: copy of it, as in the engine, where they are called back into the running program.
        self.program_context: contextvars.Context | None = None
        #: Every hook run: {"hook", "kind", "urn", and for deletes "container" (its name) and "seconds"}.
        self.hook_runs: list[dict] = []
        #: Errors of after hooks: the step stands, the deployment fails at its end (deployment.go).
        self.post_step_errors: list[str] = []

    def resource_type(self, typ: str) -> ResourceType:
        if typ.startswith(DYNAMIC_PREFIX):
            return dynamic.TYPE
        rtype = TYPES.get(typ)
        if rtype is None:
            raise RealizeError(
                f"resource type {typ}: the live harness does not realize this type. Add it to "
                f"tests/harness/resources/ (with the provider's semantics) to use it."
            )
        return rtype

    # --- Mocks interface -------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        urn = getattr(self.local, "urn", None) or f"urn:pulumi:live::live::{args.typ}::{args.name}"
        options = self.options()
        with self.lock:
            self.registered_urns.add(urn)
        if self.replay:
            return self._replayed(urn, args)
        if args.custom is False:
            # Component resources are only containers for children; the state keeps them
            # (for the order of deletes), nothing is made.
            engine.register_component(self, args.typ, args.name, args.inputs, urn, options)
            return "", {}
        rtype = self.resource_type(args.typ)
        if args.resource_id:
            raise RealizeError(f"{args.typ} {args.name!r}: get/import of existing resources is not supported")
        unhandled = sorted(k for k, v in (options.get("hooks") or {}).items() if v and k not in HANDLED_HOOKS)
        if unhandled:
            raise RealizeError(
                f"{args.typ} {args.name!r}: the live harness does not run {unhandled} hooks (only {HANDLED_HOOKS}); "
                f"teach tests/harness/engine.py the engine's rule first"
            )
        with self.lock:
            if self.stopped:
                # As the engine after a failed step: start nothing new.
                raise RealizeError(f"{args.typ} {args.name!r} not created: {self.stopped}")
            self._in_flight += 1
        started = time.monotonic()
        log.info("registering %s %s", args.typ.split(":")[-1], args.name)
        try:
            rid, state = engine.register(self, rtype, args.typ, args.name, args.inputs, urn, options)
        except BaseException as e:
            with self.lock:
                self.failures.append(f"{type(e).__name__}: {e}")
            self.stop(f"an earlier resource failed ({args.name}: {type(e).__name__})")
            raise
        finally:
            with self.lock:
                self._in_flight -= 1
                self._idle.notify_all()
        log.info("registered %s %s in %.1fs", args.typ.split(":")[-1], args.name, time.monotonic() - started)
        return rid, dict(state)

    def _replayed(self, urn: str, args: MockResourceArgs) -> tuple[str | None, dict]:
        """`destroy --run-program` (step_generator.go, destroyMode): a resource of the state (under
        its URN or an alias) is a same step (its stored id and outputs); one not in the state a
        skipped create (unknown outputs: applies on them do not run)."""
        old_urn = engine.find_old(self, urn, args.name, args.typ, self.options())
        stored = self.state.get(old_urn) if old_urn else None
        if stored is not None:
            return stored["id"], dict(stored["outputs"])
        return "", {k: rpc.UNKNOWN for k in args.inputs}

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
        """The registration's options the engine acts on (set by the monitor)."""
        return getattr(self.local, "options", None) or {}

    def labels(self, urn: str, program_labels: dict[str, str]) -> dict[str, str]:
        return {**program_labels, RUN_LABEL: self.run_id, URN_LABEL: urn}

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
