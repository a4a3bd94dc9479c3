"""The program as `pulumi preview` runs it: every resource a create whose computed outputs are unknown
(tests/harness/fake.py FakeMocks._planned, after the engine and providers), for every stack file of the
repository and for a review stack. A preview must run to completion and declare what an update of the
same config declares; a value it knows must be the value the update gets, so a code path that reads an
unknown output eagerly (and carries on with None) shows up as a difference. docs/testing.md "Previews".
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from infra_helpers import REPO, ProgramRun, run_programs

from tests.harness import program as harness_program
from tests.harness.values import UNKNOWN_RECORD

#: Copies of stack files that tests and workflows write next to the committed ones.
GENERATED = ("Pulumi.ci-", "Pulumi.pr-")
#: The example is meant to be copied to Pulumi.prod.yaml (its own comment).
EXAMPLE_STACKS = {"Pulumi.remote.yaml.example": "prod"}
#: Outputs computed by the Docker engine or the providers: unknown until `pulumi up`.
COMPUTED_OUTPUTS = ("image", "api_container_names", "migration_container_name", "database_url")
REVIEW_PR = 42


def stack_files() -> dict[str, tuple[str, Path]]:
    found = {p.name: (p.name[len("Pulumi.") : -len(".yaml")], p) for p in REPO.glob("Pulumi.*.yaml")}
    found = {k: v for k, v in found.items() if not k.startswith(GENERATED)}
    found.update({name: (stack, REPO / name) for name, stack in EXAMPLE_STACKS.items()})
    return found


def review_stack_module() -> Any:
    spec = importlib.util.spec_from_file_location("review_stack", REPO / "scripts" / "ci" / "review_stack.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scenario_of(stack: str, path: Path, fake_bin: Path) -> dict[str, Any]:
    project = harness_program.load_project(str(REPO))
    config, secret_keys = harness_program.stack_config(str(REPO), project, stack, stack_file=str(path))
    # An ssh:// engine is asked through ssh(1): one that fails at once, as for an unknown host.
    environ = {"PATH": f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    return {"stack": stack, "config": config, "secret_keys": secret_keys, "environ": environ}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict[str, ProgramRun]]:
    """For every stack (by file name, and `review`): its preview and its update."""
    workdir = tmp_path_factory.mktemp("preview-runs")
    fake_bin = workdir / "bin"
    fake_bin.mkdir()
    ssh = fake_bin / "ssh"
    ssh.write_text("#!/bin/sh\necho 'ssh: Could not resolve hostname (unit tier)' >&2\nexit 255\n")
    ssh.chmod(0o755)
    review = review_stack_module()
    pr_stack = review.stack_name(REVIEW_PR)
    review_file = workdir / f"Pulumi.{pr_stack}.yaml"
    review_file.write_text(
        review.stack_config(REVIEW_PR, review.port_for(REVIEW_PR, set()), "review.example.com", "ssh://deploy@review")
    )
    stacks = {**stack_files(), "review": (pr_stack, review_file)}
    scenarios = {}
    for label, (stack, path) in stacks.items():
        base = scenario_of(stack, path, fake_bin)
        scenarios[f"{label}|preview"] = {**base, "preview": True}
        scenarios[f"{label}|up"] = base
    done = run_programs(scenarios, workdir)
    return {label: {"preview": done[f"{label}|preview"], "up": done[f"{label}|up"]} for label in stacks}


def disagreements(preview: Any, update: Any, path: str = "") -> list[str]:
    """Where a value the preview knows differs from the update's (unknowns agree with anything)."""
    if preview == UNKNOWN_RECORD:
        return []
    if isinstance(preview, dict) and isinstance(update, dict):
        # An unknown may turn out to be nothing (the engine's platform when the engine cannot be asked).
        known = {key for key, value in preview.items() if value != UNKNOWN_RECORD}
        if not known <= set(update) or not set(update) <= set(preview):
            return [f"{path}: keys {sorted(preview)} in the preview, {sorted(update)} in the update"]
        return [d for key in known for d in disagreements(preview[key], update[key], f"{path}.{key}")]
    if isinstance(preview, list) and isinstance(update, list) and len(preview) == len(update):
        return [
            d for i, (p, u) in enumerate(zip(preview, update, strict=True)) for d in disagreements(p, u, f"{path}[{i}]")
        ]
    return (
        []
        if preview == update
        else [f"{path}: {json.dumps(preview)} in the preview, {json.dumps(update)} in the update"]
    )


