"""scripts/ci/review_stack.py: review stacks' names, their ports on the shared review host, their stack
files, and the sweep's choice of stacks to destroy. docs/ci.md "Review environments"."""

from __future__ import annotations

import json

import yaml

from .conftest import run_step


def test_names():
    assert run_step("review_stack.py", "name", "42").stdout == "pr-42\n"
    assert run_step("review_stack.py", "name", "0").returncode == 2


def test_ports_are_the_pr_number_in_the_range_and_never_shared(tmp_path):
    out = tmp_path / "github_output"
    # 1042 and 42 share a slot: the older PR keeps it, the newer takes the next free one (43 is taken).
    for pr, port in (("42", "20042"), ("1042", "20044"), ("43", "20043")):
        result = run_step(
            "review_stack.py", "config", pr, "--host", "review.example.com", "--docker-host", "ssh://deploy@review",
            "--open", "42", "43", "1042", "--github-output", str(out), "--dir", str(tmp_path),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"port={port}\n" in result.stdout
        config = yaml.safe_load((tmp_path / f"Pulumi.pr-{pr}.yaml").read_text())["config"]
        assert config["library:hostPort"] == int(port)
        assert config["docker:host"] == "ssh://deploy@review"
        assert config["library:allowedHosts"] == "review.example.com"
        assert config["library:retainDatabaseVolume"] is False
    assert "stack=pr-1042\nport=20044\n" in out.read_text()


def test_a_value_that_would_break_the_stack_file_is_refused(tmp_path):
    result = run_step(
        "review_stack.py", "config", "7", "--host", "a\nb", "--docker-host", "ssh://x", "--dir", str(tmp_path)
    )
    assert result.returncode == 2 and "unusable value" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_destroys_review_stacks_of_closed_prs_only(tmp_path):
    stacks = tmp_path / "stacks.json"
    stacks.write_text(
        json.dumps(
            [  # `pulumi stack ls --json` (pkg/cmd/pulumi/stack/stack_list.go stackSummaryJSON)
                {"name": "prod", "current": False, "lastUpdate": "2026-12-01T10:00:00.000Z", "resourceCount": 21},
                {"name": "pr-7", "current": False, "resourceCount": 12},
                {"name": "pr-12", "current": True, "resourceCount": 12},
                {"name": "acme/library/pr-30", "current": False, "resourceCount": 0},
                {"name": "pr-30-old", "current": False},
                {"name": "ci", "current": False},
            ]
        )
    )
    result = run_step("review_stack.py", "sweep", str(stacks), "--open", "12", "31")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pr-7", "pr-30"]
    # Nothing open: every review stack goes, nothing else.
    assert run_step("review_stack.py", "sweep", str(stacks)).stdout.split() == ["pr-7", "pr-12", "pr-30"]
