"""docker:index/container:Container, with the provider's semantics.

Follows terraform-provider-docker internal/provider/resource_docker_container_funcs.go:
resourceDockerContainerCreate (create, connect networks, uploads, start, ``wait``/``attach``)
and resourceDockerContainerRead (``mustRun``); replacement follows the engine and the
Terraform bridge (see _delete_before_replace). Each piece of the container's configuration
is one function below; realize() puts them together (see docs/testing.md, the live tier)."""

from __future__ import annotations

import base64
import io
import logging
import os
import tarfile
import time
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
from docker.types import Healthcheck, Mount

from ..state import BEFORE_DELETE_LABEL, GRACE_LABEL
from ..values import RealizeError, as_int, autoname, check_keys, duration_ns, inputs_fingerprint, label_map, plain

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

#: How long after its start a mustRun container without `wait` must still be
#: running (terraform-provider-docker checks once after ~100 ms; a little
#: longer here makes the check deterministic on a loaded machine).
MUST_RUN_SETTLE_SECONDS = 0.5


def realize(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    i = plain(inputs)
    check_keys("Container", name, i, CONTAINER_KEYS)
    what = f"Container {name!r}"
    image = i.get("image")
    if not image:
        raise RealizeError(f"{what}: image is required")
    r.local_image(image, what)

    # No diff, no change: a container whose inputs are those it was made
    # with in an earlier deployment of this run is left exactly as it is,
    # running or not, as `pulumi up` (without --refresh) leaves it.
    fingerprint = inputs_fingerprint(i)
    existing = r.find("container", urn)
    made = r.state.get(urn) or {}
    if made.get("container") in {old["Id"] for old in existing} and made.get("fingerprint") == fingerprint:
        # Other containers of this URN are leftovers of a failed
        # deployment (pending deletes): they go at the end of this one.
        with r.lock:
            r.current[urn] = made["container"]
        return _kept(r, made["container"], inputs, what)

    _replace(r, what, i, existing)
    cname = i.get("name") or autoname(name)
    wait_timeout = as_int(i.get("waitTimeout", 60), f"{what} waitTimeout")
    if i.get("logs", False) and not i.get("attach", False):
        raise RealizeError(f"{what}: logs=true needs attach=true")
    cid = _create(r, name, what, i, urn, cname)
    state: dict[str, Any] = {**inputs, "name": cname, "bridge": ""}
    if not i.get("start", True):
        return cid, _with_network_data(r, cid, state)
    info = _start(r, cid, cname, what, i, wait_timeout, state)
    if info is None:  # removed by the engine (rm)
        return cid, state
    r.state.put(urn, {"container": cid, "fingerprint": fingerprint})
    with r.lock:
        r.current[urn] = cid
    return cid, _with_network_data(r, cid, state, info)


# --- replacement ------------------------------------------------------------


def _replace(r: Realizer, what: str, i: dict[str, Any], existing: list[dict]) -> None:
    """The containers of this URN from earlier deployments: deleted now (delete before
    replace), or left for the delete phase once the deployment succeeds (create before delete)."""
    if existing and _delete_before_replace(r, i):
        for old in existing:
            log.info("%s: replacing %s (delete before replace)", what, old["Names"][0].lstrip("/"))
            r.delete_container(old)
    elif existing:
        log.info(
            "%s: replacing %s (create before delete: the old one goes once the deployment succeeds)",
            what,
            ", ".join(old["Names"][0].lstrip("/") for old in existing),
        )


def _delete_before_replace(r: Realizer, inputs: dict[str, Any]) -> bool:
    """The engine's choice: the registration's deleteBeforeReplace when
    the program defined it, else the provider's (the Terraform bridge asks
    for delete-before-replace when an auto-nameable `name` is given).
    Follows pulumi engine pkg/resource/deploy/step_generator.go (deleteBeforeReplace from the
    registration, else the provider's DiffResponse) and pulumi-terraform-bridge
    pkg/tfbridge/provider.go: Diff (DeleteBeforeReplace when an auto-named property is set)."""
    options = r.options()
    if options.get("deleteBeforeReplaceDefined"):
        return bool(options.get("deleteBeforeReplace"))
    return bool(options.get("deleteBeforeReplace")) or bool(inputs.get("name"))


def _kept(r: Realizer, cid: str, inputs: dict, what: str) -> tuple[str, dict]:
    """The outputs of a container left unchanged, as its state would give them."""
    info = r.inspect(cid)
    if info is None:
        raise RealizeError(f"{what}: container {cid[:12]} disappeared")
    i = plain(inputs)
    log.info("%s: inputs unchanged, %s kept as it is (%s)", what, info["Name"].lstrip("/"), info["State"].get("Status"))
    state: dict[str, Any] = {**inputs, "name": info["Name"].lstrip("/"), "bridge": ""}
    if i.get("attach"):
        if i.get("logs"):
            state["containerLogs"] = r.api.logs(cid, stdout=True, stderr=True).decode("utf-8", "replace")
        if not info["State"]["Running"]:
            state["exitCode"] = info["State"]["ExitCode"]
    return cid, _with_network_data(r, cid, state, info)


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


def _container_labels(r: Realizer, what: str, i: dict[str, Any], urn: str) -> dict[str, str]:
    """The program's labels, the run's, and what a later delete needs (grace, hooks)."""
    labels = r.labels(urn, label_map(i.get("labels"), what))
    labels[GRACE_LABEL] = str(as_int(i.get("destroyGraceSeconds", 0), f"{what} destroyGraceSeconds"))
    labels[BEFORE_DELETE_LABEL] = ",".join(r.options().get("beforeDelete", []))
    return labels


# --- create, start, wait --------------------------------------------------------


def _create(r: Realizer, name: str, what: str, i: dict[str, Any], urn: str, cname: str) -> str:
    """Create the container, connect its other networks, copy the uploads in; its id.
    As resourceDockerContainerCreate: uploads after the network connections, before the start."""
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
        raise RealizeError(f"{what}: unable to create container {cname!r}: {e.explanation or e}") from None
    cid: str = created["Id"]
    r.created.append(("container", cname, cid))
    for n in networks[1:]:
        r.api.connect_container_to_network(
            cid,
            n["name"],
            aliases=n.get("aliases") or None,
            ipv4_address=n.get("ipv4Address"),
            ipv6_address=n.get("ipv6Address"),
        )
    # A read-only root file system refuses the uploads, as with the provider.
    for upload in i.get("uploads") or []:
        _upload(r, cid, cname, what, upload)
    return cid


def _start(
    r: Realizer, cid: str, cname: str, what: str, i: dict[str, Any], wait_timeout: int, state: dict[str, Any]
) -> dict | None:
    """Start it and wait as the provider does: healthy (`wait`), exited (`attach`, with
    exitCode and containerLogs in state), or still running after a moment (`mustRun`).
    The container's inspection afterwards; None when it removed itself (`rm`)."""
    attach, must_run = i.get("attach", False), i.get("mustRun", True)
    started_at = time.monotonic()
    try:
        r.api.start(cid)
    except docker.errors.APIError as e:
        raise RealizeError(f"{what}: unable to start container {cname!r}: {e.explanation or e}") from None

    if i.get("wait", False):
        _wait_healthy(r, cid, cname, what, wait_timeout)
    elif not attach and must_run:
        # The provider looks at the state after a short delay (its read
        # refresh); a container that dies at once must not slip through.
        time.sleep(MUST_RUN_SETTLE_SECONDS)

    if attach:
        result = r.api.wait(cid)
        log.info("%s exited with code %s after %.1fs", cname, result.get("StatusCode"), time.monotonic() - started_at)
        if i.get("logs", False):
            state["containerLogs"] = r.api.logs(cid, stdout=True, stderr=True).decode("utf-8", "replace")
    return _settle(r, cid, cname, what, i, state)


def _settle(r: Realizer, cid: str, cname: str, what: str, i: dict[str, Any], state: dict[str, Any]) -> dict | None:
    """The state after the start: resourceDockerContainerRead fails a mustRun container that is
    not running; otherwise a stopped container's exit code is reported, not raised."""
    info = r.inspect(cid)
    if info is None:
        if i.get("rm"):
            return None
        raise RealizeError(f"{what}: container {cname!r} disappeared")
    if not info["State"]["Running"]:
        if i.get("mustRun", True):
            last = r.logs_tail(cid)
            r.api.remove_container(cid, v=True, force=True)
            raise RealizeError(
                f"{what}: container {cname!r} exited immediately (exit code "
                f"{info['State']['ExitCode']}), but mustRun is true; its last log lines:\n{last}"
            )
        # As the provider: a non-zero exit is not an error, it is reported as exitCode.
        state["exitCode"] = info["State"]["ExitCode"]
    return info


def _wait_healthy(r: Realizer, cid: str, cname: str, what: str, timeout: int) -> None:
    """resourceDockerContainerCreate with wait=true: poll until healthy or waitTimeout."""
    deadline = time.monotonic() + timeout
    while True:
        info = r.inspect(cid)
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
