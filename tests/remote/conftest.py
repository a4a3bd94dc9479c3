"""Fixtures of the remote tier: Docker hosts the tests make themselves.

A node is a container of library-base/docker-host (scripts/build-debian-images.sh
host) running its own dockerd and an sshd that lets in only the `deploy` user
with a key made here, checked against a known_hosts made here. Everything the
tests reach is published on 127.0.0.1. How it works, what the nested engine
needs and what it costs: docs/testing.md, "The remote tier".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port_block, load_infra_module, require_docker, skip_unless_required

DOCKER_HOST_IMAGE = os.environ.get("DOCKER_HOST_IMAGE", "library-base/docker-host:bookworm")
DOCKER_CLI = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
TEST_LABEL = "org.library.test"
#: What a nested dockerd needs where --privileged is refused (docs/testing.md, "The remote tier").
NODE_FLAGS = (
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--cgroupns=private",
)
#: Loopback ports published per node for the stacks on it (the inner engine publishes the same numbers).
SERVICE_PORTS = 4
#: Bound on a node's start (image start to `docker version` answering over ssh); 2-4 s when all is well.
START_TIMEOUT_S = 60


def ssh_options(key: Path, known_hosts: Path) -> list[str]:
    """ssh(1) options that use only this key and this known_hosts, never the user's ~/.ssh/config or
    agent, and never prompt (the list a stack gives as docker:sshOpts)."""
    return [
        "-F",
        "/dev/null",
        "-i",
        str(key),
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
    ]


def make_key(path: Path) -> Path:
    """A fresh ed25519 key pair at `path` (private, mode 0600) and `path`.pub."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True)
    path.chmod(0o600)
    return path


