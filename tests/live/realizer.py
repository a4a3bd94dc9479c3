"""Realize a Pulumi program's resources on a real Docker engine, for tests.

This is a *test harness*: it runs this project's real Pulumi program under the
Pulumi SDK's mocks interface (``pulumi.runtime.Mocks``), and the mock it plugs
in does not invent outputs but creates each resource for real with the Docker
SDK for Python: it builds images, creates networks and volumes, runs
containers, waits for health checks and one-shot containers, and generates
real random passwords. The program's stack outputs are then the real ones, and
tests can talk to the running service.

It is NOT a deployment tool and NOT a replacement for ``pulumi up``. It keeps
no state, computes no diffs and makes no previews; it does not run providers,
so it cannot catch provider-side validation the real engine would do. What it
reproduces is the provider semantics this project relies on (pulumi-docker
5.x / terraform-provider-docker: defaults such as ``mustRun=true``, ``attach``
+ ``exitCode`` without failing on a non-zero exit, ``wait`` for a healthy
state, auto-naming ``<name>-<7 chars>``). Everything else fails loudly: each
resource type has an explicit allow-list of input keys, and an unknown key,
resource type or invoke raises an error naming it, so the program cannot
silently outgrow the harness.

Every Docker object it creates carries the label ``org.library.live-run=<id>``
(plus ``org.library.live-urn=<urn>``), in addition to the program's labels;
:func:`teardown` removes a run's containers and networks, and its volumes only
when asked. Within one run id a second deployment behaves like a second
``pulumi up`` in the ways tests need: a container whose inputs changed is
replaced, one whose inputs did not is left as it is (even stopped: no
refresh), networks and volumes with the same URN are kept, and containers the
program no longer declares are removed once the deployment succeeds.

Replacement follows the engine and pulumi-docker: delete-before-replace when
the registration says so (``deleteBeforeReplace`` defined), otherwise when the
container has an explicit ``name`` (the Terraform bridge asks for it then);
else create-before-delete: the new container is created (and, with ``wait``,
healthy) next to the old one, and the old one is deleted only once the whole
deployment has succeeded (the engine deletes replaced resources at the end of
an update; after a failure they stay and go with the next successful one).
Deleting a container stops it first with ``destroyGraceSeconds``, as the
provider does, so in-flight requests finish.

Use it through :mod:`tests.live.run_program` (one subprocess per deployment,
since the Pulumi runtime's settings are process-global).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import inspect
import json
import logging
import os
import re
import secrets
import string
import subprocess
import tempfile
import threading
import time
from typing import Any, Optional

import docker
import docker.errors
from docker.types import Healthcheck, Mount
from pulumi.runtime import Mocks

RUN_LABEL = "org.library.live-run"
URN_LABEL = "org.library.live-urn"

DOCKER_CLI = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"

log = logging.getLogger("live.realizer")

# ---------------------------------------------------------------------------
# errors and small helpers


class RealizeError(Exception):
    """A resource could not be realized; the message says which and why."""


_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SECRET_SIG_KEY) == _SECRET_SIG


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_secret(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """The value with every wrapped secret unwrapped (recursively)."""
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def secret(value: Any) -> dict:
    return {_SECRET_SIG_KEY: _SECRET_SIG, "value": value}


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}


def duration_ns(text: Optional[str], what: str = "duration") -> int:
    """A Go duration ("5s", "1m30s", "500ms", "0s") in nanoseconds."""
    if text in (None, ""):
        return 0
    text = str(text).strip()
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise RealizeError(f"{what}: {text!r} is not a duration like '5s', '1m30s' or '500ms'")
    return int(total)


def as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise RealizeError(f"{what}: expected an integer, got {value!r}")
    return int(value)


def check_keys(kind: str, name: str, given: dict, handled: set[str], where: str = "") -> None:
    unknown = sorted(k for k, v in given.items() if k not in handled and v is not None)
    if unknown:
        place = f" in {where}" if where else ""
        raise RealizeError(
            f"{kind} {name!r}: the live harness does not handle input(s) {unknown}{place}. "
            f"Handled: {sorted(handled)}. Teach tests/live/realizer.py what they mean "
            f"(as pulumi-docker/terraform-provider-docker would) before using them."
        )


def label_map(items: Any, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        check_keys("label", what, item, {"label", "value"})
        out[str(item["label"])] = str(item.get("value", ""))
    return out


def autoname(name: str) -> str:
    """Pulumi's auto-name: the logical name, a dash and 7 random characters."""
    alphabet = string.ascii_lowercase + string.digits
    return f"{name}-{''.join(secrets.choice(alphabet) for _ in range(7))}"


