"""scripts/ci/drift.py: the drift decision on a preview's exit code and output, and its one issue per
stack on a fake GitHub API. docs/ci.md "Drift detection"."""

from __future__ import annotations

from .conftest import run_step

DRIFT_OUTPUT = """Previewing update (prod):
 ~  docker:index/container:Container library-prod-api-0 update [diff: ~memory]
Resources:
    ~ 1 to update
    20 unchanged
error: no changes were expected but changes were proposed
"""


def decide(tmp_path, code: int, output: str, *extra: str, env=None):
    path = tmp_path / "preview.txt"
    path.write_text(output)
    return run_step("drift.py", "prod", str(code), str(path), *extra, env=env)


def test_the_decision(tmp_path):
    assert decide(tmp_path, 0, "Resources:\n    21 unchanged\n").stdout == "clean\n"
    assert decide(tmp_path, 255, DRIFT_OUTPUT).stdout == "drift\n"
    colored = DRIFT_OUTPUT.replace("no changes", "\x1b[31mno changes\x1b[0m")
    assert decide(tmp_path, 255, colored).stdout == "drift\n"
    failed = decide(tmp_path, 255, "error: failed to decrypt: incorrect passphrase\n")
    assert failed.stdout == "error\n" and failed.returncode == 1


def test_one_issue_per_stack_opened_updated_then_closed(tmp_path, github):
    fake, env = github
    assert decide(tmp_path, 255, DRIFT_OUTPUT, "--report", "--run-url", "https://ci/run/1", env=env).returncode == 0
    assert decide(tmp_path, 255, DRIFT_OUTPUT, "--report", env=env).returncode == 0
    (issue,) = fake.issues
    assert issue["title"] == "Drift in stack prod" and issue["labels"] == ["drift"] and issue["state"] == "open"
    assert "library-prod-api-0" in issue["body"]
    assert [c["body"].split("\n")[0] for c in fake.comments] == ["Still drifting:"]
    assert decide(tmp_path, 0, "no changes\n", "--report", env=env).returncode == 0
    assert issue["state"] == "closed" and len(fake.comments) == 2


def test_a_failed_preview_touches_no_issue(tmp_path, github):
    fake, env = github
    assert decide(tmp_path, 1, "error: could not connect\n", "--report", env=env).returncode == 1
    assert fake.requests == []
