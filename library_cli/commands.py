"""What runs in the stack's containers for the operator: Django management commands in a
one-off container of the deployed image, and psql in the database container. docs/operations.md.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from typing import Any

import docker.errors
import maintenance
from nginx_config import CONFIG_FILE

from library_cli import terminal
from library_cli.stack import COMPONENT, OperatorError, Stack, container

#: The label value of one-off containers (found and removed by their stack labels).
MANAGE_COMPONENT = "manage"
#: How long a one-off container may take to stop when the command is interrupted.
STOP_TIMEOUT_SECONDS = 10


def _template(client: Any, stack: Stack) -> dict[str, Any]:
    """The inspected configuration of a container of the service image: an API replica, or the
    migration (same environment and restrictions) when no replica is there."""
    for name in [*stack.api, *([stack.migration] if stack.migration else [])]:
        with contextlib.suppress(docker.errors.NotFound):
            return client.api.inspect_container(name)
    raise OperatorError(
        f"stack {stack.name!r} has neither an API replica nor a migration container on the engine to take the "
        f"environment from: deploy it (scripts/deploy --stack {stack.name} up)"
    )


def one_off_config(client: Any, stack: Stack, command: list[str], tty: bool, env: list[str]) -> dict[str, Any]:
    """create_container arguments of a one-off container of the deployed image: the stack's
    environment and network, the replicas' user and restrictions, no network alias (the proxy
    never sends it a request), the stack's labels with component `manage`."""
    template = _template(client, stack)
    config, host = template.get("Config") or {}, template.get("HostConfig") or {}
    try:
        client.images.get(stack.image)
    except docker.errors.ImageNotFound as error:
        raise OperatorError(
            f"the stack's image {stack.image} is not on the engine: redeploy (scripts/deploy up)"
        ) from error
    prefix = f"{stack.labels.get('org.library.project', 'library')}-{stack.name}"
    host_config = client.api.create_host_config(
        network_mode=stack.network,
        read_only=bool(host.get("ReadonlyRootfs")),
        tmpfs=host.get("Tmpfs") or None,
        cap_drop=host.get("CapDrop") or None,
        security_opt=host.get("SecurityOpt") or None,
        mem_limit=host.get("Memory") or None,
        memswap_limit=host.get("MemorySwap") or None,
    )
    return {
        "image": stack.image,
        "command": command,
        "environment": [*(config.get("Env") or []), *env],
        "user": config.get("User") or None,
        "working_dir": config.get("WorkingDir") or None,
        "labels": {**stack.labels, COMPONENT: MANAGE_COMPONENT},
        "name": f"{prefix}-manage-{secrets.token_hex(3)}",
        "tty": tty,
        "stdin_open": tty,
        "host_config": host_config,
    }


def _copy(stream: Any) -> None:
    """A demultiplexed Docker stream's (stdout, stderr) chunks to ours, as they come."""
    for chunk, target in ((c, t) for pair in stream for c, t in zip(pair, (sys.stdout, sys.stderr), strict=True)):
        if chunk:
            target.buffer.write(chunk)
            target.flush()


def _attach_socket(client: Any, container_id: str) -> tuple[Any, Any]:
    """The raw socket of an attach to the container's stdin, stdout and stderr, and its response."""
    api = client.api
    response = api._post(
        api._url("/containers/{0}/attach", container_id),
        params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1},
        headers={"Connection": "Upgrade", "Upgrade": "tcp"},
        stream=True,
    )
    api._raise_for_status(response)
    return terminal.raw_socket(response), response


def manage(client: Any, stack: Stack, args: list[str], tty: bool, env: list[str]) -> int:
    """`python manage.py ARGS` in a one-off container (`env`: KEY=VALUE added), removed afterwards;
    its exit code."""
    config = one_off_config(client, stack, ["python", "manage.py", *args], tty, env)
    created = client.api.create_container(**config)["Id"]
    try:
        if tty:
            sock, _response = _attach_socket(client, created)
            client.api.start(created)
            terminal.pump(sock, lambda h, w: client.api.resize(created, height=h, width=w))
        else:
            client.api.start(created)
            _copy(client.api.attach(created, stdout=True, stderr=True, stream=True, logs=True, demux=True))
        return int(client.api.wait(created, timeout=None).get("StatusCode", 1))
    finally:
        with contextlib.suppress(docker.errors.APIError):
            client.api.stop(created, timeout=STOP_TIMEOUT_SECONDS)
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container(created, force=True)


def _db_identity(client: Any, stack: Stack) -> tuple[str, str]:
    env = dict(
        item.split("=", 1) for item in (client.api.inspect_container(stack.db).get("Config") or {}).get("Env") or []
    )
    return env.get("POSTGRES_USER", "postgres"), env.get("POSTGRES_DB") or env.get("POSTGRES_USER", "postgres")


def psql_command(client: Any, stack: Stack, args: list[str]) -> tuple[int, str]:
    """psql ARGS in the database container, as the application's user; (exit code, output)."""
    db = container(client, stack.db, "database")
    user, name = _db_identity(client, stack)
    result = db.exec_run(["psql", "-U", user, "-d", name, *args], user="postgres", demux=True)
    out, err = result.output
    return result.exit_code, (out or b"").decode("utf-8", "replace") + (err or b"").decode("utf-8", "replace")


def psql(client: Any, stack: Stack, args: list[str], tty: bool) -> int:
    """psql in the database container: a session when `tty`, else a command's output; the exit code."""
    db = container(client, stack.db, "database")
    if db.status != "running":
        raise OperatorError(f"the database container {stack.db} is {db.status}: `library status`, `library logs db`")
    user, name = _db_identity(client, stack)
    api = client.api
    exec_id = api.exec_create(db.id, ["psql", "-U", user, "-d", name, *args], tty=tty, stdin=tty, user="postgres")["Id"]
    if tty:
        response = api._post_json(
            api._url("/exec/{0}/start", exec_id),
            headers={"Connection": "Upgrade", "Upgrade": "tcp"},
            data={"Tty": True, "Detach": False},
            stream=True,
        )
        api._raise_for_status(response)
        terminal.pump(terminal.raw_socket(response), lambda h, w: api.exec_resize(exec_id, height=h, width=w))
    else:
        _copy(api.exec_start(exec_id, stream=True, demux=True))
    return int(api.exec_inspect(exec_id).get("ExitCode") or 0)


def switch_maintenance(proxy: Any, on: bool, note: str) -> None:
    """Turn the proxy's maintenance mode on or off (infra/maintenance.py), after checking that
    this proxy can: its nginx.conf tests the flag, and it runs (the flag is removed by an exec)."""
    if on and maintenance.FLAG not in (maintenance.container_file(proxy, CONFIG_FILE) or ""):
        raise OperatorError(
            f"the proxy {proxy.name} was deployed before maintenance mode existed (its nginx.conf does not test "
            f"{maintenance.FLAG}): run `scripts/deploy up`, which replaces it, then turn maintenance on"
        )
    if not on and proxy.status != "running":
        raise OperatorError(
            f"the proxy {proxy.name} is {proxy.status}: start it (`scripts/deploy up`), then turn maintenance off"
        )
    if on:
        maintenance.turn_on(proxy, note)
    else:
        maintenance.turn_off(proxy)
