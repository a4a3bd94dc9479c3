"""The live tier's runner: one deployment of a project's program, realized on a
real Docker engine, in a process of its own (see docs/testing.md, the live tier).

Command line (prints the stack outputs as JSON on stdout; logs on stderr;
exit status 1 with the error on failure)::

    python -m tests.harness.live --stack ci --run-id demo \\
        [--repo DIR] [--config library:hostPort=18080 ...] [--secret key=value ...]

From Python (tests)::

    from tests.harness.live import deploy, copy_repo
    outputs = deploy("ci", "demo", {"library:hostPort": "18080"})
    outputs.secret_names   # names of the outputs the program marked secret
    destroy("ci", "demo", {"library:hostPort": "18080"}, run_program=True)

`pulumi destroy [--run-program]`: the same command line with ``--destroy [--run-program]``.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any

from . import engine, program
from .program import REPO_ROOT, config_value, load_project, stack_config
from .realizer import Realizer
from .values import RealizeError, alias_of, contains_secret, integral, is_secret, plain, secret


def _make_monitor(realizer: Realizer) -> Any:
    from google.protobuf import empty_pb2
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, _resolve_callbacks
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

    class RealizingMonitor(MockMonitor):
        """The SDK's mock monitor, plus what the engine would add for this
        program: URNs handed to the realizer, additionalSecretOutputs and
        secret inputs kept secret in outputs, and the stack's outputs kept."""

        stack_outputs: dict | None = None

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """As the engine makes it (deployment.go: generateURN): the root stack is no
            parent type (the SDK's mock monitor prefixes it), so that alias URNs match."""
            import pulumi

            return engine.generate_urn(pulumi.get_stack(), pulumi.get_project(), parent, type_, name)

        def RegisterResource(self, request: Any) -> Any:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = urn
                return resource_pb2.RegisterResourceResponse(urn=urn)
            _ensure_event_loop()
            inputs = rpc.deserialize_properties(request.object)
            args = MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
                transforms=_resolve_callbacks(request.transforms),
            )
            realizer.local.urn = urn
            # The options the engine keeps in its state and acts on (step_generator.go, step.go).
            hooks = request.hooks
            realizer.local.options = {
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "deleteBeforeReplaceDefined": bool(request.deleteBeforeReplaceDefined),
                "protect": request.protect if request.HasField("protect") else False,
                "retainOnDelete": request.retainOnDelete if request.HasField("retainOnDelete") else False,
                "ignoreChanges": list(request.ignoreChanges),
                "replaceOnChanges": list(request.replaceOnChanges),
                "hooks": {
                    kind: list(getattr(hooks, field))
                    for kind, field in (
                        ("beforeCreate", "before_create"),
                        ("afterCreate", "after_create"),
                        ("beforeUpdate", "before_update"),
                        ("afterUpdate", "after_update"),
                        ("beforeDelete", "before_delete"),
                        ("afterDelete", "after_delete"),
                        ("onError", "on_error"),
                    )
                    if getattr(hooks, field)
                },
                "dependencies": sorted(set(request.dependencies)),
                "propertyDependencies": {k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
                "parent": request.parent,
                "provider": request.provider,
                "deletedWith": request.deletedWith,
                # The SDK sends alias specs when the monitor lists ALIAS_SPECS (the mock monitor's
                # GetDeploymentInfo does), else URNs; the engine takes both (source_eval.go: RegisterResource).
                "aliases": [{"urn": u} for u in request.aliasURNs] + [alias_of(a) for a in request.aliases],
            }
            try:
                id_, state = self.mocks.new_resource(args)
            finally:
                realizer.local.urn = None
                realizer.local.options = None
            # The engine keeps additionalSecretOutputs and outputs of secret inputs secret
            # (pulumi engine pkg/resource/deploy/step_executor.go, additionalSecretOutputs).
            secret_outputs = set(request.additionalSecretOutputs)
            for key, value in list(state.items()):
                if is_secret(value):
                    continue
                if key in secret_outputs or contains_secret(inputs.get(key)):
                    state[key] = secret(value)
            obj_proto = _sync_await(rpc.serialize_properties(state, {}))
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_ or "", state)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj_proto)

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if request.urn.split("::")[2:3] == ["pulumi:pulumi:Stack"]:
                _ensure_event_loop()
                self.stack_outputs = rpc.deserialize_properties(request.outputs)
            return empty_pb2.Empty()

    return RealizingMonitor(realizer)


