"""A deployed stack as the operator command sees it: its outputs, containers and engine.

The outputs are `pulumi stack output --json --show-secrets` of the stack (with the
backend and passphrase defaults of scripts/deploy) or a saved copy of them
(`--outputs FILE`); the engine is the one the stack was deployed to, reached
exactly as the provider reaches it (infra/docker_engine.py). docs/operations.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker_engine import Engine, engine_client, engine_from_record, resolve_engine
from labels import COMPONENT, PROJECT, REPLICA, STACK

from library_cli import REPO

#: Exit codes: 0 fine; 1 unhealthy (status) or a failed command; 2 a usage error (click's);
#: 3 the stack cannot be operated on (no outputs, engine unreachable, a container missing).
EXIT_UNHEALTHY = 1
EXIT_UNAVAILABLE = 3
#: How long one call to the engine may take (streams and one-off commands have no limit).
ENGINE_TIMEOUT_SECONDS = 20
#: The outputs every command needs (infra/__main__.py exports them).
REQUIRED_OUTPUTS = ("url", "image", "api_container_names", "db_container_name", "proxy_container_name", "network_name")


class OperatorError(Exception):
    """A problem the operator must fix before the command can run; its message says what to do."""

    exit_code = EXIT_UNAVAILABLE


@dataclass(frozen=True)
class Stack:
    """What the commands need of a deployed stack."""

    name: str
    url: str
    image: str
    api: tuple[str, ...]
    db: str
    proxy: str
    migration: str | None
    network: str
    engine: Engine
    #: The project and stack labels every Docker object of the stack carries.
    labels: Mapping[str, str]

    def roles(self) -> list[tuple[str, str]]:
        """(role, container name) of every container the stack declares, in serving order."""
        pairs = [("proxy", self.proxy), *(("api", name) for name in self.api), ("db", self.db)]
        return pairs + ([("migrate", self.migration)] if self.migration else [])

    def container_names(self, role: str) -> list[str]:
        if role == "all":
            return [name for _, name in self.roles()]
        return [name for r, name in self.roles() if r == role]


def pulumi_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment scripts/deploy gives pulumi: its backend (LIBRARY_BACKEND_URL, default the
    repository's .pulumi-state) and an empty passphrase when none is set."""
    env = dict(environ)
    env.setdefault("PULUMI_BACKEND_URL", environ.get("LIBRARY_BACKEND_URL") or f"file://{REPO}/.pulumi-state")
    if "PULUMI_CONFIG_PASSPHRASE" not in env and not env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        env["PULUMI_CONFIG_PASSPHRASE"] = ""
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    return env