def inputs_fingerprint(inputs: dict) -> str:
    """A digest of a resource's (plain) inputs: what the run state keeps to
    tell an unchanged resource from a changed one, without keeping secrets."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# ---------------------------------------------------------------------------
# the Mocks implementation

# Input keys each resource type handles. Keys in *_IGNORED are accepted on
# purpose because they change nothing here (documented next to each set).
IMAGE_KEYS = {"imageName", "build", "skipPush", "buildOnPreview", "registry"}
IMAGE_BUILD_KEYS = {"context", "dockerfile", "args", "target", "platform", "builderVersion", "addHosts", "network"}
NETWORK_KEYS = {"name", "driver", "internal", "attachable", "ipv6", "options", "labels", "ipamDriver", "ipamConfigs", "checkDuplicate"}
VOLUME_KEYS = {"name", "driver", "driverOpts", "labels"}
REMOTE_IMAGE_KEYS = {"name", "keepLocally", "forceRemove", "triggers", "pullTriggers", "platform"}
CONTAINER_KEYS = {
    "image", "name", "command", "entrypoints", "envs", "ports", "networksAdvanced", "networkMode",
    "volumes", "mounts", "tmpfs", "healthcheck", "restart", "maxRetryCount", "user", "readOnly",
    "capabilities", "securityOpts", "memory", "memorySwap", "memoryReservation", "cpus", "cpuShares",
    "cpuSet", "labels", "wait", "waitTimeout", "mustRun", "attach", "logs", "start", "init",
    "stopSignal", "stopTimeout", "hostname", "workingDir", "logDriver", "logOpts", "shmSize",
    "ulimits", "sysctls", "groupAdds", "privileged", "hosts", "dns",
    # Only used when the container is deleted; teardown removes containers with
    # their anonymous volumes and without a grace period.
    "destroyGraceSeconds", "removeVolumes", "containerReadRefreshTimeoutMilliseconds",
    # rm (auto-remove): accepted, see _container below.
    "rm",
    # Files copied into the container after it is created, before it starts.
    "uploads",
}
CONTAINER_UPLOAD_KEYS = {"file", "content", "contentBase64", "executable", "permissions", "source", "sourceHash"}
#: The provider's stop grace for a container, kept on it for a later delete.
GRACE_LABEL = "org.library.live-destroy-grace"
#: The names of its before_delete resource hooks, kept on it as the engine keeps them in state.
BEFORE_DELETE_LABEL = "org.library.live-before-delete"
CONTAINER_HEALTHCHECK_KEYS = {"tests", "interval", "timeout", "retries", "startPeriod", "startInterval"}
CONTAINER_PORT_KEYS = {"internal", "external", "ip", "protocol"}
CONTAINER_NETWORK_KEYS = {"name", "aliases", "ipv4Address", "ipv6Address"}
CONTAINER_VOLUME_KEYS = {"volumeName", "containerPath", "hostPath", "readOnly", "fromContainer"}
CONTAINER_MOUNT_KEYS = {"target", "type", "source", "readOnly", "tmpfsOptions", "volumeOptions", "bindOptions"}
RANDOM_PASSWORD_KEYS = {
    "length", "special", "upper", "lower", "numeric", "number", "minUpper", "minLower",
    "minNumeric", "minSpecial", "overrideSpecial", "keepers",
}
PROVIDER_KEYS = {"host", "version", "registryAuth", "disableDockerDaemonCheck"}

DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
#: How long after its start a mustRun container without `wait` must still be
#: running (terraform-provider-docker checks once after ~100 ms; a little
#: longer here makes the check deterministic on a loaded machine).
MUST_RUN_SETTLE_SECONDS = 0.5


class Realizer(Mocks):
    """A ``pulumi.runtime.Mocks`` whose resources are real Docker objects."""

    def __init__(self, run_id: str, program_dir: str, client: Optional[docker.DockerClient] = None,
                 build_log_dir: Optional[str] = None):
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
        self._lock = threading.Lock()
        self._local = threading.local()
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        self.stopped: Optional[str] = None
        #: URN -> id of the container that is the resource after this deployment.
        self.current: dict[str, str] = {}
        self.failures: list[str] = []  # root causes, in order
        #: The program's resource hooks by name (run_program.py records them as they register).
        self.hooks: dict[str, Any] = {}
        #: The program's context (its configuration lives in context variables): hooks run in a
        #: copy of it, as in the engine, where they are called back into the running program.
        self.program_context: Optional[contextvars.Context] = None
        #: Every before_delete hook run: {"hook", "container", "seconds"}.
        self.hook_runs: list[dict] = []

    # --- Mocks interface -------------------------------------------------

    def new_resource(self, args) -> tuple[Optional[str], dict]:
        urn = getattr(self._local, "urn", None) or f"urn:pulumi:live::live::{args.typ}::{args.name}"
        with self._lock:
            self.registered_urns.add(urn)
        if args.custom is False:
            # Component resources are only containers for children.
            return "", {}
        handler = {
            "docker:index/image:Image": self._image,
            "docker:index/network:Network": self._network,
            "docker:index/volume:Volume": self._volume,
            "docker:index/container:Container": self._container,
            "docker:index/remoteImage:RemoteImage": self._remote_image,
            "random:index/randomPassword:RandomPassword": self._remembered(self._random_password),
            "random:index/randomString:RandomString": self._remembered(self._random_string),
            "random:index/randomId:RandomId": self._remembered(self._random_id),
            "random:index/randomInteger:RandomInteger": self._remembered(self._random_integer),
            "random:index/randomUuid:RandomUuid": self._remembered(self._random_uuid),
            "pulumi:providers:docker": self._provider,
            "pulumi:providers:random": self._provider,
        }.get(args.typ)
        if handler is None:
            raise RealizeError(
                f"resource {args.name!r} of type {args.typ}: the live harness does not realize this "
                f"type. Add it to tests/live/realizer.py (with the provider's semantics) to use it."
            )
        if args.resource_id:
            raise RealizeError(f"{args.typ} {args.name!r}: get/import of existing resources is not supported")
        with self._lock:
            if self.stopped:
                # As the engine after a failed step: start nothing new.
                raise RealizeError(f"{args.typ} {args.name!r} not created: {self.stopped}")
            self._in_flight += 1
        started = time.monotonic()
        log.info("creating %s %s", args.typ.split(":")[-1], args.name)
        try:
            rid, state = handler(args.name, args.inputs, urn)
        except BaseException as e:
            with self._lock:
                self.failures.append(f"{type(e).__name__}: {e}")
            self.stop(f"an earlier resource failed ({args.name}: {type(e).__name__})")
            raise
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()
        log.info("created %s %s in %.1fs", args.typ.split(":")[-1], args.name, time.monotonic() - started)
        return rid, state

    def stop(self, reason: str) -> None:
        """Refuse new resources from now on (the deployment has failed)."""
        with self._lock:
            self.stopped = self.stopped or reason

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no resource is being created; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def call(self, args) -> tuple[dict, Optional[list]]:
        token, a = args.token, plain(args.args)
        if token == "docker:index/getRemoteImage:getRemoteImage":
            check_keys("invoke", token, a, {"name"})
            image = self._local_image(a["name"], token)
            return {"id": image["Id"], "name": a["name"], "repoDigest": self._repo_digest(image)}, []
        if token == "docker:index/getNetwork:getNetwork":
            check_keys("invoke", token, a, {"name"})
            try:
                net = self.api.inspect_network(a["name"])
            except docker.errors.NotFound:
                raise RealizeError(f"invoke {token}: no network named {a['name']!r}") from None
            return {"id": net["Id"], "name": net["Name"], "driver": net["Driver"],
                    "internal": net.get("Internal", False), "scope": net.get("Scope", "local"),
                    "options": net.get("Options") or {}, "ipamConfigs": []}, []
        raise RealizeError(
            f"invoke {token}: the live harness does not implement this function; add it to "
            f"Realizer.call in tests/live/realizer.py"
        )

    # --- helpers ------------------------------------------------------------

    def _labels(self, urn: str, program_labels: dict[str, str]) -> dict[str, str]:
        return {**program_labels, RUN_LABEL: self.run_id, URN_LABEL: urn}

    def _ours(self, labels: Optional[dict], urn: Optional[str] = None) -> bool:
        labels = labels or {}
        return labels.get(RUN_LABEL) == self.run_id and (urn is None or labels.get(URN_LABEL) == urn)

    def _find(self, kind: str, urn: str) -> list[dict]:
        filters = {"label": [f"{RUN_LABEL}={self.run_id}", f"{URN_LABEL}={urn}"]}
        if kind == "container":
            return self.api.containers(all=True, filters=filters)
        if kind == "network":
            return self.api.networks(filters=filters)
        if kind == "volume":
            return (self.api.volumes(filters=filters) or {}).get("Volumes") or []
        raise ValueError(kind)

    def _local_image(self, ref: str, what: str) -> dict:
        try:
            return self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            raise RealizeError(
                f"{what}: image {ref!r} is not present on the engine, and this harness never pulls "
                f"(no registry is reachable). Build it first, e.g. scripts/build-debian-images.sh."
            ) from None

    @staticmethod
    def _repo_digest(image: dict) -> str:
        digests = image.get("RepoDigests") or []
        return digests[0] if digests else image["Id"]

    # --- docker:index/image:Image -------------------------------------------

    def _image(self, name: str, inputs: dict, urn: str):
        i = plain(inputs)
        check_keys("Image", name, i, IMAGE_KEYS)
        image_name = i.get("imageName")
        if not image_name:
            raise RealizeError(f"Image {name!r}: imageName is required")
        if not i.get("skipPush", False):
            raise RealizeError(f"Image {name!r}: skipPush is false, and this harness cannot push to a registry")
        build = i.get("build") or {}
        check_keys("Image", name, build, IMAGE_BUILD_KEYS, "build")
        context = build.get("context") or "."
        # As the provider: context and dockerfile are relative to the program's
        # working directory; the default Dockerfile is <context>/Dockerfile.
        dockerfile = build.get("dockerfile") or os.path.join(context, "Dockerfile")
        ctx_abs = os.path.normpath(os.path.join(self.program_dir, context))
        df_abs = os.path.normpath(os.path.join(self.program_dir, dockerfile))
        if not os.path.isdir(ctx_abs):
            raise RealizeError(f"Image {name!r}: build context {ctx_abs} is not a directory")
        if not os.path.isfile(df_abs):
            raise RealizeError(f"Image {name!r}: Dockerfile {df_abs} does not exist")
        version = build.get("builderVersion") or "BuilderBuildKit"
        if version not in ("BuilderBuildKit", "BuilderV1"):
            raise RealizeError(f"Image {name!r}: invalid builderVersion {version!r}")

        cmd = [DOCKER_CLI, "build", "--progress=plain", "-f", df_abs, "-t", image_name]
        for key, value in sorted((build.get("args") or {}).items()):
            cmd += ["--build-arg", f"{key}={value}"]
        if build.get("target"):
            cmd += ["--target", build["target"]]
        if build.get("platform"):
            cmd += ["--platform", build["platform"]]
        for host in build.get("addHosts") or []:
            cmd += ["--add-host", host]
        if build.get("network"):
            cmd += ["--network", build["network"]]
        fd, iidfile = tempfile.mkstemp(prefix="live-iid-")
        os.close(fd)
        cmd += ["--iidfile", iidfile, ctx_abs]
        env = dict(os.environ, DOCKER_BUILDKIT="1" if version == "BuilderBuildKit" else "0")
        log_path = os.path.join(self.build_log_dir, f"live-build-{self.run_id}-{name}.log")
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, env=env, cwd=self.program_dir, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=1800)
            if proc.returncode != 0:
                with open(log_path, "w") as f:
                    f.write(proc.stdout)
                raise RealizeError(
                    f"Image {name!r}: docker build failed (exit {proc.returncode}); full log in "
                    f"{log_path}; last lines:\n{_tail(proc.stdout, 60)}"
                )
            image_id = open(iidfile).read().strip()
        finally:
            os.unlink(iidfile)
        log.info("built %s as %s in %.1fs", image_name, image_id[:19], time.monotonic() - started)
        state = {
            **inputs,
            "imageName": image_name,
            "baseImageName": image_name,
            "repoDigest": image_id,
            "context": context,
            "dockerfile": os.path.relpath(df_abs, ctx_abs),
            "registryServer": "",
        }
        if build.get("platform"):
            state["platform"] = build["platform"]
        return image_name, state

    # --- docker:index/remoteImage:RemoteImage ---------------------------------

    def _remote_image(self, name: str, inputs: dict, urn: str):
        i = plain(inputs)
        check_keys("RemoteImage", name, i, REMOTE_IMAGE_KEYS)
        ref = i.get("name")
        if not ref:
            raise RealizeError(f"RemoteImage {name!r}: name is required")
        image = self._local_image(ref, f"RemoteImage {name!r}")
        # terraform-provider-docker's id for docker_image is <image id><name>.
        return image["Id"] + ref, {**inputs, "imageId": image["Id"], "repoDigest": self._repo_digest(image)}

    # --- docker:index/network:Network -----------------------------------------

    def _network(self, name: str, inputs: dict, urn: str):
        i = plain(inputs)
        check_keys("Network", name, i, NETWORK_KEYS)
        existing = self._find("network", urn)
        if existing:
            net = self.api.inspect_network(existing[0]["Id"])
            log.info("network %s: kept from an earlier deployment of this run", net["Name"])
        else:
            net_name = i.get("name") or autoname(name)
            if self.api.networks(names=[net_name]) and any(
                    n["Name"] == net_name for n in self.api.networks(names=[net_name])):
                raise RealizeError(f"Network {name!r}: a network named {net_name!r} already exists "
                                   f"(not from this run)")
            ipam = None
            if i.get("ipamConfigs") or i.get("ipamDriver"):
                pools = []
                for c in i.get("ipamConfigs") or []:
                    check_keys("Network", name, c, {"subnet", "gateway", "ipRange", "auxAddress"}, "ipamConfigs")
                    pools.append(docker.types.IPAMPool(subnet=c.get("subnet"), gateway=c.get("gateway"),
                                                       iprange=c.get("ipRange"), aux_addresses=c.get("auxAddress")))
                ipam = docker.types.IPAMConfig(driver=i.get("ipamDriver") or "default", pool_configs=pools)
            created = self.api.create_network(
                net_name, driver=i.get("driver") or "bridge", options=i.get("options"), ipam=ipam,
                internal=bool(i.get("internal", False)), attachable=bool(i.get("attachable", False)),
                enable_ipv6=bool(i.get("ipv6", False)), check_duplicate=True,
                labels=self._labels(urn, label_map(i.get("labels"), f"Network {name}")),
            )
            net = self.api.inspect_network(created["Id"])
            self.created.append(("network", net["Name"], net["Id"]))
        return net["Id"], {
            **inputs, "name": net["Name"], "driver": net["Driver"], "scope": net.get("Scope", "local"),
            "internal": net.get("Internal", False), "attachable": net.get("Attachable", False),
            "ipv6": net.get("EnableIPv6", False), "options": net.get("Options") or {},
            # As the provider reads it back: the subnets the engine assigned.
            "ipamConfigs": [
                {k: v for k, v in (("subnet", c.get("Subnet")), ("gateway", c.get("Gateway")),
                                   ("ipRange", c.get("IPRange"))) if v}
                for c in ((net.get("IPAM") or {}).get("Config") or [])
            ],
        }

    # --- docker:index/volume:Volume -------------------------------------------

    def _volume(self, name: str, inputs: dict, urn: str):
        i = plain(inputs)
        check_keys("Volume", name, i, VOLUME_KEYS)
        vol_name = i.get("name")
        if not vol_name:
            existing = self._find("volume", urn)
            vol_name = existing[0]["Name"] if existing else autoname(name)
        try:
            vol = self.api.inspect_volume(vol_name)
            # Reusing the volume that carries the data is how a redeploy keeps it.
            log.info("volume %s: exists, reused (labels %s)", vol_name, vol.get("Labels"))
        except docker.errors.NotFound:
            vol = self.api.create_volume(
                vol_name, driver=i.get("driver") or "local", driver_opts=i.get("driverOpts"),
                labels=self._labels(urn, label_map(i.get("labels"), f"Volume {name}")),
            )
            self.created.append(("volume", vol["Name"], vol["Name"]))
        return vol["Name"], {**inputs, "name": vol["Name"], "driver": vol["Driver"],
                             "mountpoint": vol.get("Mountpoint", "")}

    # --- docker:index/container:Container -------------------------------------

    def _container(self, name: str, inputs: dict, urn: str):  # noqa: C901 (one flat mapping)
        i = plain(inputs)
        check_keys("Container", name, i, CONTAINER_KEYS)
        what = f"Container {name!r}"
        image = i.get("image")
        if not image:
            raise RealizeError(f"{what}: image is required")
        self._local_image(image, what)

        # No diff, no change: a container whose inputs are those it was made
        # with in an earlier deployment of this run is left exactly as it is,
        # running or not, as `pulumi up` (without --refresh) leaves it.
        fingerprint = inputs_fingerprint(i)
        existing = self._find("container", urn)
        made = self.state.get(urn) or {}
        if (made.get("container") in {old["Id"] for old in existing}
                and made.get("fingerprint") == fingerprint):
            # Other containers of this URN are leftovers of a failed
            # deployment (pending deletes): they go at the end of this one.
            with self._lock:
                self.current[urn] = made["container"]
            return self._kept_container(made["container"], inputs, what)

        if existing and self._delete_before_replace(i):
            # Delete before replace: the containers of this URN from earlier
            # deployments of the same run go first.
            for old in existing:
                log.info("%s: replacing %s (delete before replace)", what, old["Names"][0].lstrip("/"))
                self.delete_container(old)
        elif existing:
            log.info("%s: replacing %s (create before delete: the old one goes once the deployment "
                     "succeeds)", what, ", ".join(old["Names"][0].lstrip("/") for old in existing))

        cname = i.get("name") or autoname(name)
        must_run = i.get("mustRun", True)
        attach = i.get("attach", False)
        logs = i.get("logs", False)
        start = i.get("start", True)
        wait = i.get("wait", False)
        wait_timeout = as_int(i.get("waitTimeout", 60), f"{what} waitTimeout")
        if logs and not attach:
            raise RealizeError(f"{what}: logs=true needs attach=true")

        # ports
        exposed, bindings = [], {}
        for p in i.get("ports") or []:
            check_keys("Container", name, p, CONTAINER_PORT_KEYS, "ports")
            internal = as_int(p["internal"], f"{what} ports.internal")
            proto = p.get("protocol") or "tcp"
            key = f"{internal}/{proto}"
            exposed.append((internal, proto))
            ext = p.get("external")
            bind = (p.get("ip") or "0.0.0.0", as_int(ext, f"{what} ports.external") if ext is not None else None)
            bindings.setdefault(key, []).append(bind)

        # volumes and mounts
        binds, volumes_from, container_volumes = [], [], []
        for v in i.get("volumes") or []:
            check_keys("Container", name, v, CONTAINER_VOLUME_KEYS, "volumes")
            if v.get("fromContainer"):
                volumes_from.append(v["fromContainer"])
                continue
            src = v.get("hostPath") or v.get("volumeName")
            path = v.get("containerPath")
            if not path:
                raise RealizeError(f"{what}: volumes entry without containerPath: {v}")
            if src:
                binds.append(f"{src}:{path}:{'ro' if v.get('readOnly') else 'rw'}")
            else:
                container_volumes.append(path)
        mounts = []
        for m in i.get("mounts") or []:
            check_keys("Container", name, m, CONTAINER_MOUNT_KEYS, "mounts")
            kind = m["type"]
            kwargs: dict[str, Any] = {"read_only": bool(m.get("readOnly", False))}
            if kind == "tmpfs":
                t = m.get("tmpfsOptions") or {}
                check_keys("Container", name, t, {"sizeBytes", "mode"}, "mounts.tmpfsOptions")
                if t.get("sizeBytes") is not None:
                    kwargs["tmpfs_size"] = as_int(t["sizeBytes"], f"{what} tmpfs sizeBytes")
                if t.get("mode") is not None:
                    kwargs["tmpfs_mode"] = as_int(t["mode"], f"{what} tmpfs mode")
            elif kind == "volume":
                vo = m.get("volumeOptions") or {}
                check_keys("Container", name, vo, {"noCopy", "labels", "driverName", "driverOptions"},
                           "mounts.volumeOptions")
                kwargs["no_copy"] = bool(vo.get("noCopy", False))
                if vo.get("labels"):
                    kwargs["labels"] = label_map(vo["labels"], what)
                if vo.get("driverName"):
                    kwargs["driver_config"] = docker.types.DriverConfig(vo["driverName"], vo.get("driverOptions"))
            elif kind == "bind":
                bo = m.get("bindOptions") or {}
                check_keys("Container", name, bo, {"propagation"}, "mounts.bindOptions")
                if bo.get("propagation"):
                    kwargs["propagation"] = bo["propagation"]
            else:
                raise RealizeError(f"{what}: mount type {kind!r} is not handled")
            mounts.append(Mount(m["target"], m.get("source"), type=kind, **kwargs))

        # health check
        healthcheck = None
        if i.get("healthcheck"):
            h = i["healthcheck"]
            check_keys("Container", name, h, CONTAINER_HEALTHCHECK_KEYS, "healthcheck")
            healthcheck = Healthcheck(
                test=h.get("tests"),
                interval=duration_ns(h.get("interval"), f"{what} healthcheck.interval"),
                timeout=duration_ns(h.get("timeout"), f"{what} healthcheck.timeout"),
                retries=as_int(h.get("retries", 0), f"{what} healthcheck.retries"),
                start_period=duration_ns(h.get("startPeriod"), f"{what} healthcheck.startPeriod"),
            )
            if h.get("startInterval"):
                # API >= 1.44; older engines ignore the field, as the provider's would.
                healthcheck["StartInterval"] = duration_ns(h["startInterval"], f"{what} healthcheck.startInterval")

        caps = i.get("capabilities") or {}
        check_keys("Container", name, caps, {"adds", "drops"}, "capabilities")
        restart = i.get("restart") or "no"
        if restart not in ("no", "on-failure", "always", "unless-stopped"):
            raise RealizeError(f"{what}: restart must be one of no, on-failure, always, unless-stopped")
        restart_policy = {"Name": restart}
        if restart == "on-failure":
            restart_policy["MaximumRetryCount"] = as_int(i.get("maxRetryCount", 0), f"{what} maxRetryCount")
        ulimits = []
        for u in i.get("ulimits") or []:
            check_keys("Container", name, u, {"name", "soft", "hard"}, "ulimits")
            ulimits.append(docker.types.Ulimit(name=u["name"], soft=as_int(u["soft"], what), hard=as_int(u["hard"], what)))
        log_config = None
        if i.get("logDriver") or i.get("logOpts"):
            log_config = docker.types.LogConfig(type=i.get("logDriver") or "json-file", config=i.get("logOpts") or {})

        networks = i.get("networksAdvanced") or []
        for n in networks:
            check_keys("Container", name, n, CONTAINER_NETWORK_KEYS, "networksAdvanced")
        network_mode = i.get("networkMode")
        if network_mode and networks:
            # The provider would also try to disconnect "bridge"; keep it simple and strict.
            raise RealizeError(f"{what}: networkMode together with networksAdvanced is not handled")

        mem = lambda key: (as_int(i[key], f"{what} {key}") * 1024 * 1024) if i.get(key) else None  # noqa: E731
        memswap = i.get("memorySwap")
        host_config = self.api.create_host_config(
            binds=binds or None,
            port_bindings={k: v for k, v in bindings.items()} or None,
            volumes_from=volumes_from or None,
            mounts=mounts or None,
            tmpfs=i.get("tmpfs") or None,
            restart_policy=restart_policy,
            read_only=bool(i.get("readOnly", False)),
            cap_add=caps.get("adds") or None,
            cap_drop=caps.get("drops") or None,
            security_opt=i.get("securityOpts") or None,
            mem_limit=mem("memory"),
            memswap_limit=(memswap * 1024 * 1024 if memswap and memswap > 0 else memswap) if memswap is not None else None,
            mem_reservation=mem("memoryReservation"),
            nano_cpus=int(float(i["cpus"]) * 1e9) if i.get("cpus") else None,
            cpu_shares=as_int(i["cpuShares"], f"{what} cpuShares") if i.get("cpuShares") else None,
            cpuset_cpus=i.get("cpuSet") or None,
            init=i.get("init"),
            shm_size=mem("shmSize"),
            ulimits=ulimits or None,
            sysctls=i.get("sysctls") or None,
            group_add=i.get("groupAdds") or None,
            privileged=bool(i.get("privileged", False)),
            extra_hosts={h["host"]: h["ip"] for h in (i.get("hosts") or [])} or None,
            dns=i.get("dns") or None,
            log_config=log_config,
            network_mode=network_mode or (networks[0]["name"] if networks else None),
            auto_remove=bool(i.get("rm", False)),
        )
        networking_config = None
        if networks:
            first = networks[0]
            networking_config = self.api.create_networking_config({
                first["name"]: self.api.create_endpoint_config(
                    aliases=first.get("aliases") or None, ipv4_address=first.get("ipv4Address"),
                    ipv6_address=first.get("ipv6Address")),
            })
        labels = self._labels(urn, label_map(i.get("labels"), what))
        labels[GRACE_LABEL] = str(as_int(i.get("destroyGraceSeconds", 0), f"{what} destroyGraceSeconds"))
        labels[BEFORE_DELETE_LABEL] = ",".join((getattr(self._local, "options", None) or {}).get("beforeDelete", []))
        try:
            created = self.api.create_container(
                image, command=i.get("command") or None, entrypoint=i.get("entrypoints") or None,
                environment=i.get("envs") or None, user=i.get("user") or None, name=cname,
                ports=exposed or None, volumes=container_volumes or None, host_config=host_config,
                networking_config=networking_config, labels=labels, healthcheck=healthcheck,
                stop_signal=i.get("stopSignal") or None,
                stop_timeout=as_int(i["stopTimeout"], what) if i.get("stopTimeout") is not None else None,
                hostname=i.get("hostname") or None, working_dir=i.get("workingDir") or None,
                detach=True,
            )
        except docker.errors.APIError as e:
            raise RealizeError(f"{what}: unable to create container {cname!r}: {e.explanation or e}") from None
        cid = created["Id"]
        self.created.append(("container", cname, cid))
        for n in networks[1:]:
            self.api.connect_container_to_network(
                cid, n["name"], aliases=n.get("aliases") or None,
                ipv4_address=n.get("ipv4Address"), ipv6_address=n.get("ipv6Address"))

        # As the provider: uploads are copied in after the network connections,
        # before the start (a read-only root file system refuses them).
        for upload in i.get("uploads") or []:
            self._upload(cid, cname, what, upload)

        state: dict[str, Any] = {**inputs, "name": cname, "bridge": ""}
        if not start:
            return cid, self._container_state(cid, state)
        started_at = time.monotonic()
        try:
            self.api.start(cid)
        except docker.errors.APIError as e:
            raise RealizeError(f"{what}: unable to start container {cname!r}: {e.explanation or e}") from None

        if wait:
            self._wait_healthy(cid, cname, what, wait_timeout)
        elif not attach and must_run:
            # The provider looks at the state after a short delay (its read
            # refresh); a container that dies at once must not slip through.
            time.sleep(MUST_RUN_SETTLE_SECONDS)

        if attach:
            result = self.api.wait(cid)
            log.info("%s exited with code %s after %.1fs", cname, result.get("StatusCode"), time.monotonic() - started_at)
            if logs:
                state["containerLogs"] = self.api.logs(cid, stdout=True, stderr=True).decode("utf-8", "replace")

        info = self._inspect(cid)
        if info is None:
            if i.get("rm"):
                return cid, state
            raise RealizeError(f"{what}: container {cname!r} disappeared")
        if not info["State"]["Running"]:
            if must_run:
                tail = self._logs_tail(cid)
                self.api.remove_container(cid, v=True, force=True)
                raise RealizeError(
                    f"{what}: container {cname!r} exited immediately (exit code "
                    f"{info['State']['ExitCode']}), but mustRun is true; its last log lines:\n{tail}"
                )
            # As the provider: a non-zero exit is not an error, it is reported as exitCode.
            state["exitCode"] = info["State"]["ExitCode"]
        self.state.put(urn, {"container": cid, "fingerprint": fingerprint})
        with self._lock:
            self.current[urn] = cid
        return cid, self._container_state(cid, state, info)

    def _delete_before_replace(self, inputs: dict) -> bool:
        """The engine's choice: the registration's deleteBeforeReplace when
        the program defined it, else the provider's (the Terraform bridge asks
        for delete-before-replace when an auto-nameable `name` is given)."""
        options = getattr(self._local, "options", None) or {}
        if options.get("deleteBeforeReplaceDefined"):
            return bool(options.get("deleteBeforeReplace"))
        return bool(options.get("deleteBeforeReplace")) or bool(inputs.get("name"))

    def _upload(self, cid: str, cname: str, what: str, upload: dict) -> None:
        """One `uploads` entry, as terraform-provider-docker copies it: a tar
        with the file at its absolute path, extracted at / (mode 0644, 0744
        when executable, or `permissions`; owned by root)."""
        import base64
        import io
        import tarfile

        check_keys("Container", cname, upload, CONTAINER_UPLOAD_KEYS, "uploads")
        path = upload.get("file")
        if not path:
            raise RealizeError(f"{what}: an uploads entry has no file")
        sources = [k for k in ("content", "contentBase64", "source") if upload.get(k)]
        if len(sources) != 1:
            raise RealizeError(f"{what}: upload {path}: exactly one of content, contentBase64 or source "
                               f"must be set, got {sources}")
        if upload.get("content"):
            data = str(upload["content"]).encode()
        elif upload.get("contentBase64"):
            data = base64.b64decode(upload["contentBase64"])
        else:
            with open(os.path.join(self.program_dir, upload["source"]), "rb") as f:
                data = f.read()
        mode = 0o744 if upload.get("executable") else 0o644
        if upload.get("permissions"):
            mode = int(str(upload["permissions"]), 8)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            archive.addfile(info, io.BytesIO(data))
        try:
            self.api.put_archive(cid, "/", buffer.getvalue())
        except docker.errors.APIError as e:
            raise RealizeError(f"{what}: unable to upload {path} into {cname!r}: {e.explanation or e}") from None

    def delete_container(self, container: dict) -> None:
        """Delete as the engine and the provider do: the resource's
        before_delete hooks first (a failing one fails the delete), then stop
        with the container's destroyGraceSeconds (unless it was attached),
        then remove."""
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
        from pulumi.resource_hooks import ResourceHookArgs

        cid, cname = container["Id"], container["Names"][0].lstrip("/")
        labels = container.get("Labels") or {}
        for name in filter(None, (labels.get(BEFORE_DELETE_LABEL) or "").split(",")):
            hook = self.hooks.get(name)
            if hook is None:
                raise RealizeError(f"container {cname}: its before_delete hook {name!r} is not registered "
                                   f"by the program (the engine would fail the delete)")
            started = time.monotonic()
            args = ResourceHookArgs(
                urn=labels.get(URN_LABEL, ""), id=cid, name=cname, type="docker:index/container:Container",
                old_outputs={"name": cname, "image": container.get("ImageID")})
            context = (self.program_context or contextvars.copy_context()).copy()
            try:
                result = context.run(hook.callback, args)
                if inspect.isawaitable(result):
                    context.run(asyncio.run, result)
            except Exception as e:
                raise RealizeError(f"container {cname}: before_delete hook {name!r} failed: "
                                   f"{type(e).__name__}: {e}") from e
            with self._lock:
                self.hook_runs.append({"hook": name, "container": cname,
                                       "seconds": round(time.monotonic() - started, 2)})

    def delete_replaced(self) -> list[str]:
        """After a successful deployment: delete the containers that a
        create-before-delete replacement (now or in a failed deployment
        before) left behind, all at once, as the engine's delete phase does."""
        with self._lock:
            current = dict(self.current)
        stale = [c for c in self.api.containers(all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"})
                 if (c.get("Labels") or {}).get(URN_LABEL) in current
                 and c["Id"] != current[(c.get("Labels") or {}).get(URN_LABEL)]]
        errors: list[str] = []

        def delete(container: dict) -> None:
            try:
                self.delete_container(container)
            except Exception as e:  # noqa: BLE001 - reported below: a failed delete fails the deployment
                with self._lock:
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

    def _kept_container(self, cid: str, inputs: dict, what: str):
        """The outputs of a container left unchanged, as its state would give them."""
        info = self._inspect(cid)
        if info is None:
            raise RealizeError(f"{what}: container {cid[:12]} disappeared")
        i = plain(inputs)
        log.info("%s: inputs unchanged, %s kept as it is (%s)", what, info["Name"].lstrip("/"),
                 info["State"].get("Status"))
        state: dict[str, Any] = {**inputs, "name": info["Name"].lstrip("/"), "bridge": ""}
        if i.get("attach"):
            if i.get("logs"):
                state["containerLogs"] = self.api.logs(cid, stdout=True, stderr=True).decode("utf-8", "replace")
            if not info["State"]["Running"]:
                state["exitCode"] = info["State"]["ExitCode"]
        return cid, self._container_state(cid, state, info)

    def _inspect(self, cid: str) -> Optional[dict]:
        try:
            return self.api.inspect_container(cid)
        except docker.errors.NotFound:
            return None

    def _logs_tail(self, cid: str, lines: int = 40) -> str:
        try:
            return self.api.logs(cid, stdout=True, stderr=True, tail=lines).decode("utf-8", "replace").rstrip()
        except docker.errors.APIError as e:
            return f"(logs unavailable: {e})"

    def _wait_healthy(self, cid: str, cname: str, what: str, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        while True:
            info = self._inspect(cid)
            if info is None:
                raise RealizeError(f"{what}: container {cname!r} disappeared while waiting for it to be healthy")
            health = info["State"].get("Health")
            if health is None:
                raise RealizeError(f"{what}: wait=true but container {cname!r} has no health check")
            if health.get("Status") == "healthy":
                return
            if not info["State"]["Running"] and info["State"].get("Status") in ("exited", "dead"):
                # It can no longer become healthy; the provider would time out, fail now.
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        probes = "\n".join(
            f"  exit {p.get('ExitCode')}: {str(p.get('Output', '')).strip()[:300]}"
            for p in ((info["State"].get("Health") or {}).get("Log") or [])[-3:]
        )
        raise RealizeError(
            f"{what}: container {cname!r} did not become healthy within {timeout}s "
            f"(state {info['State'].get('Status')}, health {(info['State'].get('Health') or {}).get('Status')}, "
            f"exit code {info['State'].get('ExitCode')}).\nLast health probes:\n{probes}\n"
            f"Last log lines:\n{self._logs_tail(cid)}"
        )

    def _container_state(self, cid: str, state: dict, info: Optional[dict] = None) -> dict:
        info = info or self._inspect(cid) or {}
        nets = (info.get("NetworkSettings") or {}).get("Networks") or {}
        state["networkDatas"] = [
            {"networkName": n, "ipAddress": d.get("IPAddress", ""), "ipPrefixLength": d.get("IPPrefixLen", 0),
             "gateway": d.get("Gateway", ""), "macAddress": d.get("MacAddress", ""),
             "globalIpv6Address": d.get("GlobalIPv6Address", ""),
             "globalIpv6PrefixLength": d.get("GlobalIPv6PrefixLen", 0), "ipv6Gateway": d.get("IPv6Gateway", "")}
            for n, d in sorted(nets.items())
        ]
        return state

    # --- random ----------------------------------------------------------------

    def _remembered(self, generate):
        """Random values are kept per run id and URN, as Pulumi's state keeps
        them: a second deployment of the same run gets the same password (the
        database in a kept volume knows only that one). New inputs (keepers,
        length...) make a new value, as a replacement would."""
        def handler(name: str, inputs: dict, urn: str):
            key_inputs = plain(inputs)
            kept = self.state.get(urn)
            if kept is not None and kept["inputs"] == key_inputs:
                return kept["id"], {**inputs, **kept["outputs"]}
            rid, state = generate(name, inputs, urn)
            self.state.put(urn, {"inputs": key_inputs, "id": rid,
                                 "outputs": {k: v for k, v in state.items() if k not in inputs}})
            return rid, state
        return handler

    def _random_chars(self, name: str, i: dict, kind: str) -> str:
        check_keys(kind, name, i, RANDOM_PASSWORD_KEYS)
        length = as_int(i.get("length"), f"{kind} {name!r} length")
        numeric = i.get("numeric", i.get("number", True))
        classes = []
        for enabled, chars, minimum in (
            (i.get("upper", True), string.ascii_uppercase, i.get("minUpper", 0)),
            (i.get("lower", True), string.ascii_lowercase, i.get("minLower", 0)),
            (numeric, string.digits, i.get("minNumeric", 0)),
            (i.get("special", True), i.get("overrideSpecial") or DEFAULT_SPECIAL, i.get("minSpecial", 0)),
        ):
            if enabled:
                classes.append((chars, as_int(minimum or 0, f"{kind} {name!r} min")))
        if not classes:
            raise RealizeError(f"{kind} {name!r}: every character class is disabled")
        if sum(m for _, m in classes) > length:
            raise RealizeError(f"{kind} {name!r}: length is less than the sum of the minimums")
        rng = secrets.SystemRandom()
        chars = [rng.choice(c) for c, m in classes for _ in range(m)]
        pool = "".join(c for c, _ in classes)
        chars += [rng.choice(pool) for _ in range(length - len(chars))]
        rng.shuffle(chars)
        return "".join(chars)

    def _random_password(self, name: str, inputs: dict, urn: str):
        result = self._random_chars(name, plain(inputs), "RandomPassword")
        # bcryptHash is not computed (no bcrypt here); reading it yields None.
        return "none", {**inputs, "result": result}

    def _random_string(self, name: str, inputs: dict, urn: str):
        result = self._random_chars(name, plain(inputs), "RandomString")
        return result, {**inputs, "result": result}

    def _random_id(self, name: str, inputs: dict, urn: str):
        import base64
        i = plain(inputs)
        check_keys("RandomId", name, i, {"byteLength", "prefix", "keepers"})
        raw = secrets.token_bytes(as_int(i.get("byteLength"), f"RandomId {name!r} byteLength"))
        prefix = i.get("prefix") or ""
        b64url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return b64url, {**inputs, "hex": prefix + raw.hex(), "b64Url": prefix + b64url,
                        "b64Std": prefix + base64.b64encode(raw).decode(), "dec": prefix + str(int.from_bytes(raw, "big"))}

    def _random_integer(self, name: str, inputs: dict, urn: str):
        i = plain(inputs)
        check_keys("RandomInteger", name, i, {"min", "max", "seed", "keepers"})
        if i.get("seed"):
            raise RealizeError(f"RandomInteger {name!r}: seed is not handled")
        lo, hi = as_int(i["min"], "min"), as_int(i["max"], "max")
        value = lo + secrets.randbelow(hi - lo + 1)
        return str(value), {**inputs, "result": value}

    def _random_uuid(self, name: str, inputs: dict, urn: str):
        import uuid
        check_keys("RandomUuid", name, plain(inputs), {"keepers"})
        value = str(uuid.uuid4())
        return value, {**inputs, "result": value}

    def _provider(self, name: str, inputs: dict, urn: str):
        i = plain(inputs)
        check_keys("provider", name, i, PROVIDER_KEYS)
        host = i.get("host")
        if host and host not in ("unix:///var/run/docker.sock", os.environ.get("DOCKER_HOST")):
            raise RealizeError(f"provider {name!r}: host {host!r} is not this harness's engine")
        return f"{name}-provider", dict(inputs)


# ---------------------------------------------------------------------------
# the little state a run keeps


def state_dir() -> str:
    return os.environ.get("LIVE_STATE_DIR") or os.path.join(tempfile.gettempdir(), "library-live-state")


class RunState:
    """Values of random resources per run id, in a 0600 JSON file outside the
    repository (LIVE_STATE_DIR, default <tmp>/library-live-state), and for
    each container the id and inputs digest it was made with. Docker objects
    are found by the run and URN labels they carry."""

    def __init__(self, run_id: str):
        self.path = os.path.join(state_dir(), f"{run_id}.json")
        self._lock = threading.Lock()

    def _load(self) -> dict:
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def get(self, urn: str) -> Optional[dict]:
        with self._lock:
            return self._load().get(urn)

    def put(self, urn: str, value: dict) -> None:
        with self._lock:
            data = self._load()
            data[urn] = value
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)

    def forget(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------------------
# teardown and inspection


def run_objects(run_id: str, client: Optional[docker.DockerClient] = None) -> dict[str, list[str]]:
    """Names of the containers, networks and volumes that carry the run label."""
    client = client or docker.from_env()
    api = client.api
    flt = {"label": f"{RUN_LABEL}={run_id}"}
    return {
        "containers": sorted(c["Names"][0].lstrip("/") for c in api.containers(all=True, filters=flt)),
        "networks": sorted(n["Name"] for n in api.networks(filters=flt)),
        "volumes": sorted(v["Name"] for v in (api.volumes(filters=flt) or {}).get("Volumes") or []),
    }


def teardown(run_id: str, remove_volumes: bool = False, client: Optional[docker.DockerClient] = None,
             extra_volumes: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Remove a run's containers and networks, and its volumes when asked.

    Only objects labelled ``org.library.live-run=<run_id>`` are touched (plus
    ``extra_volumes`` by name, when ``remove_volumes``). With the volumes go
    the run's remembered random values. Returns what was removed. Repeats
    until nothing of the run is left, so that an object the engine finished
    creating late (a request of a deployment that died) is removed too.
    """
    client = client or docker.from_env()
    api = client.api
    flt = {"label": f"{RUN_LABEL}={run_id}"}
    removed: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}

    def remove(kind: str, name: str, call, *args, **kwargs) -> None:
        try:
            call(*args, **kwargs)
            if name not in removed[kind]:
                removed[kind].append(name)
        except docker.errors.NotFound:
            pass

    for attempt in range(5):
        errors = []
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