def _remember_resource_hooks(realizer: Realizer) -> None:
    """Hand the program's resource hooks and error hooks to the realizer by name, as the
    engine knows them, so that it can run them when it deletes a resource or a step fails
    (registration itself goes on as usual)."""
    import pulumi.resource_hooks as resource_hooks

    register = resource_hooks.register_resource_hook
    register_error = resource_hooks.register_error_hook

    def register_and_remember(hook: Any) -> Any:
        realizer.hooks[hook.name] = hook
        return register(hook)

    def register_error_and_remember(hook: Any) -> Any:
        realizer.error_hooks[hook.name] = hook
        return register_error(hook)

    resource_hooks.register_resource_hook = register_and_remember
    resource_hooks.register_error_hook = register_error_and_remember


_REALIZER: Realizer | None = None  # the running deployment's Realizer, for the failure path of main()


def _provider_connection() -> Any:
    """infra/docker_engine.py of this checkout, which reaches the engine as pulumi-docker does (each
    rule cites the provider source), loaded without leaving the program's modules in sys.modules:
    the program under test (perhaps another version of it) imports its own."""
    infra = os.path.join(REPO_ROOT, "infra")
    before = set(sys.modules)
    sys.path.insert(0, infra)
    try:
        import docker_engine  # loaded here on purpose, then forgotten by name

        return docker_engine
    finally:
        sys.path.remove(infra)
        for name in set(sys.modules) - before:
            if os.path.dirname(os.path.abspath(getattr(sys.modules[name], "__file__", "") or "")) == infra:
                del sys.modules[name]


@contextlib.contextmanager
def provider_engine(config: dict[str, str], secret_keys: list[str]) -> Iterator[tuple[Any, Any]]:
    """The Engine (infra/docker_engine.py) and a docker-py client of the engine the provider deploys
    this stack to: the `docker:` keys of its config and their environment fallbacks (docker:host,
    DOCKER_HOST, docker:sshOpts, TLS material or certPath), connected the same way (an ssh:// host
    through the ssh binary).
    When the keys do not resolve, the program refuses them with its own message before it
    declares any resource; the default engine serves until then."""
    connection = _provider_connection()
    raw = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("docker:")}
    problems: list[str] = []
    resolved = connection.resolve_engine(raw, os.environ, secret_keys=secret_keys, problems=problems)
    target = resolved or connection.Engine(host=connection.DEFAULT_HOST)
    with connection.engine_client(target, 300) as client:
        yield client, target


def run_in_process(
    repo_dir: str,
    stack: str,
    run_id: str,
    config: dict[str, str],
    secret_keys: list[str],
    project: dict,
    destroy: bool = False,
    run_program: bool = False,
) -> dict:
    """Run the program in this process (`pulumi up`), or destroy the run's resources
    (`pulumi destroy [--run-program]`); return {outputs, secretOutputs, ...}."""
    global _REALIZER
    with provider_engine(config, secret_keys) as (client, target):
        path = program.program_dir(repo_dir, project)
        realizer = _REALIZER = Realizer(run_id, path, client=client, replay=destroy)
        realizer.engine = target
        started = time.monotonic()
        raw: dict = {}
        if destroy:
            if run_program:
                raw = _run_program(realizer, path, project, stack, config, secret_keys)
            engine.destroy(realizer, run_program)
        else:
            raw = _run_program(realizer, path, project, stack, config, secret_keys)
            # The engine's delete phase: pending deletes of replacements, then what the program no longer registers.
            engine.delete_phase(realizer)
            if realizer.post_step_errors:
                raise RealizeError("\n".join(realizer.post_step_errors))
        elapsed = time.monotonic() - started
        return {
            "outputs": {} if destroy else integral(plain(raw)),
            "secretOutputs": [] if destroy else sorted(k for k, v in raw.items() if is_secret(v)),
            "pruned": realizer.deleted,
            "deleted": realizer.deleted,
            "retained": realizer.retained,
            "hookRuns": realizer.hook_runs,
            "created": [list(x) for x in realizer.created],
            "seconds": round(elapsed, 1),
        }


def _run_program(
    realizer: Realizer, path: str, project: dict, stack: str, config: dict[str, str], secret_keys: list[str]
) -> dict:
    """The program, registering through the realizer; its stack outputs (raw)."""
    monitor = _make_monitor(realizer)
    _remember_resource_hooks(realizer)

    def keep_context() -> None:
        realizer.program_context = contextvars.copy_context()

    program.run(
        path,
        project["name"],
        stack,
        config,
        secret_keys,
        monitor,
        logger=logging.getLogger("live.program"),
        organization="organization",
        before_program=keep_context,
    )
    return monitor.stack_outputs or {}