def options_of(resource: dict) -> dict:
    """A registration without its inputs, dependencies as the sets they are (registration order varies)."""
    options = {k: v for k, v in resource.items() if k != "inputs"}
    options["dependencies"] = sorted(options["dependencies"])
    options["property_dependencies"] = {k: sorted(v) for k, v in options["property_dependencies"].items()}
    return options


def preview_problems(preview: ProgramRun, update: ProgramRun) -> list[str]:
    """Everything in which a preview is not the update it announces."""
    if preview.error or update.error:
        return [f"preview error: {preview.error}", f"update error: {update.error}"]
    p_res = {r["urn"]: r for r in preview["resources"]}
    u_res = {r["urn"]: r for r in update["resources"]}
    problems = [f"only in the preview: {u}" for u in sorted(set(p_res) - set(u_res))]
    problems += [f"only in the update: {u}" for u in sorted(set(u_res) - set(p_res))]
    for urn in sorted(set(p_res) & set(u_res)):
        p, u = p_res[urn], u_res[urn]
        if options_of(p) != options_of(u):
            problems.append(f"{urn}: options differ: {options_of(p)} in the preview, {options_of(u)} in the update")
        problems += [f"{urn} {d}" for d in disagreements(p["inputs"], u["inputs"], "inputs")]
    for name, out in preview["outputs"].items():
        if out["known"]:
            problems += disagreements(out["value"], update["outputs"][name]["value"], f"output {name}")
    return problems


def test_every_stack_file_and_a_review_stack_are_previewed():
    names = set(stack_files())
    assert {"Pulumi.dev.yaml", "Pulumi.ci.yaml", "Pulumi.remote.yaml.example"} <= names


@pytest.mark.parametrize("label", [*sorted(stack_files()), "review"])
def test_a_preview_runs_to_completion_and_declares_what_the_update_does(runs, label):
    preview, update = runs[label]["preview"], runs[label]["up"]
    assert preview.error is None, preview.error
    assert preview_problems(preview, update) == []
    # The preview did see unknowns: the engine's and providers' computed values.
    for name in COMPUTED_OUTPUTS:
        assert preview.output(name)["known"] is False, name
        assert update.output(name)["known"] is True, name
    (migration,) = preview.containers("migrate")
    assert migration["inputs"]["image"] == UNKNOWN_RECORD  # the image's digest, known after its build


def test_the_review_stack_publishes_on_its_own_port(runs):
    (proxy,) = runs["review"]["up"].containers("proxy")
    port = review_stack_module().port_for(REVIEW_PR, set())
    assert proxy["inputs"]["ports"] == [{"internal": 8080, "external": port, "ip": "0.0.0.0", "protocol": "tcp"}]
    assert proxy["inputs"]["name"] == f"library-pr-{REVIEW_PR}-proxy"
    assert runs["review"]["preview"].output("public_url")["value"] == f"http://review.example.com:{port}/"


TOY_PROGRAM = """
import pulumi
import pulumi_docker as docker

# Labelled as the fake provider answers a migration: exit code 0 once created.
container = docker.Container(
    "job", image="busybox", must_run=False, labels=[{"label": "org.library.component", "value": "migrate"}]
)

async def checked():
    # Eager: the exit code is awaited, not applied. In a preview it is unknown (None here).
    code = await container.exit_code.future()
    if code != 0:
        raise RuntimeError(f"the job exited with {code}")
    return "ok"

pulumi.export("job", pulumi.Output.from_input(checked()))
"""


def test_a_program_that_reads_an_unknown_eagerly_fails_its_preview(tmp_path):
    """The check's own control: what passes an update but raises in a real preview must raise here."""
    (tmp_path / "Pulumi.yaml").write_text("name: toy\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(TOY_PROGRAM)
    from tests.harness.fake import run_scenario

    update = run_scenario({"stack": "dev", "migration_exit_code": 0}, str(tmp_path))
    preview = run_scenario({"stack": "dev", "preview": True}, str(tmp_path))
    assert update["error"] is None, update["error"]
    assert preview["error"] is not None and "exited with None" in preview["error"]["message"]
