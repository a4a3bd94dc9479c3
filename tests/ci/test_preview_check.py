"""scripts/ci/preview_check.py on recorded `pulumi preview --json` output (tests/ci/previews/, the shape of
pulumi pkg/display/json.go PreviewDigest with this program's URNs and types): the pull request's database
gate. docs/ci.md "The database gate"."""

from __future__ import annotations

import json

import pytest

from .conftest import PREVIEWS, run_step

CASES = {
    "no-change": (0, "keeps the database"),
    "replica-replaced": (0, "keeps the database"),
    "database-replaced": (1, "docker:index/container:Container database-server would be replaced [replace]"),
    "volume-deleted": (1, "docker:index/volume:Volume database-data would be deleted [delete]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_gate_reads_the_preview_json(case, tmp_path):
    code, says = CASES[case]
    summary = tmp_path / "summary.md"
    result = run_step("preview_check.py", str(PREVIEWS / f"{case}.json"), "--summary", str(summary))
    assert result.returncode == code, result.stdout + result.stderr
    assert says in result.stdout and says in summary.read_text()


def test_an_approved_database_change_is_reported_but_passes():
    result = run_step("preview_check.py", str(PREVIEWS / "database-replaced.json"), "--allow-database-change")
    assert result.returncode == 0 and "would be replaced" in result.stdout


def test_the_recorded_previews_are_this_programs():
    """The cases name the program's real resources: the database component's container and volume."""
    urns = {s["urn"] for case in CASES for s in json.loads((PREVIEWS / f"{case}.json").read_text())["steps"]}
    assert "urn:pulumi:prod::library::library:infra:Database$docker:index/container:Container::database-server" in urns
    assert "urn:pulumi:prod::library::library:infra:Database$docker:index/volume:Volume::database-data" in urns


@pytest.mark.parametrize("op", ["create-replacement", "delete-replaced"])
def test_replacement_steps_count_too(op, tmp_path):
    """With --show-replacement-steps the engine lists the halves of a replace (display.go shouldShow)."""
    digest = json.loads((PREVIEWS / "database-replaced.json").read_text())
    for step in digest["steps"]:
        step["op"] = op if step["op"] == "replace" else step["op"]
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(digest))
    assert run_step("preview_check.py", str(path)).returncode == 1


def test_text_instead_of_json_is_an_error_not_a_pass(tmp_path):
    path = tmp_path / "preview.txt"
    path.write_text("Previewing update (prod):\n  ~ docker:index/container:Container database-server replace\n")
    result = run_step("preview_check.py", str(path))
    assert result.returncode == 2 and "cannot read" in result.stderr
