"""Run the project's Pulumi program on a real Docker engine (live test tier).

One deployment per process, as the Pulumi CLI's language host would run it:
project name and program directory (``main``) from ``Pulumi.yaml``, config from
``Pulumi.<stack>.yaml`` on top of the project's config defaults, then overrides
from the command line; the working directory is the program directory and its
``__main__.py`` runs through ``runpy`` inside ``pulumi.runtime.run_in_stack``.
Resources are realized by :class:`tests.live.realizer.Realizer` (see there for
what this is and is not: a test harness, not ``pulumi up``).

Command line (prints the stack outputs as JSON on stdout; logs on stderr;
exit status 1 with the error on failure)::

    python tests/live/run_program.py --stack ci --run-id demo \
        [--repo DIR] [--config library:hostPort=18080 ...] [--secret key=value ...]

From Python (tests)::

    from tests.live.run_program import deploy, copy_repo
    outputs = deploy("ci", "demo", {"library:hostPort": "18080"})
    outputs.secret_names   # names of the outputs the program marked secret
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import os
import runpy
import shutil
import subprocess
import sys
import time
import traceback
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))


# ---------------------------------------------------------------------------
# configuration, as the CLI assembles it


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def load_project(repo_dir: str) -> dict:
    import yaml

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


def full_key(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def stack_config(repo_dir: str, project: dict, stack: str,
                 overrides: Optional[dict[str, Any]] = None,
                 secret_overrides: Optional[dict[str, Any]] = None) -> tuple[dict[str, str], list[str]]:
    """The config map (full keys -> strings) and the secret keys, as the CLI passes them."""
    import yaml

    name = project["name"]
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    # Project-level config: `key: {default: v}` / `{value: v}` / a plain value.
    for key, spec in (project.get("config") or {}).items():
        k = full_key(key, name)
        if isinstance(spec, dict) and ("default" in spec or "value" in spec or "type" in spec):
            if "value" in spec:
                config[k] = _config_value(spec["value"])
            elif "default" in spec:
                config[k] = _config_value(spec["default"])
            if spec.get("secret"):
                secret_keys.add(k)
        elif spec is not None:
            config[k] = _config_value(spec)
    stack_file = os.path.join(repo_dir, f"Pulumi.{stack}.yaml")
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
        config[k] = _config_value(value)
    for key, value in (overrides or {}).items():
        config[full_key(key, name)] = _config_value(value)
    for key, value in (secret_overrides or {}).items():
        k = full_key(key, name)
        config[k] = _config_value(value)
        secret_keys.add(k)
    missing = sorted(k for k in pending_secure if k not in config)
    if missing:
        raise SystemExit(f"error: {stack_file} has encrypted values {missing} this harness cannot decrypt; "
                         f"pass them with --secret KEY=VALUE")
    return config, sorted(secret_keys)


# ---------------------------------------------------------------------------
# the in-process runner


def _make_monitor(realizer):
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, _resolve_callbacks
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await
    from google.protobuf import empty_pb2

    from realizer import contains_secret, is_secret, secret

    class RealizingMonitor(MockMonitor):
        """The SDK's mock monitor, plus what the engine would add for this
        program: URNs handed to the realizer, additionalSecretOutputs and
        secret inputs kept secret in outputs, and the stack's outputs kept."""

        stack_outputs: Optional[dict] = None

        def RegisterResource(self, request):
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = urn
                return resource_pb2.RegisterResourceResponse(urn=urn)
            _ensure_event_loop()
            inputs = rpc.deserialize_properties(request.object)
            args = MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                resource_id=request.importId, custom=request.custom or False,
                transforms=_resolve_callbacks(request.transforms),
            )
            realizer._local.urn = urn
            # The options the engine would act on when it replaces the resource.
            realizer._local.options = {
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "deleteBeforeReplaceDefined": bool(request.deleteBeforeReplaceDefined),
                "beforeDelete": list(request.hooks.before_delete),
            }
            try:
                id_, state = self.mocks.new_resource(args)
            finally:
                realizer._local.urn = None
                realizer._local.options = None
            secret_outputs = set(request.additionalSecretOutputs)
            for key, value in list(state.items()):
                if is_secret(value):
                    continue
                if key in secret_outputs or contains_secret(inputs.get(key)):
                    state[key] = secret(value)
            obj_proto = _sync_await(rpc.serialize_properties(state, {}))
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj_proto)

        def RegisterResourceOutputs(self, request):
            if request.urn.split("::")[2:3] == ["pulumi:pulumi:Stack"]:
                _ensure_event_loop()
                self.stack_outputs = rpc.deserialize_properties(request.outputs)
            return empty_pb2.Empty()

    return RealizingMonitor(realizer)


def _remember_resource_hooks(realizer) -> None:
    """Hand the program's resource hooks to the realizer by name, as the
    engine knows them, so that it can run a resource's before_delete hooks
    when it deletes the resource (registration itself goes on as usual)."""
    import pulumi.resource_hooks as resource_hooks

    register = resource_hooks.register_resource_hook

    def register_and_remember(hook):
        realizer.hooks[hook.name] = hook
        return register(hook)

    resource_hooks.register_resource_hook = register_and_remember


