"""scripts/ci/review-destroy through scripts/deploy, with a recording `pulumi` (tests/unit's fake CLI):
the stack file written again, `destroy --run-program` (the drain hooks need the program), then `stack rm`.
docs/ci.md "Review environments"."""

from __future__ import annotations

import pytest

from tests.fake_pulumi import fake_pulumi_env

from .conftest import REPO, run_step


@pytest.fixture
def pr_stack_file():
    path = REPO / "Pulumi.pr-9001.yaml"
    yield path
    path.unlink(missing_ok=True)


def test_review_destroy_destroys_with_the_program_then_removes_the_stack(tmp_path, pr_stack_file):
    env, log = fake_pulumi_env(tmp_path)
    env |= {
        "PULUMI_CONFIG_PASSPHRASE": "review-s3cret",
        "REVIEW_HOST": "review.example.com",
        "REVIEW_DOCKER_HOST": "ssh://deploy@review.example.com",
    }
    result = run_step("review-destroy", "9001", env=env)
    assert result.returncode == 0, result.stderr
    calls = [line for line in log.read_text().splitlines() if line.startswith("ARGS")]
    assert calls == [
        "ARGS stack select --create --secrets-provider passphrase pr-9001",
        "ARGS destroy --yes --run-program --stack pr-9001 --suppress-progress",
        "ARGS stack select --create --secrets-provider passphrase pr-9001",
        "ARGS stack rm --yes pr-9001",
    ]
    assert "library:hostPort: 29001" not in pr_stack_file.read_text()  # 9001 % 1000 + 20000
    assert "library:hostPort: 20001" in pr_stack_file.read_text()
    assert "review-s3cret" not in result.stdout + result.stderr