def read_outputs(stack: str, outputs_file: Path | None, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The stack's outputs, from `outputs_file` or from the Pulumi CLI."""
    if outputs_file is not None:
        try:
            outputs = json.loads(outputs_file.read_text())
        except OSError as error:
            raise OperatorError(f"cannot read the outputs file {outputs_file}: {error.strerror}") from error
        except json.JSONDecodeError as error:
            raise OperatorError(
                f"{outputs_file} is not JSON ({error}): save the outputs with "
                f"`pulumi stack output --json --show-secrets --stack {stack} > {outputs_file}`"
            ) from error
        source = str(outputs_file)
    else:
        pulumi = shutil.which("pulumi") or shutil.which("pulumi", path=str(Path.home() / ".pulumi" / "bin"))
        if pulumi is None:
            raise OperatorError(
                "the Pulumi CLI is not installed (scripts/deploy installs it), so the stack's outputs cannot be "
                "read: install it, or pass --outputs FILE with a saved `pulumi stack output --json --show-secrets`"
            )
        env = pulumi_environment(environ)
        command = [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack]
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
        if done.returncode != 0:
            said = done.stderr.strip() or done.stdout.strip()
            if "no stack named" in said:  # pulumi pkg/backend/backenderr/backenderr.go: StackNotFoundError
                raise OperatorError(
                    f"no stack named {stack!r} in the backend {env['PULUMI_BACKEND_URL']}: check --stack, "
                    f"LIBRARY_BACKEND_URL, or deploy it first (scripts/deploy --stack {stack} up)"
                )
            raise OperatorError(f"`pulumi stack output` of stack {stack!r} failed: {said}")
        outputs = json.loads(done.stdout or "{}")
        source = f"stack {stack!r}"
    if not isinstance(outputs, dict):
        raise OperatorError(f"the outputs in {source} are not a JSON object")
    if not outputs:
        raise OperatorError(
            f"{source} has no outputs yet: the stack was never deployed (scripts/deploy --stack {stack} up)"
        )
    return outputs


def stack_from_outputs(name: str, outputs: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Stack:
    """The Stack the outputs describe; OperatorError names a missing or malformed output."""
    missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
    if missing:
        raise OperatorError(
            f"the outputs of stack {name!r} lack {', '.join(missing)}: was it deployed by an older program, "
            f"or is an update under way? Run `scripts/deploy --stack {name} up`"
        )
    api = outputs["api_container_names"]
    if not isinstance(api, list) or not all(isinstance(n, str) and n for n in api):
        raise OperatorError(f"the output api_container_names of stack {name!r} is not a list of names: {api!r}")
    record = outputs.get("engine")
    if record is None:
        # Deployed before the engine was an output: as the provider would resolve it from the environment.
        problems: list[str] = []
        engine = resolve_engine({}, environ, problems=problems)
        if engine is None:
            raise OperatorError("; ".join(problems))
    else:
        try:
            engine = engine_from_record(record)
        except (ValueError, AttributeError) as error:
            raise OperatorError(f"the output engine of stack {name!r} is malformed: {error}") from error
    labels = outputs.get("labels") or {}
    return Stack(
        name=name,
        url=str(outputs["url"]),
        image=str(outputs["image"]),
        api=tuple(api),
        db=str(outputs["db_container_name"]),
        proxy=str(outputs["proxy_container_name"]),
        migration=outputs.get("migration_container_name") or None,
        network=str(outputs["network_name"]),
        engine=engine,
        labels={PROJECT: str(labels.get(PROJECT, "library")), STACK: str(labels.get(STACK, name))},
    )


def load_stack(name: str, outputs_file: Path | None) -> Stack:
    return stack_from_outputs(name, read_outputs(name, outputs_file))


@contextlib.contextmanager
def connect_engine(engine: Engine, whose: str, timeout: float = ENGINE_TIMEOUT_SECONDS) -> Iterator[Any]:
    """A docker-py client of `engine` (`whose` engine, for messages); OperatorError when it cannot be reached."""
    try:
        with engine_client(engine, timeout) as client:
            yield client
    except ConnectionError as error:
        # Over ssh, the message says what to do (docker_engine.connection_advice).
        hint = "" if engine.transport == "ssh" else " (check that dockerd runs there and that this user may use it)"
        raise OperatorError(f"{whose}: {error}{hint}") from error


def connect(stack: Stack, timeout: float = ENGINE_TIMEOUT_SECONDS) -> contextlib.AbstractContextManager[Any]:
    """A docker-py client of the stack's engine; OperatorError when it cannot be reached."""
    return connect_engine(stack.engine, f"stack {stack.name!r}", timeout)


def container(client: Any, name: str, role: str) -> Any:
    """The docker-py Container `name`; OperatorError when it is not on the engine."""
    import docker.errors

    try:
        return client.containers.get(name)
    except docker.errors.NotFound as error:
        raise OperatorError(
            f"the {role} container {name} is not on the engine: the stack is not fully deployed "
            f"(run `library status`, then `scripts/deploy up`)"
        ) from error


def labelled(stack: Stack, component: str | None = None) -> dict[str, Any]:
    """Label filters for the stack's objects (docker-py's `filters=`)."""
    labels = [f"{k}={v}" for k, v in stack.labels.items()]
    if component:
        labels.append(f"{COMPONENT}={component}")
    return {"label": labels}


__all__ = ["REPLICA", "Engine", "OperatorError", "Stack", "connect", "container", "labelled", "load_stack"]