@dataclass
class DockerHost:
    """One running node, as a stack on it would be configured (docker:host, docker:sshOpts)."""

    name: str
    container: Any
    volume: str
    ssh_port: int
    #: Published on 127.0.0.1 with the same number inside the node: an inner `-p PORT:...` is reachable here.
    ports: tuple[int, ...]
    key: Path
    known_hosts: Path
    #: Seconds from `docker run` to `docker version` answering over ssh.
    start_seconds: float = 0.0
    ssh_opts: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.ssh_opts = ssh_options(self.key, self.known_hosts)

    @property
    def ssh_url(self) -> str:
        return f"ssh://deploy@127.0.0.1:{self.ssh_port}"

    def engine(self, ssh_opts: Sequence[str] | None = None) -> Any:
        """The infra/docker_engine.py Engine of this node (with other ssh options, to test refusals)."""
        docker_engine = load_infra_module("docker_engine")
        return docker_engine.Engine(host=self.ssh_url, ssh_opts=tuple(self.ssh_opts if ssh_opts is None else ssh_opts))

    def client(self, timeout: float = 120, ssh_opts: Sequence[str] | None = None) -> contextlib.AbstractContextManager:
        """A docker-py client of the node's own engine, connected as the provider and drain hook connect."""
        return load_infra_module("docker_engine").engine_client(self.engine(ssh_opts), timeout)

    def ssh(
        self, *command: str, ssh_opts: Sequence[str] | None = None, user: str = "deploy", timeout: float = 30
    ) -> subprocess.CompletedProcess:
        """`ssh USER@node COMMAND...` with this node's options (or `ssh_opts`); stdout and stderr as text."""
        opts = list(self.ssh_opts if ssh_opts is None else ssh_opts)
        return subprocess.run(
            ["ssh", *opts, "-p", str(self.ssh_port), f"{user}@127.0.0.1", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


class NodeUnavailable(Exception):
    """The nested engine cannot run here (the reason the tier skips, or fails under REQUIRE_DOCKER=1)."""


def _run_node(outer: Any, name: str, volume: str, labels: dict[str, str], public_key: str) -> tuple[Any, int, tuple]:
    """Start the node container on free loopback ports (a few tries: another process may take them first)."""
    error = ""
    for _ in range(3):
        base = free_port_block(1 + SERVICE_PORTS)
        ssh_port, ports = base, tuple(range(base + 1, base + 1 + SERVICE_PORTS))
        publish = [f"--publish=127.0.0.1:{ssh_port}:22"] + [f"--publish=127.0.0.1:{p}:{p}" for p in ports]
        result = subprocess.run(
            [DOCKER_CLI, "run", "--detach", f"--name={name}", f"--hostname={name}", *NODE_FLAGS]
            + [f"--label={k}={v}" for k, v in labels.items()]
            + [f"--volume={volume}:/var/lib/docker", *publish, "--env=DEPLOY_AUTHORIZED_KEYS", DOCKER_HOST_IMAGE],
            capture_output=True,
            text=True,
            env={**os.environ, "DEPLOY_AUTHORIZED_KEYS": public_key},
        )
        if result.returncode == 0:
            return outer.containers.get(result.stdout.strip()), ssh_port, ports
        error = result.stderr.strip()
        subprocess.run([DOCKER_CLI, "rm", "--force", name], capture_output=True)
        if "already allocated" not in error and "address already in use" not in error:
            break
    raise NodeUnavailable(f"`docker run` of the Docker host image failed: {error}")


def _wait_ready(node: DockerHost, deadline: float) -> None:
    """Until `docker version` answers over ssh: the host key is read from the node itself (not over
    the network) into known_hosts as soon as the entrypoint has made it."""
    last = "nothing tried yet"
    while time.monotonic() < deadline:
        node.container.reload()
        if node.container.status != "running":
            raise NodeUnavailable(
                f"the Docker host container stopped ({node.container.status}); its log ends:\n{_log_tail(node)}"
            )
        if not node.known_hosts.read_text():
            found = node.container.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
            if found.exit_code == 0:
                key_type, key = found.output.decode().split()[:2]
                node.known_hosts.write_text(f"[127.0.0.1]:{node.ssh_port} {key_type} {key}\n")
        if node.known_hosts.read_text():
            answer = node.ssh("docker", "version", "--format", "{{.Server.Version}}", timeout=15)
            if answer.returncode == 0:
                return
            last = (answer.stderr or answer.stdout).strip()
        time.sleep(0.2)
    raise NodeUnavailable(
        f"the nested engine did not answer over ssh within {START_TIMEOUT_S} s (last: {last}); "
        f"the log ends:\n{_log_tail(node)}"
    )


def _log_tail(node: DockerHost, lines: int = 8) -> str:
    """The end of the node's log (the entrypoint's and dockerd's), without containerd's gRPC chatter."""
    text = node.container.logs(tail=200).decode("utf-8", "replace")
    return "\n".join([line for line in text.splitlines() if "module=grpc" not in line][-lines:])


@pytest.fixture(scope="session")
def docker_host(tmp_path_factory) -> Iterator[Callable[[str], DockerHost]]:
    """A factory: `docker_host(name)` starts node `name` once per session (later calls return it).
    Every node, its volume and its keys are removed at the end of the session, whatever happened;
    where a nested engine cannot run, the test skips with the reason (fails under REQUIRE_DOCKER=1)."""
    outer = require_docker()
    if not outer.images.list(name=DOCKER_HOST_IMAGE):
        skip_unless_required(
            f"{DOCKER_HOST_IMAGE} is not on the engine; build it with `bash scripts/build-debian-images.sh host` "
            "(as root)"
        )
    run = uuid.uuid4().hex[:8]
    labels = {TEST_LABEL: f"remote-{run}"}
    keys = Path(tempfile.mkdtemp(prefix="library-remote-keys-"))
    nodes: dict[str, DockerHost] = {}
    failures: dict[str, str] = {}

    def start(name: str) -> DockerHost:
        if name in nodes:
            return nodes[name]
        if name in failures:
            skip_unless_required(failures[name])
        key = make_key(keys / f"{name}_ed25519")
        known_hosts = keys / f"{name}_known_hosts"
        known_hosts.write_text("")
        container_name, volume = f"library-test-host-{run}-{name}", f"library-test-host-{run}-{name}-docker"
        node_labels = {**labels, "org.library.docker-host": name}
        outer.volumes.create(volume, labels=node_labels)
        public_key = Path(f"{key}.pub").read_text().strip()
        started = time.monotonic()
        try:
            container, ssh_port, ports = _run_node(outer, container_name, volume, node_labels, public_key)
            node = DockerHost(name, container, volume, ssh_port, ports, key, known_hosts)
            nodes[name] = node
            _wait_ready(node, started + START_TIMEOUT_S)
        except NodeUnavailable as error:
            nodes.pop(name, None)
            failures[name] = f"no nested Docker host here: {error}"
            _remove(outer, container_name, volume)
            skip_unless_required(failures[name])
        node.start_seconds = time.monotonic() - started
        print(f"\ndocker host {name!r}: ready in {node.start_seconds:.1f} s at {node.ssh_url}")
        return node

    try:
        yield start
    finally:
        for node in nodes.values():
            _remove(outer, node.container.name, node.volume)
        shutil.rmtree(keys, ignore_errors=True)


def _remove(outer: Any, container: str, volume: str) -> None:
    """The node container (its inner engine's containers die with it) and its /var/lib/docker volume."""
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):
        outer.containers.get(container).remove(force=True, v=True)
    with contextlib.suppress(docker.errors.NotFound):
        outer.volumes.get(volume).remove(force=True)
