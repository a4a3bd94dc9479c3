"""docker:index/container:Container, with the provider's semantics.

Follows terraform-provider-docker v4.5.0 (the version pulumi-docker 5.x bridges)
internal/provider/resource_docker_container.go (the schema: which attributes are ForceNew) and
resource_docker_container_funcs.go: resourceDockerContainerCreate (create, connect networks,
uploads, start, ``wait``/``attach``), resourceDockerContainerRead (``mustRun``, ``exitCode``),
resourceDockerContainerUpdate (one ContainerUpdate call) and resourceDockerContainerDelete.
pulumi-docker provider/resources.go sets DeleteBeforeReplace for Container; the engine
(tests/harness/engine.py) decides create/update/replace from diff() below. Each piece of the
container's configuration is one function below (see docs/testing.md, the live tier)."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import tarfile
import time
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
import requests
from docker.types import Healthcheck, Mount

from ..engine import Diff, PartialCreate, ResourceType, input_diff
from ..state import Entry
from ..values import RealizeError, as_int, autoname, check_keys, duration_ns, label_map, plain

if TYPE_CHECKING:
    from ..realizer import Realizer

log = logging.getLogger("live.realizer")

# Input keys handled (an unknown one fails the deployment, naming it).
CONTAINER_KEYS = {
    "image",
    "name",
    "command",
    "entrypoints",
    "envs",
    "ports",
    "networksAdvanced",
    "networkMode",
    "volumes",
    "mounts",
    "tmpfs",
    "healthcheck",
    "restart",
    "maxRetryCount",
    "user",
    "readOnly",
    "capabilities",
    "securityOpts",
    "memory",
    "memorySwap",
    "memoryReservation",
    "cpus",
    "cpuShares",
    "cpuSet",
    "labels",
    "wait",
    "waitTimeout",
    "mustRun",
    "attach",
    "logs",
    "start",
    "init",
    "stopSignal",
    "stopTimeout",
    "hostname",
    "workingDir",
    "logDriver",
    "logOpts",
    "shmSize",
    "ulimits",
    "sysctls",
    "groupAdds",
    "privileged",
    "hosts",
    "dns",
    # Only used when the container is deleted; teardown removes containers with
    # their anonymous volumes and without a grace period.
    "destroyGraceSeconds",
    "removeVolumes",
    "containerReadRefreshTimeoutMilliseconds",
    # rm (auto-remove): accepted, see _settle below.
    "rm",
    # Files copied into the container after it is created, before it starts.
    "uploads",
}
CONTAINER_UPLOAD_KEYS = {"file", "content", "contentBase64", "executable", "permissions", "source", "sourceHash"}
CONTAINER_HEALTHCHECK_KEYS = {"tests", "interval", "timeout", "retries", "startPeriod", "startInterval"}
CONTAINER_PORT_KEYS = {"internal", "external", "ip", "protocol"}
CONTAINER_NETWORK_KEYS = {"name", "aliases", "ipv4Address", "ipv6Address"}
CONTAINER_VOLUME_KEYS = {"volumeName", "containerPath", "hostPath", "readOnly", "fromContainer"}
CONTAINER_MOUNT_KEYS = {"target", "type", "source", "readOnly", "tmpfsOptions", "volumeOptions", "bindOptions"}

#: resource_docker_container.go: the attributes that force a new container (ForceNew), by
#: their Pulumi names. Every other attribute is updated in place (UPDATED_IN_PLACE) or only
#: recorded in the state (a no-op update).
FORCE_NEW = {
    "name", "readOnly", "image", "hostname", "domainname", "command", "entrypoints", "user", "dns", "dnsOpts",
    "dnsSearches", "publishAllPorts", "workingDir", "capabilities", "securityOpts", "runtime", "platform",
    "stopSignal", "stopTimeout", "mounts", "volumes", "ports", "hosts", "ulimits", "envs", "privileged", "devices",
    "deviceRequests", "labels", "shmSize", "logDriver", "logOpts", "networkMode", "networksAdvanced", "pidMode",
    "usernsMode", "uploads", "sysctls", "ipcMode", "groupAdds", "tty", "stdinOpen", "storageOpts", "gpus", "cpus",
    "cgroupnsMode", "cgroupParent",
}  # fmt: skip
#: resource_docker_container_funcs.go: resourceDockerContainerUpdate: a change to one of these makes
#: one ContainerUpdate call with all of them (and mustRun false -> true starts the container).
UPDATED_IN_PLACE = {"restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap"}
#: The schema's TypeSet attributes: their order does not make a change.
SET_TYPED = {"labels", "envs", "volumes", "uploads", "networksAdvanced", "hosts", "ulimits", "groupAdds", "devices",
             "mounts", "dns", "dnsOpts", "dnsSearches", "securityOpts"}  # fmt: skip
#: The schema's defaults of the attributes a diff or an update reads.
DEFAULTS: dict[str, Any] = {"mustRun": True, "start": True, "restart": "no", "maxRetryCount": 0, "memoryReservation": 0,
                            "wait": False, "waitTimeout": 60, "attach": False, "logs": False, "removeVolumes": True,
                            "destroyGraceSeconds": 0}  # fmt: skip


def _value(i: dict[str, Any], key: str) -> Any:
    value = i.get(key)
    return DEFAULTS.get(key) if value is None else value


def _canonical(key: str, value: Any) -> Any:
    """A value as the provider compares it: a set attribute without its order."""
    if key in SET_TYPED and isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True, default=str) for v in value)
    return value


# --- the provider's CRUD ----------------------------------------------------------------


def diff(r: Realizer, name: str, old: Entry, news: dict) -> Diff:
    """The bridge's Diff (pulumi-terraform-bridge pkg/tfbridge/provider.go: Diff): a changed ForceNew
    attribute is a replacement, delete-before-replace as pulumi-docker provider/resources.go asks
    (DeleteBeforeReplace: true, returned only with a replacement); any other change is an update.
    mustRun is compared with the state, where resourceDockerContainerRead sets it false when the
    container is not running (so that the next `up` starts it)."""
    olds, new = plain(old.get("inputs") or {}), plain(news)
    changed = [
        k
        for k in input_diff(old, news)
        if _canonical(k, _value(olds, k)) != _canonical(k, _value(new, k)) and k != "mustRun"
    ]
    if plain(old.get("outputs") or {}).get("mustRun", _value(olds, "mustRun")) != _value(new, "mustRun"):
        changed.append("mustRun")
    replaces = [k for k in changed if k in FORCE_NEW]
    return Diff(sorted(changed), replaces, delete_before_replace=bool(replaces))


def check(r: Realizer, name: str, old: Entry | None, news: dict) -> dict:
    """The bridge's Check auto-names: a container without `name` gets <name>-<7 chars> in its
    inputs, the old one's when there is one (pulumi-terraform-bridge pkg/tfbridge/names.go:
    AutoName; provider.go: Check). So a retried create reuses the name; a replacement (Check
    again without olds) gets a new one."""
    if news.get("name"):
        return news
    old_name = plain((old or {}).get("inputs") or {}).get("name")
    return {**news, "name": old_name or autoname(name)}


def create(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    """resourceDockerContainerCreate: once ContainerCreate has returned an id, a later failure
    (network, upload, start, wait) leaves the container in the state with an init error."""
    i = plain(inputs)
    check_keys("Container", name, i, CONTAINER_KEYS)
    what = f"Container {name!r}"
    image = i.get("image")
    if not image:
        raise RealizeError(f"{what}: image is required")
    r.local_image(image, what)
    if _value(i, "logs") and not _value(i, "attach"):
        raise RealizeError(f"{what}: logs=true needs attach=true")
    cname = i.get("name") or autoname(name)
    cid = _create(r, name, what, i, urn, cname)
    outputs: dict[str, Any] = {**inputs, "name": cname, "bridge": ""}
    try:
        _connect_and_upload(r, cid, cname, what, i)
        if _value(i, "start"):
            _start(r, cid, cname, what, i, outputs)
    except (RealizeError, docker.errors.DockerException, requests.RequestException, OSError) as e:
        # Any failure once the id exists, a lost connection to the engine included: the provider sets
        # the id right after ContainerCreate (terraform-provider-docker
        # internal/provider/resource_docker_container_funcs.go:460, d.SetId), so it reports a partial create.
        message = str(e) if isinstance(e, RealizeError) else f"{what}: {type(e).__name__}: {e}"
        try:
            state = _read(r, cid, i, outputs)
        except (RealizeError, docker.errors.DockerException, requests.RequestException, OSError):
            state = outputs  # the engine cannot be read either: what the create knew
        raise PartialCreate(message, cid, state) from None
    return cid, _read(r, cid, i, outputs)


def update(r: Realizer, name: str, old: Entry, news: dict, urn: str) -> dict:
    """resourceDockerContainerUpdate: mustRun false -> true starts the container; a change of
    an UPDATED_IN_PLACE attribute makes ONE ContainerUpdate call with all of them, MemorySwap only
    when memorySwap is set (so Docker refuses a memory above the swap it set at creation); any
    other change (healthcheck, wait, tmpfs, destroyGraceSeconds...) is recorded in the state only."""
    olds, i = plain(old.get("inputs") or {}), plain(news)
    check_keys("Container", name, i, CONTAINER_KEYS)
    what = f"Container {name!r}"
    cid = old["id"]
    outputs = {**old.get("outputs", {}), **news}
    was_running = plain(old.get("outputs") or {}).get("mustRun", _value(olds, "mustRun"))
    if not was_running and _value(i, "mustRun") and _value(i, "start"):
        log.info("%s: mustRun false -> true: starting %s", what, cid[:12])
        try:
            r.api.start(cid)
        except docker.errors.APIError as e:
            raise RealizeError(f"{what}: Unable to start container: {_daemon(e)}") from None
    if any(_value(olds, k) != _value(i, k) for k in UPDATED_IN_PLACE):
        body: dict[str, Any] = {
            "RestartPolicy": {
                "Name": _value(i, "restart"),
                "MaximumRetryCount": as_int(_value(i, "maxRetryCount"), f"{what} maxRetryCount"),
            },
            "CpuShares": as_int(i.get("cpuShares") or 0, f"{what} cpuShares"),
            "Memory": as_int(i.get("memory") or 0, f"{what} memory") * 1024 * 1024,
            "MemoryReservation": as_int(i.get("memoryReservation") or 0, f"{what} memoryReservation") * 1024 * 1024,
            "CpusetCpus": i.get("cpuSet") or "",
        }
        if i.get("memorySwap"):  # d.GetOk: set and not zero
            swap = as_int(i["memorySwap"], f"{what} memorySwap")
            body["MemorySwap"] = swap * 1024 * 1024 if swap > 0 else swap
        log.info("%s: updating %s in place: %s", what, cid[:12], body)
        try:
            response = r.api._post_json(r.api._url("/containers/{0}/update", cid), data=body)
            r.api._result(response, True)
        except docker.errors.APIError as e:
            raise RealizeError(f"{what}: Unable to update a container: {_daemon(e)}") from None
    return _read(r, cid, i, outputs)


def delete(r: Realizer, entry: Entry) -> None:
    """resourceDockerContainerDelete: unless attached, stop with destroyGraceSeconds (0: at once);
    remove (force, with its anonymous volumes when removeVolumes); "No such container" is fine."""
    i = plain(entry.get("inputs") or {})
    cid = entry["id"]
    cname = plain(entry.get("outputs") or {}).get("name", cid[:12])
    try:
        if not _value(i, "attach"):
            r.api.stop(cid, timeout=as_int(_value(i, "destroyGraceSeconds"), "destroyGraceSeconds"))
        r.api.remove_container(cid, v=bool(_value(i, "removeVolumes")), force=True)
        log.info("deleted container %s", cname)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        if "is already in progress" not in str(e):
            raise RealizeError(f"Error deleting container {cid}: {_daemon(e)}") from None


TYPE = ResourceType(create=create, diff=diff, update=update, delete=delete, check=check)


def _daemon(e: docker.errors.APIError) -> str:
    """A Docker error as the Go client words it."""
    return f"Error response from daemon: {e.explanation or e}"


def _read(r: Realizer, cid: str, i: dict[str, Any], outputs: dict[str, Any]) -> dict:
    """resourceDockerContainerRead after a create or update: a container that is not running
    reports its exitCode and, when mustRun, mustRun false in the state (v4 fails nothing here:
    the next `up` sees mustRun change and starts it); networkDatas from the endpoints."""
    info = r.inspect(cid)
    if info is None:
        return outputs
    if not info["State"]["Running"]:
        outputs["exitCode"] = info["State"]["ExitCode"]
        if _value(i, "mustRun"):
            log.warning("container %s is not running but mustRun is true: mustRun false in the state", cid[:12])
            outputs["mustRun"] = False
    elif "mustRun" in outputs and outputs["mustRun"] is False and _value(i, "mustRun"):
        outputs["mustRun"] = True
    return _with_network_data(r, cid, outputs, info)


def _container_labels(r: Realizer, what: str, i: dict[str, Any], urn: str) -> dict[str, str]:
    """The program's labels and the run's (which find the run's objects for teardown)."""
    return r.labels(urn, label_map(i.get("labels"), what))


# --- create, start, wait --------------------------------------------------------


def _create(r: Realizer, name: str, what: str, i: dict[str, Any], urn: str, cname: str) -> str:
    """ContainerCreate; its id. A taken name fails as the provider reports Docker's 409
    ("Unable to create container: Error response from daemon: Conflict. The container name ...")."""
    image = i["image"]
    exposed, bindings = _ports(name, what, i)
    binds, volumes_from, anonymous = _volumes(name, what, i)
    networks, network_mode = _networks(name, what, i)
    host_config = _host_config(r, name, what, i, bindings, binds, volumes_from, networks, network_mode)
    networking_config = None
    if networks:
        first = networks[0]
        networking_config = r.api.create_networking_config(
            {
                first["name"]: r.api.create_endpoint_config(
                    aliases=first.get("aliases") or None,
                    ipv4_address=first.get("ipv4Address"),
                    ipv6_address=first.get("ipv6Address"),
                ),
            }
        )
    try:
        created = r.api.create_container(
            image,
            command=i.get("command") or None,
            entrypoint=i.get("entrypoints") or None,
            environment=i.get("envs") or None,
            user=i.get("user") or None,
            name=cname,
            ports=exposed or None,
            volumes=anonymous or None,
            host_config=host_config,
            networking_config=networking_config,
            labels=_container_labels(r, what, i, urn),
            healthcheck=_healthcheck(name, what, i),
            stop_signal=i.get("stopSignal") or None,
            stop_timeout=as_int(i["stopTimeout"], what) if i.get("stopTimeout") is not None else None,
            hostname=i.get("hostname") or None,
            working_dir=i.get("workingDir") or None,
            detach=True,
        )
    except docker.errors.APIError as e:
        raise RealizeError(f"{what}: Unable to create container: {_daemon(e)}") from None
    cid: str = created["Id"]
    r.created.append(("container", cname, cid))
    return cid


def _connect_and_upload(r: Realizer, cid: str, cname: str, what: str, i: dict[str, Any]) -> None:
    """As resourceDockerContainerCreate after the create: the other networks, then the uploads
    (before the start: a read-only root file system refuses them, as with the provider)."""
    networks, _ = _networks(cname, what, i)
    for n in networks[1:]:
        try:
            r.api.connect_container_to_network(
                cid,
                n["name"],
                aliases=n.get("aliases") or None,
                ipv4_address=n.get("ipv4Address"),
                ipv6_address=n.get("ipv6Address"),
            )
        except docker.errors.APIError as e:
            raise RealizeError(f"{what}: Unable to connect to network '{n['name']}': {_daemon(e)}") from None
    for upload in i.get("uploads") or []:
        _upload(r, cid, cname, what, upload)


def _start(r: Realizer, cid: str, cname: str, what: str, i: dict[str, Any], outputs: dict[str, Any]) -> None:
    """ContainerStart, then wait as the provider does: healthy (`wait`), or exited (`attach`,
    with containerLogs when `logs`)."""
    started_at = time.monotonic()
    try:
        r.api.start(cid)
    except docker.errors.APIError as e:
        raise RealizeError(f"{what}: Unable to start container: {_daemon(e)}") from None
    if _value(i, "wait"):
        _wait_healthy(r, cid, cname, what, as_int(_value(i, "waitTimeout"), f"{what} waitTimeout"))
    if _value(i, "attach"):
        result = r.api.wait(cid)
        log.info("%s exited with code %s after %.1fs", cname, result.get("StatusCode"), time.monotonic() - started_at)
        if _value(i, "logs"):
            outputs["containerLogs"] = r.api.logs(cid, stdout=True, stderr=True).decode("utf-8", "replace")


#: resourceDockerContainerCreate polls the health every second (time.Sleep(time.Second)).
HEALTH_POLL_SECONDS = 1.0


def _wait_healthy(r: Realizer, cid: str, cname: str, what: str, timeout: int) -> None:
    """resourceDockerContainerCreate with wait=true: inspect every second until healthy, through
    `unhealthy` and even an exited container, until waitTimeout; then "container failed to be in
    healthy state" (here with the state, the last probes and log lines, to be readable)."""
    deadline = time.monotonic() + timeout
    while True:
        info = r.inspect(cid)
        if info is not None:
            health = info["State"].get("Health")
            if health is None:
                raise RealizeError(
                    f"{what}: you have supplied a 'wait' argument, but the container does not have a healthcheck "
                    f"defined. Please remove the 'wait' argument or add a 'healthcheck' attribute"
                )
            if health.get("Status") == "healthy":
                return
        if time.monotonic() + HEALTH_POLL_SECONDS > deadline:
            break
        time.sleep(HEALTH_POLL_SECONDS)
    time.sleep(max(0.0, deadline - time.monotonic()))
    info = r.inspect(cid) or {"State": {}}
    state = info["State"]
    probes = "\n".join(
        f"  exit {p.get('ExitCode')}: {str(p.get('Output', '')).strip()[:300]}"
        for p in ((state.get("Health") or {}).get("Log") or [])[-3:]
    )
    raise RealizeError(
        f"{what}: container failed to be in healthy state: {cname!r} was not healthy within {timeout}s "
        f"(state {state.get('Status')}, health {(state.get('Health') or {}).get('Status')}, "
        f"exit code {state.get('ExitCode')}).\nLast health probes:\n{probes}\n"
        f"Last log lines:\n{r.logs_tail(cid)}"
    )


def _upload(r: Realizer, cid: str, cname: str, what: str, upload: dict[str, Any]) -> None:
    """One `uploads` entry, as terraform-provider-docker copies it: a tar
    with the file at its absolute path, extracted at / (mode 0644, 0744
    when executable, or `permissions`; owned by root)."""
    check_keys("Container", cname, upload, CONTAINER_UPLOAD_KEYS, "uploads")
    path = upload.get("file")
    if not path:
        raise RealizeError(f"{what}: an uploads entry has no file")
    sources = [k for k in ("content", "contentBase64", "source") if upload.get(k)]
    if len(sources) != 1:
        raise RealizeError(
            f"{what}: upload {path}: exactly one of content, contentBase64 or source must be set, got {sources}"
        )
    if upload.get("content"):
        data = str(upload["content"]).encode()
    elif upload.get("contentBase64"):
        data = base64.b64decode(upload["contentBase64"])
    else:
        with open(os.path.join(r.program_dir, upload["source"]), "rb") as f:
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
        r.api.put_archive(cid, "/", buffer.getvalue())
    except docker.errors.APIError as e:
        raise RealizeError(f"{what}: unable to upload {path} into {cname!r}: {e.explanation or e}") from None


def _with_network_data(r: Realizer, cid: str, state: dict, info: dict | None = None) -> dict:
    """The `networkDatas` output, as resourceDockerContainerRead flattens the endpoints."""
    info = info or r.inspect(cid) or {}
    nets = (info.get("NetworkSettings") or {}).get("Networks") or {}
    state["networkDatas"] = [
        {
            "networkName": n,
            "ipAddress": d.get("IPAddress", ""),
            "ipPrefixLength": d.get("IPPrefixLen", 0),
            "gateway": d.get("Gateway", ""),
            "macAddress": d.get("MacAddress", ""),
            "globalIpv6Address": d.get("GlobalIPv6Address", ""),
            "globalIpv6PrefixLength": d.get("GlobalIPv6PrefixLen", 0),
            "ipv6Gateway": d.get("IPv6Gateway", ""),
        }
        for n, d in sorted(nets.items())
    ]
    return state


# --- the pieces of the configuration ------------------------------------------


def _ports(name: str, what: str, i: dict[str, Any]) -> tuple[list[tuple[int, str]], dict[str, list]]:
    """Exposed ports and their host bindings (ip 0.0.0.0 and protocol tcp by default)."""
    exposed: list[tuple[int, str]] = []
    bindings: dict[str, list] = {}
    for p in i.get("ports") or []:
        check_keys("Container", name, p, CONTAINER_PORT_KEYS, "ports")
        internal = as_int(p["internal"], f"{what} ports.internal")
        proto = p.get("protocol") or "tcp"
        exposed.append((internal, proto))
        ext = p.get("external")
        bind = (p.get("ip") or "0.0.0.0", as_int(ext, f"{what} ports.external") if ext is not None else None)
        bindings.setdefault(f"{internal}/{proto}", []).append(bind)
    return exposed, bindings


def _volumes(name: str, what: str, i: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """`volumes`: binds (named volume or host path), volumes-from, and anonymous volumes."""
    binds: list[str] = []
    volumes_from: list[str] = []
    anonymous: list[str] = []
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
            anonymous.append(path)
    return binds, volumes_from, anonymous


def _mount_options(name: str, what: str, m: dict[str, Any]) -> dict[str, Any]:
    """The docker SDK's Mount options for one `mounts` entry, by its type."""
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
        check_keys("Container", name, vo, {"noCopy", "labels", "driverName", "driverOptions"}, "mounts.volumeOptions")
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
    return kwargs


def _mounts(name: str, what: str, i: dict[str, Any]) -> list[Mount]:
    mounts = []
    for m in i.get("mounts") or []:
        check_keys("Container", name, m, CONTAINER_MOUNT_KEYS, "mounts")
        mounts.append(Mount(m["target"], m.get("source"), type=m["type"], **_mount_options(name, what, m)))
    return mounts


def _healthcheck(name: str, what: str, i: dict[str, Any]) -> Healthcheck | None:
    """The health check, its durations in Go's syntax (terraform-provider-docker
    resource_docker_container_funcs.go: resourceDockerContainerCreate, the healthcheck block)."""
    h = i.get("healthcheck")
    if not h:
        return None
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
    return healthcheck


def _restart_policy(what: str, i: dict[str, Any]) -> dict[str, Any]:
    restart = i.get("restart") or "no"
    if restart not in ("no", "on-failure", "always", "unless-stopped"):
        raise RealizeError(f"{what}: restart must be one of no, on-failure, always, unless-stopped")
    policy: dict[str, Any] = {"Name": restart}
    if restart == "on-failure":
        policy["MaximumRetryCount"] = as_int(i.get("maxRetryCount", 0), f"{what} maxRetryCount")
    return policy


def _networks(name: str, what: str, i: dict[str, Any]) -> tuple[list[dict], str | None]:
    """`networksAdvanced` (the first one at create, the others connected after) and `networkMode`."""
    networks = i.get("networksAdvanced") or []
    for n in networks:
        check_keys("Container", name, n, CONTAINER_NETWORK_KEYS, "networksAdvanced")
    network_mode = i.get("networkMode")
    if network_mode and networks:
        # The provider would also try to disconnect "bridge"; keep it simple and strict.
        raise RealizeError(f"{what}: networkMode together with networksAdvanced is not handled")
    return networks, network_mode


def _limits(name: str, what: str, i: dict[str, Any]) -> dict[str, Any]:
    """Memory (MB in the inputs), CPU and ulimits, as create_host_config takes them."""

    def mb(key: str) -> int | None:
        return as_int(i[key], f"{what} {key}") * 1024 * 1024 if i.get(key) else None

    memswap = as_int(i["memorySwap"], f"{what} memorySwap") if i.get("memorySwap") is not None else None
    ulimits = []
    for u in i.get("ulimits") or []:
        check_keys("Container", name, u, {"name", "soft", "hard"}, "ulimits")
        ulimits.append(docker.types.Ulimit(name=u["name"], soft=as_int(u["soft"], what), hard=as_int(u["hard"], what)))
    return dict(
        mem_limit=mb("memory"),
        # -1 (unlimited) is passed as it is.
        memswap_limit=(memswap * 1024 * 1024 if memswap and memswap > 0 else memswap) if memswap is not None else None,
        mem_reservation=mb("memoryReservation"),
        shm_size=mb("shmSize"),
        nano_cpus=int(float(i["cpus"]) * 1e9) if i.get("cpus") else None,
        cpu_shares=as_int(i["cpuShares"], f"{what} cpuShares") if i.get("cpuShares") else None,
        cpuset_cpus=i.get("cpuSet") or None,
        ulimits=ulimits or None,
    )


def _host_config(
    r: Realizer,
    name: str,
    what: str,
    i: dict[str, Any],
    bindings: dict[str, list],
    binds: list[str],
    volumes_from: list[str],
    networks: list[dict],
    network_mode: str | None,
) -> dict:
    caps = i.get("capabilities") or {}
    check_keys("Container", name, caps, {"adds", "drops"}, "capabilities")
    log_config = None
    if i.get("logDriver") or i.get("logOpts"):
        log_config = docker.types.LogConfig(type=i.get("logDriver") or "json-file", config=i.get("logOpts") or {})
    return r.api.create_host_config(
        binds=binds or None,
        port_bindings=dict(bindings) or None,
        volumes_from=volumes_from or None,
        mounts=_mounts(name, what, i) or None,
        tmpfs=i.get("tmpfs") or None,
        restart_policy=_restart_policy(what, i),
        read_only=bool(i.get("readOnly", False)),
        cap_add=caps.get("adds") or None,
        cap_drop=caps.get("drops") or None,
        security_opt=i.get("securityOpts") or None,
        init=i.get("init"),
        sysctls=i.get("sysctls") or None,
        group_add=i.get("groupAdds") or None,
        privileged=bool(i.get("privileged", False)),
        extra_hosts={h["host"]: h["ip"] for h in (i.get("hosts") or [])} or None,
        dns=i.get("dns") or None,
        log_config=log_config,
        network_mode=network_mode or (networks[0]["name"] if networks else None),
        auto_remove=bool(i.get("rm", False)),
        **_limits(name, what, i),
    )
