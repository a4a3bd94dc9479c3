"""scripts/ci/review-destroy through scripts/deploy, with a recording `pulumi` (tests/unit's fake CLI):
the stack file written again, `destroy --run-program` (the drain hooks need the program), then `stack rm`.
docs/ci.md "Review environments"."""

from __future__ import annotations

import pytest

from tests.unit.test_infra_project_files import FAKE_PULUMI

from .conftest import REPO, run_step


@pytest.fixture
def pr_stack_file():
    path = REPO / "Pulumi.pr-9001.yaml"
    yield path
    path.unlink(missing_ok=True)


def test_review_destroy_destroys_with_the_program_then_removes_the_stack(tmp_path, pr_stack_file):
    if not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip("scripts/deploy would create the root .venv; run with it present")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    log = tmp_path / "pulumi.log"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FAKE_PULUMI_LOG": str(log),
        "LIBRARY_BACKEND_URL": f"file://{tmp_path}/state",
        "LIBRARY_NO_CLI_INSTALL": "1",
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
