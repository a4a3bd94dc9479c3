"""The unit tier's runner: the program under fake mocks (outputs invented), once
per process, writing what it registered as JSON (see docs/testing.md).

    python -m tests.harness.fake SCENARIO.json OUT.json

SCENARIO: {"stack": "dev", "config": {"library:apiReplicas": "3", ...}, "secret_keys": [...],
           "preview": false, "migration_exit_code": 0, "migration_logs": "...",
           "environ": {...}}  (environ: added to the process's environment by tests/unit/infra_helpers.py)
           The config is the whole config (no stack file is read), so a test controls every key.
OUT: {"error": null | {"type", "message", "run_error"},
      "resources": [{"type", "name", "urn", "parent", "custom", "inputs",
                     "dependencies", "property_dependencies",
                     "delete_before_replace", "delete_before_replace_defined",
                     "replace_on_changes", "retain_on_delete", "protect",
                     "before_delete_hooks", "on_error_hooks", "after_create_hooks",
                     "aliases": [{"urn"} | {"name", "type", "stack", "project", "parentUrn", "noParent"}]}],
      "outputs": {name: {"value", "secret", "known"}},  (unknown in a preview: value {"__unknown__": true})
      "outputs_registered": [urn, ...]  (register_outputs calls), "logs": [...]}
Secret values appear as {"__secret__": value}; in a preview (every resource a create, its computed
outputs unknown: FakeMocks._planned) unknown inputs and outputs as {"__unknown__": true}.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import dill
import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, mocks, rpc

from . import program
from .values import UNKNOWN_RECORD, alias_of, plain, recorded

DYNAMIC = "pulumi-python:dynamic:Resource"
DYNAMIC_PROVIDER_KEY = "__provider"
#: What a successful migration prints, when the scenario does not say.
MIGRATION_LOGS = "Operations to perform:\n  Apply all migrations: books\nNo migrations to apply.\n"


def _hex(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class FakeMocks(Mocks):
    """Fake provider answers: echo the inputs, add the outputs the program reads."""

    def __init__(self, scenario: dict[str, Any]):
        self.scenario = scenario

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        if self.scenario.get("preview"):
            return self._planned(args)
        state = dict(args.inputs)
        typ = args.typ
        if typ == "docker:index/image:Image":
            state["repoDigest"] = self._repo_digest(state)
            state["baseImageName"] = state.get("imageName")
        elif typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = "sha256:" + _hex(state.get("name"))
            state["repoDigest"] = f"{state.get('name')}@sha256:{_hex('digest', state.get('name'))}"
        elif typ == "docker:index/container:Container":
            self._container(args, state)
        elif typ in ("docker:index/network:Network", "docker:index/volume:Volume"):
            state["name"] = state.get("name") or args.name
            if typ == "docker:index/network:Network":
                # What the provider reads back: the subnet the engine assigned.
                state["ipamConfigs"] = [{"subnet": "172.30.0.0/16", "gateway": "172.30.0.1"}]
        elif typ == DYNAMIC:
            return self._dynamic(args, state)
        elif typ == "random:index/randomPassword:RandomPassword":
            length = int(state.get("length") or 16)
            state["result"] = ("Zq9" * length)[:length]
        return f"{args.name}-id", state

    @staticmethod
    def _planned(args: MockResourceArgs) -> tuple[str, dict]:
        """A create in a preview, as the engine and providers answer it: no id and the inputs alone, so
        every computed output (a container's name when auto-named, exit code and logs, an image's digest,
        a password's result, a network's subnet, a dynamic resource's outs) is unknown to the program.
        pulumi pkg/resource/deploy/step.go CreateStep.Apply calls the provider's Create with
        `Preview: DryRun`; pulumi-docker provider/provider.go Create answers a preview with the request's
        properties (buildOnPreview unset); the bridged resources plan computed attributes as unknown; the
        dynamic provider host is not asked at all. The SDK then resolves every output the answer lacks as
        unknown (sdk/python pulumi/runtime/rpc.py resolve_properties: `known = not is_dry_run()`) and an
        empty id as unknown (runtime/resource.py). docs/testing.md "Previews"."""
        return "", dict(args.inputs)

    def _repo_digest(self, state: dict[str, Any]) -> str:
        """As pulumi-docker provider/image.go dockerBuild sets it: the image id when `skipPush`; after a
        push (`skipPush` unset means false: marshalSkipPush), the registry's digest of the image name
        without its tag (parseRepoDigestFromAux: WithDigest(TrimNamed(name), digest))."""
        name, build = state.get("imageName"), state.get("build")
        if state.get("skipPush"):
            return "sha256:" + _hex(name, build)
        head, _, tail = str(name).rpartition(":")
        untagged = head if head and "/" not in tail else str(name)
        return f"{untagged}@sha256:{_hex('pushed', name, build)}"

    def _container(self, args: MockResourceArgs, state: dict[str, Any]) -> None:
        """An auto-name; the migration container's exit code and logs from the scenario."""
        state["name"] = state.get("name") or f"{args.name}-{_hex(args.name)[:7]}"
        labels = {
            item.get("label"): item.get("value") for item in plain(state.get("labels") or []) if isinstance(item, dict)
        }
        if labels.get("org.library.component") == "migrate":
            code = self.scenario.get("migration_exit_code", 0)
            if code is not None:
                state["exitCode"] = code
            state["containerLogs"] = self.scenario.get("migration_logs", MIGRATION_LOGS)

    def _dynamic(self, args: MockResourceArgs, props: dict[str, Any]) -> tuple[str, dict]:
        """A dynamic resource is created by its own provider, as the SDK's provider host does
        (sdk/python/lib/pulumi/dynamic/__main__.py: get_provider unpickles `__provider`, Create
        calls its create); a create that raises fails the registration."""
        inputs = plain(props)
        provider = dill.loads(base64.b64decode(inputs.pop(DYNAMIC_PROVIDER_KEY)))
        result = provider.create(inputs)
        return str(result.id), {**(result.outs or {}), DYNAMIC_PROVIDER_KEY: props[DYNAMIC_PROVIDER_KEY]}

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, also recording the registration requests (options included)."""

    def __init__(self, m: Mocks):
        super().__init__(m)
        self.registrations: list[dict] = []
        self.outputs_registered: list[str] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.registrations.append(
            {
                "type": request.type,
                "name": request.name,
                "urn": response.urn,
                "parent": request.parent,
                "custom": bool(request.custom),
                "inputs": recorded(rpc.deserialize_properties(request.object)),
                "dependencies": list(request.dependencies),
                "property_dependencies": {key: list(value.urns) for key, value in request.propertyDependencies.items()},
                "delete_before_replace": bool(request.deleteBeforeReplace),
                "delete_before_replace_defined": bool(request.deleteBeforeReplaceDefined),
                "replace_on_changes": list(request.replaceOnChanges),
                "retain_on_delete": request.retainOnDelete if request.HasField("retainOnDelete") else None,
                "protect": request.protect if request.HasField("protect") else None,
                "before_delete_hooks": list(request.hooks.before_delete),
                "on_error_hooks": list(request.hooks.on_error),
                "after_create_hooks": list(request.hooks.after_create),
                "aliases": [{"urn": u} for u in request.aliasURNs] + [alias_of(a) for a in request.aliases],
            }
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs_registered.append(request.urn)
        return super().RegisterResourceOutputs(request)


def _stack_outputs(ran: program.Ran) -> dict[str, dict]:
    """The stack's outputs, resolved, each with whether it is secret."""
    outputs: dict[str, dict] = {}

    async def resolve() -> None:
        for key, value in ran.stack.outputs.items():
            output = pulumi.Output.from_input(value)
            known = await output.is_known()
            value = recorded(await output.future()) if known else dict(UNKNOWN_RECORD)
            outputs[key] = {"value": value, "secret": await output.is_secret(), "known": known}

    ran.loop.run_until_complete(resolve())
    return outputs


def run_scenario(scenario: dict[str, Any], repo_dir: str = program.REPO_ROOT) -> dict[str, Any]:
    """Run the program of repo_dir once for the scenario; what it registered, as JSON-able data."""
    logs: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logs.append(f"{record.levelname}: {record.getMessage()}")

    logger = logging.getLogger("infra-harness")
    logger.setLevel(logging.INFO)
    logger.addHandler(Collect())

    project = program.load_project(repo_dir)
    monitor = RecordingMonitor(FakeMocks(scenario))
    error: BaseException | None = None
    outputs: dict[str, dict] = {}
    try:
        ran = program.run(
            program.program_dir(repo_dir, project),
            project["name"],
            scenario.get("stack", "dev"),
            dict(scenario.get("config", {})),
            list(scenario.get("secret_keys", [])),
            monitor,
            preview=bool(scenario.get("preview", False)),
            logger=logger,
        )
        outputs = _stack_outputs(ran)
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        error = exc
    return {
        "error": None
        if error is None
        else {
            "type": type(error).__name__,
            "message": str(error),
            "run_error": isinstance(error, pulumi.RunError),
        },
        "resources": monitor.registrations,
        "outputs": outputs,
        "outputs_registered": monitor.outputs_registered,
        "logs": logs,
    }


def main(argv: list[str] | None = None) -> int:
    scenario_path, out_path = argv or sys.argv[1:3]
    result = run_scenario(json.loads(Path(scenario_path).read_text()))
    Path(out_path).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
