"""Run the Pulumi program in infra/ once, under mocks, and write what it did as JSON.

    python tests/unit/infra_harness.py SCENARIO.json OUT.json

Why a separate process per run: the Pulumi runtime keeps global state (root
stack, config, settings), so a process per program execution is the robust
way to run the program many times with different configurations. It also
keeps infra/ off the test process's sys.path (infra/config.py would shadow
the Django project's `config` package).

The program runs the way the CLI runs it: working directory infra/, infra/ at
the front of sys.path, `__main__.py` executed as a script.

SCENARIO: {"stack": "dev", "config": {"library:apiReplicas": "3", ...},
           "preview": false, "migration_exit_code": 0, "migration_logs": "..."}
OUT: {"error": null | {"type", "message", "run_error"},
      "resources": [{"type", "name", "urn", "parent", "custom", "inputs",
                     "dependencies", "property_dependencies",
                     "delete_before_replace", "delete_before_replace_defined",
                     "replace_on_changes", "retain_on_delete", "protect",
                     "before_delete_hooks"}],
      "outputs": {name: {"value", "secret"}},
      "outputs_registered": [urn, ...]  (register_outputs calls), "logs": [...]}
Secret values appear as {"__secret__": value}.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
PROJECT = "library"


def _hex(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def main() -> int:
    scenario = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2])

    os.chdir(INFRA)
    sys.path.insert(0, str(INFRA))

    import pulumi
    from pulumi.runtime import mocks, rpc
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.stack import wait_for_rpcs

    def plain(value):
        """JSON-able copy of deserialized properties; secrets made visible."""
        if rpc.is_rpc_secret(value):
            return {"__secret__": plain(value["value"])}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        return repr(value)

    class Mocks(pulumi.runtime.Mocks):
        """Fake provider answers: echo the inputs, add the outputs the program reads."""

        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            state = dict(args.inputs)
            typ = args.typ
            if typ == "docker:index/image:Image":
                state["repoDigest"] = "sha256:" + _hex(state.get("imageName"), state.get("build"))
                state["baseImageName"] = state.get("imageName")
            elif typ == "docker:index/remoteImage:RemoteImage":
                state["imageId"] = "sha256:" + _hex(state.get("name"))
                state["repoDigest"] = f"{state.get('name')}@sha256:{_hex('digest', state.get('name'))}"
            elif typ == "docker:index/container:Container":
                state["name"] = state.get("name") or f"{args.name}-{_hex(args.name)[:7]}"
                labels = {
                    item.get("label"): item.get("value")
                    for item in rpc.unwrap_rpc_secret(state.get("labels") or [])
                    if isinstance(item, dict)
                }
                if labels.get("org.library.component") == "migrate":
                    code = scenario.get("migration_exit_code", 0)
                    if code is not None:
                        state["exitCode"] = code
                    state["containerLogs"] = scenario.get(
                        "migration_logs", "Operations to perform:\n  Apply all migrations: books\nNo migrations to apply.\n"
                    )
            elif typ in ("docker:index/network:Network", "docker:index/volume:Volume"):
                state["name"] = state.get("name") or args.name
                if typ == "docker:index/network:Network":
                    # What the provider reads back: the subnet the engine assigned.
                    state["ipamConfigs"] = [{"subnet": "172.30.0.0/16", "gateway": "172.30.0.1"}]
            elif typ == "random:index/randomPassword:RandomPassword":
                length = int(state.get("length") or 16)
                state["result"] = ("Zq9" * length)[:length]
            return f"{args.name}-id", state

        def call(self, args: pulumi.runtime.MockCallArgs):
            return {}

    class RecordingMonitor(mocks.MockMonitor):
        """Mock monitor that also records the registration requests (options included)."""

        def __init__(self, m):
            super().__init__(m)
            self.registrations: list[dict] = []
            self.outputs_registered: list[str] = []

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            self.registrations.append(
                {
                    "type": request.type,
                    "name": request.name,
                    "urn": response.urn,
                    "parent": request.parent,
                    "custom": bool(request.custom),
                    "inputs": plain(rpc.deserialize_properties(request.object)),
                    "dependencies": list(request.dependencies),
                    "property_dependencies": {
                        key: list(value.urns) for key, value in request.propertyDependencies.items()
                    },
                    "delete_before_replace": bool(request.deleteBeforeReplace),
                    "delete_before_replace_defined": bool(request.deleteBeforeReplaceDefined),
                    "replace_on_changes": list(request.replaceOnChanges),
                    "retain_on_delete": request.retainOnDelete if request.HasField("retainOnDelete") else None,
                    "protect": request.protect if request.HasField("protect") else None,
                    "before_delete_hooks": list(request.hooks.before_delete),
                }
            )
            return response

        def RegisterResourceOutputs(self, request):
            self.outputs_registered.append(request.urn)
            return super().RegisterResourceOutputs(request)

    logs: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            logs.append(f"{record.levelname}: {record.getMessage()}")

    logger = logging.getLogger("infra-harness")
    logger.setLevel(logging.INFO)
    logger.addHandler(Collect())

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    pulumi.runtime.set_all_config(dict(scenario.get("config", {})), list(scenario.get("secret_keys", [])))
    monitor = RecordingMonitor(Mocks())
    pulumi.runtime.set_mocks(
        Mocks(),
        project=PROJECT,
        stack=scenario.get("stack", "dev"),
        preview=bool(scenario.get("preview", False)),
        logger=logger,
        monitor=monitor,
    )

    error: BaseException | None = None
    try:
        runpy.run_path(str(INFRA / "__main__.py"), run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        error = exc
    try:
        loop.run_until_complete(wait_for_rpcs())
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        error = error or exc

    outputs: dict[str, dict] = {}
    if error is None:
        root = runtime_settings.get_root_resource()

        async def resolve():
            for key, value in root.outputs.items():
                output = pulumi.Output.from_input(value)
                outputs[key] = {"value": plain(await output.future()), "secret": await output.is_secret()}

        try:
            loop.run_until_complete(resolve())
        except BaseException as exc:  # noqa: BLE001
            error = exc

    result = {
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
    out_path.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
