"""The one program runner of both tiers: run a Pulumi project's Python program
in this process, as the CLI's language host would, under a given Mocks and monitor.

The unit tier plugs in fake mocks (tests/harness/fake.py), the live tier the
realizer (tests/harness/live.py). One program run per process: the Pulumi
runtime's settings are process-global (see docs/testing.md)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import runpy
import sys
from collections.abc import Callable
from typing import Any

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --- configuration, as the CLI assembles it -------------------------------------


def config_value(value: Any) -> str:
    """A config value as the CLI passes it: a string (JSON for objects and lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def load_project(repo_dir: str) -> dict:
    """Pulumi.yaml of repo_dir (a Python project with a name)."""
    path = os.path.join(repo_dir, "Pulumi.yaml")
    if not os.path.exists(path):
        raise SystemExit(f"error: no Pulumi.yaml in {repo_dir}")
    with open(path) as f:
        project = yaml.safe_load(f) or {}
    if not project.get("name"):
        raise SystemExit(f"error: {path} has no project name")
    runtime = project.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise SystemExit(f"error: {path}: runtime is {runtime_name!r}, this harness runs Python programs only")
    return project


def program_dir(repo_dir: str, project: dict) -> str:
    """The program directory (Pulumi.yaml's `main`, default the project root), holding __main__.py."""
    path = os.path.abspath(os.path.join(repo_dir, project.get("main") or "."))
    if not os.path.isfile(os.path.join(path, "__main__.py")):
        raise SystemExit(f"error: no __main__.py in the program directory {path}")
    return path


def full_key(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _project_config(project: dict) -> tuple[dict[str, str], set[str]]:
    """Project-level config: `key: {default: v}` / `{value: v}` / a plain value."""
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, spec in (project.get("config") or {}).items():
        k = full_key(key, project["name"])
        if isinstance(spec, dict) and ("default" in spec or "value" in spec or "type" in spec):
            if "value" in spec:
                config[k] = config_value(spec["value"])
            elif "default" in spec:
                config[k] = config_value(spec["default"])
            if spec.get("secret"):
                secret_keys.add(k)
        elif spec is not None:
            config[k] = config_value(spec)
    return config, secret_keys


def stack_config(
    repo_dir: str,
    project: dict,
    stack: str,
    overrides: dict[str, Any] | None = None,
    secret_overrides: dict[str, Any] | None = None,
    stack_file: str | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The config map (full keys -> strings) and the secret keys, as the CLI passes them:
    the project's defaults, then Pulumi.<stack>.yaml (or `stack_file`), then the overrides."""
    name = project["name"]
    config, secret_keys = _project_config(project)
    stack_file = stack_file or os.path.join(repo_dir, f"Pulumi.{stack}.yaml")
    if not os.path.exists(stack_file):
        raise SystemExit(f"error: no stack file {stack_file}")
    with open(stack_file) as f:
        stack_doc = yaml.safe_load(f) or {}
    pending_secure = set()
    for key, value in (stack_doc.get("config") or {}).items():
        k = full_key(key, name)
        if isinstance(value, dict) and set(value) == {"secure"}:
            pending_secure.add(k)
            continue
        config[k] = config_value(value)
    for key, value in (overrides or {}).items():
        config[full_key(key, name)] = config_value(value)
    for key, value in (secret_overrides or {}).items():
        k = full_key(key, name)
        config[k] = config_value(value)
        secret_keys.add(k)
    missing = sorted(k for k in pending_secure if k not in config)
    if missing:
        raise SystemExit(
            f"error: {stack_file} has encrypted values {missing} this harness cannot decrypt; "
            f"pass them with --secret KEY=VALUE"
        )
    return config, sorted(secret_keys)


# --- running it ----------------------------------------------------------------------


@dataclasses.dataclass
class Ran:
    """A program that ran: its event loop (still usable) and its root Stack resource."""

    loop: asyncio.AbstractEventLoop
    stack: Any


def run(
    program_path: str,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    monitor: Any,
    *,
    preview: bool = False,
    logger: logging.Logger | None = None,
    organization: str | None = None,
    before_program: Callable[[], None] | None = None,
) -> Ran:
    """Run program_path/__main__.py in this process, as the language host does: the config set,
    the runtime pointed at `monitor` (a MockMonitor around the tier's Mocks), the working directory
    and sys.path[0] the program directory, the program inside a Stack resource
    (pulumi.runtime.run_in_stack). Raises what the program (or one of its outputs) raised.
    The program's own prints go to stderr (stdout may carry a result)."""
    import pulumi.runtime
    from pulumi.runtime.mocks import MockEngine, MockSettings
    from pulumi.runtime.settings import configure, get_root_resource

    pulumi.runtime.set_all_config(config, secret_keys)
    configure(
        MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=MockEngine(logger),
            project=project,
            stack=stack,
            dry_run=preview,
            organization=organization,
            callbacks=None,
        )
    )
    if before_program is not None:
        before_program()

    os.chdir(program_path)
    sys.path.insert(0, program_path)
    sys.argv = [program_path]
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = os.path.join(program_path, "__main__.py")
    roots: list[Any] = []

    def program() -> None:
        roots.append(get_root_resource())  # set inside run_in_stack's task only
        runpy.run_path(main, run_name="__main__")

    with contextlib.redirect_stdout(sys.stderr):
        loop.run_until_complete(pulumi.runtime.run_in_stack(program))
    return Ran(loop, roots[0])