def _integral(value: Any) -> Any:
    """Numbers travel as floats over the wire; show 2.0 as 2, as the CLI does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


_REALIZER = None  # the running deployment's Realizer, for the failure path of main()


def run_in_process(repo_dir: str, stack: str, run_id: str, config: dict[str, str],
                   secret_keys: list[str], project: dict) -> dict:
    """Run the program in this process; return {outputs, secretOutputs, ...}."""
    sys.path.insert(0, HERE)
    import pulumi
    import pulumi.runtime
    from pulumi.runtime.mocks import MockEngine, MockSettings
    from pulumi.runtime.settings import configure

    from realizer import Realizer, is_secret, plain

    main = project.get("main") or "."
    program_dir = os.path.abspath(os.path.join(repo_dir, main))
    if not os.path.isfile(os.path.join(program_dir, "__main__.py")):
        raise SystemExit(f"error: no __main__.py in the program directory {program_dir}")

    realizer = Realizer(run_id, program_dir)
    global _REALIZER
    _REALIZER = realizer
    monitor = _make_monitor(realizer)
    _remember_resource_hooks(realizer)
    pulumi.runtime.set_all_config(config, secret_keys)
    settings = MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(logging.getLogger("live.program")),
        project=project["name"], stack=stack, dry_run=False, organization="organization",
        callbacks=None,
    )
    configure(settings)
    realizer.program_context = contextvars.copy_context()

    os.chdir(program_dir)
    sys.argv = [program_dir]
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The program's own prints must not mix with the JSON on stdout.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    started = time.monotonic()
    try:
        loop.run_until_complete(
            pulumi.runtime.run_in_stack(lambda: runpy.run_path(program_dir, run_name="__main__")))
    finally:
        sys.stdout = real_stdout
    elapsed = time.monotonic() - started

    raw = monitor.stack_outputs or {}
    outputs = _integral(plain(raw))
    secret_names = sorted(k for k, v in raw.items() if is_secret(v))
    # The engine's delete phase: replaced containers, then undeclared ones.
    pruned = realizer.delete_replaced()
    pruned += realizer.prune_undeclared()
    return {
        "outputs": outputs,
        "secretOutputs": secret_names,
        "pruned": pruned,
        "hookRuns": realizer.hook_runs,
        "created": [list(x) for x in realizer.created],
        "seconds": round(elapsed, 1),
    }


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", default=REPO_ROOT, help="repository (or a copy of it) holding Pulumi.yaml")
    ap.add_argument("--stack", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--secret", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json-out", help="also write the result JSON to this file")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    def pairs(items):
        out = {}
        for item in items:
            if "=" not in item:
                ap.error(f"expected KEY=VALUE, got {item!r}")
            k, v = item.split("=", 1)
            out[k] = v
        return out

    repo = os.path.abspath(args.repo)
    project = load_project(repo)
    config, secret_keys = stack_config(repo, project, args.stack, pairs(args.config), pairs(args.secret))
    try:
        result = run_in_process(repo, args.stack, args.run_id, config, secret_keys, project)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - reported, then a failing exit status
        if _REALIZER is not None:
            # As the engine does on a failure: start nothing new, and let the
            # operations under way finish, so that no half-made object appears
            # after this process has gone (and a teardown misses it).
            _REALIZER.stop("the deployment failed")
            if not _REALIZER.wait_idle(600):
                print("warning: resources were still being created after 600 s", file=sys.stderr)
        causes = list(_REALIZER.failures) if _REALIZER is not None else []
        reported = f"{type(e).__name__}: {e}"
        if reported not in causes:
            causes.append(reported)
        print(f"error: the deployment of stack {args.stack!r} (run {args.run_id}) failed:\n"
              + "\n".join(causes), file=sys.stderr)
        print("".join(traceback.format_exception(e))[-6000:], file=sys.stderr)
        print(f"error (repeated): {causes[0]}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)  # threads of the runtime may still be blocked; do not wait for them
    text = json.dumps(result, indent=2, sort_keys=True, default=str)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text)
    print(text)
    sys.stdout.flush()
    return 0


# ---------------------------------------------------------------------------
# the Python API for tests


class DeployError(Exception):
    def __init__(self, message: str, returncode: int, log: str):
        super().__init__(message)
        self.returncode = returncode
        self.log = log


class Outputs(dict):
    """A deployment's stack outputs (plain values), plus what else the run reported."""

    secret_names: list[str]
    log: str
    result: dict


def deploy(stack: str, run_id: str, config_overrides: Optional[dict[str, Any]] = None,
           repo_dir: str = REPO_ROOT, secrets: Optional[dict[str, Any]] = None,
           timeout: float = 1200, python: str = sys.executable) -> Outputs:
    """Deploy the program of repo_dir (default: this repository) for real, in a
    subprocess. Returns the stack outputs; raises DeployError with the run's
    log when the program fails."""
    cmd = [python, os.path.join(HERE, "run_program.py"), "--repo", os.path.abspath(repo_dir),
           "--stack", stack, "--run-id", run_id]
    for k, v in (config_overrides or {}).items():
        cmd += ["--config", f"{k}={_config_value(v)}"]
    for k, v in (secrets or {}).items():
        cmd += ["--secret", f"{k}={_config_value(v)}"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise DeployError(
            f"deployment of {stack!r} (run {run_id}) failed with exit status {proc.returncode}:\n"
            f"{proc.stderr[-8000:]}", proc.returncode, proc.stderr)
    result = json.loads(proc.stdout)
    out = Outputs(result["outputs"])
    out.secret_names = result["secretOutputs"]
    out.log = proc.stderr
    out.result = result
    return out


def copy_repo(dest: str, repo_dir: str = REPO_ROOT) -> str:
    """Copy the working tree (without .git, virtualenvs and caches) to dest."""
    ignore = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", ".pytest_cache", "*.pyc",
                                    "node_modules", ".pulumi-state", "staticfiles")
    shutil.copytree(repo_dir, dest, ignore=ignore, symlinks=True, dirs_exist_ok=True)
    return dest


if __name__ == "__main__":
    sys.exit(main())