def _fail(stack: str, run_id: str, e: BaseException) -> None:
    """Report a failed deployment and leave at once, as the engine does on a failure:
    start nothing new, and let the operations under way finish, so that no half-made
    object appears after this process has gone (and a teardown misses it)."""
    if _REALIZER is not None:
        _REALIZER.stop("the deployment failed")
        if not _REALIZER.wait_idle(600):
            print("warning: resources were still being created after 600 s", file=sys.stderr)
    causes = list(_REALIZER.failures) if _REALIZER is not None else []
    reported = f"{type(e).__name__}: {e}"
    if reported not in causes:
        causes.append(reported)
    print(f"error: the deployment of stack {stack!r} (run {run_id}) failed:\n" + "\n".join(causes), file=sys.stderr)
    print("".join(traceback.format_exception(e))[-6000:], file=sys.stderr)
    print(f"error (repeated): {causes[0]}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)  # threads of the runtime may still be blocked; do not wait for them


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the project's Pulumi program on a real Docker engine.")
    ap.add_argument("--repo", default=REPO_ROOT, help="repository (or a copy of it) holding Pulumi.yaml")
    ap.add_argument("--stack", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--secret", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json-out", help="also write the result JSON to this file")
    ap.add_argument("--destroy", action="store_true", help="`pulumi destroy`: delete every resource of the run's state")
    ap.add_argument(
        "--run-program",
        action="store_true",
        help="with --destroy: run the program first (needed when resources have delete hooks)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    def pairs(items: list[str]) -> dict[str, str]:
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
        if args.run_program and not args.destroy:
            ap.error("--run-program goes with --destroy")
        result = run_in_process(
            repo,
            args.stack,
            args.run_id,
            config,
            secret_keys,
            project,
            destroy=args.destroy,
            run_program=args.run_program,
        )
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - reported, then a failing exit status
        _fail(args.stack, args.run_id, e)
    text = json.dumps(result, indent=2, sort_keys=True, default=str)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text)
    print(text)
    sys.stdout.flush()
    return 0


# --- the Python API for tests ------------------------------------------------------


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


def deploy(
    stack: str,
    run_id: str,
    config_overrides: dict[str, Any] | None = None,
    repo_dir: str = REPO_ROOT,
    secrets: dict[str, Any] | None = None,
    timeout: float = 1200,
    python: str = sys.executable,
    _extra: list[str] | None = None,
) -> Outputs:
    """Deploy the program of repo_dir (default: this repository) for real, in a
    subprocess. Returns the stack outputs; raises DeployError with the run's
    log when the program fails."""
    cmd = [
        python,
        "-m",
        "tests.harness.live",
        "--repo",
        os.path.abspath(repo_dir),
        "--stack",
        stack,
        "--run-id",
        run_id,
        *(_extra or []),
    ]
    for k, v in (config_overrides or {}).items():
        cmd += ["--config", f"{k}={config_value(v)}"]
    for k, v in (secrets or {}).items():
        cmd += ["--secret", f"{k}={config_value(v)}"]
    # From this repository's root: the harness is imported from here, whatever repo_dir is.
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    if proc.returncode != 0:
        operation = "destroy" if _extra else "deployment"
        raise DeployError(
            f"{operation} of {stack!r} (run {run_id}) failed with exit status {proc.returncode}:\n"
            f"{proc.stderr[-8000:]}",
            proc.returncode,
            proc.stderr,
        )
    result = json.loads(proc.stdout)
    out = Outputs(result["outputs"])
    out.secret_names = result["secretOutputs"]
    out.log = proc.stderr
    out.result = result
    return out


def destroy(
    stack: str,
    run_id: str,
    config_overrides: dict[str, Any] | None = None,
    repo_dir: str = REPO_ROOT,
    secrets: dict[str, Any] | None = None,
    run_program: bool = False,
    timeout: float = 600,
    python: str = sys.executable,
) -> Outputs:
    """`pulumi destroy [--run-program]` of the run, in a subprocess: every resource of the run's
    state deleted in reverse dependency order (before_delete hooks run, retain_on_delete ones only
    dropped from the state, a protected one fails it). Without run_program it is refused when a
    resource has delete hooks, as the engine refuses it. Raises DeployError on failure; the
    result's "deleted", "retained" and "hookRuns" say what happened."""
    extra = ["--destroy"] + (["--run-program"] if run_program else [])
    return deploy(stack, run_id, config_overrides, repo_dir, secrets, timeout, python, _extra=extra)


def copy_repo(dest: str, repo_dir: str = REPO_ROOT) -> str:
    """Copy the working tree (without .git, virtualenvs and caches) to dest."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "venv", "__pycache__", ".pytest_cache", "*.pyc", "node_modules", ".pulumi-state", "staticfiles"
    )
    shutil.copytree(repo_dir, dest, ignore=ignore, symlinks=True, dirs_exist_ok=True)
    return dest


if __name__ == "__main__":
    sys.exit(main())
