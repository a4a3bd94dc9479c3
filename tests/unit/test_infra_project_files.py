"""Pulumi.yaml, the stack files, scripts/deploy and docs/deploy.md agree with the program."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from infra_helpers import INFRA, REPO

from tests.conftest import load_infra_module
from tests.fake_pulumi import fake_pulumi_env
from tests.harness.program import config_value

DEPLOY = REPO / "scripts" / "deploy"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def test_project_file_runs_the_program_in_infra_with_the_root_venv():
    project = load(REPO / "Pulumi.yaml")
    assert project["name"] == "library"
    assert project["main"].rstrip("/") == "infra"
    runtime = project["runtime"]
    assert runtime["name"] == "python"
    assert runtime["options"]["toolchain"] == "pip"
    # Pulumi resolves a relative virtualenv against the project root (the
    # directory of Pulumi.yaml), not against `main`.
    venv = runtime["options"]["virtualenv"]
    assert not os.path.isabs(venv)
    assert (REPO / venv).resolve() == (REPO / ".venv").resolve()
    assert (INFRA / "__main__.py").is_file()
    assert (INFRA / "requirements.txt").is_file()


def test_project_config_block_is_rendered_from_the_settings_table(infra_config):
    reference = load_infra_module("settings_reference")
    schema = load(REPO / "Pulumi.yaml")["config"]
    assert schema == reference.pulumi_config_schema(), "run scripts/config-reference --write"
    for key, spec in schema.items():
        assert spec["type"] in {"string", "integer", "boolean"}, key
        assert config_value(spec["default"]) == infra_config.DEFAULTS[key], key
    # the defaults make a valid configuration
    infra_config.parse_settings({}, project="library", stack="dev")


def test_docs_table_is_rendered_from_the_settings_table():
    reference = load_infra_module("settings_reference")
    assert reference.docs_table() in (REPO / "docs" / "deploy.md").read_text(), "run scripts/config-reference --write"


def test_config_reference_script_checks_and_rewrites(tmp_path):
    script = REPO / "scripts" / "config-reference"
    assert subprocess.run([sys.executable, str(script)], capture_output=True).returncode == 0
    # On a copy whose docs drifted, the check fails and --write mends it.
    copy = tmp_path / "repo"
    for part in ("infra", "scripts", "docs"):
        shutil.copytree(REPO / part, copy / part)
    shutil.copy(REPO / "Pulumi.yaml", copy / "Pulumi.yaml")
    docs = copy / "docs" / "deploy.md"
    docs.write_text(docs.read_text().replace("| `hostPort` | integer | `8000` |", "| `hostPort` | integer | `80` |"))
    check = subprocess.run([sys.executable, str(copy / "scripts" / "config-reference")], capture_output=True, text=True)
    assert check.returncode == 1 and "out of date: docs/deploy.md" in check.stdout
    subprocess.run([sys.executable, str(copy / "scripts" / "config-reference"), "--write"], check=True)
    assert docs.read_text() == (REPO / "docs" / "deploy.md").read_text()


def _stack_settings(infra_config, path: Path):
    config = load(path).get("config") or {}
    raw = {}
    for full_key, value in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace == "library":
            raw[key] = config_value(value)
    docker_host = config.get("docker:host")
    return infra_config.parse_settings(
        raw, project="library", stack=path.stem, docker_host=docker_host, all_keys=list(raw)
    )


def test_dev_stack_works_with_defaults(infra_config):
    settings = _stack_settings(infra_config, REPO / "Pulumi.dev.yaml")
    assert settings.docker_host is None
    assert settings.bind_address == "127.0.0.1"
    assert settings.https is False


def test_remote_example_is_a_valid_production_stack(infra_config):
    path = REPO / "Pulumi.remote.yaml.example"
    settings = _stack_settings(infra_config, path)
    assert settings.production is True
    assert settings.docker_host.startswith("ssh://")
    assert settings.https is True
    ssh_opts = load(path)["config"]["docker:sshOpts"]
    assert isinstance(ssh_opts, list) and all(isinstance(o, str) for o in ssh_opts)


def test_deploy_script_is_executable_bash():
    assert DEPLOY.stat().st_mode & stat.S_IXUSR
    assert DEPLOY.read_text().startswith("#!/usr/bin/env bash")
    subprocess.run(["bash", "-n", str(DEPLOY)], check=True)


@pytest.fixture
def fake_pulumi(tmp_path):
    env, log = fake_pulumi_env(tmp_path)

    def run(*args, **extra_env):
        result = subprocess.run(
            [str(DEPLOY), *args], env={**env, **extra_env}, capture_output=True, text=True, timeout=120
        )
        calls = log.read_text() if log.exists() else ""
        log.unlink(missing_ok=True)
        return result, calls

    return run


def test_deploy_up_uses_local_backend_passphrase_and_dev_stack(fake_pulumi, tmp_path):
    result, calls = fake_pulumi("--diff")
    assert result.returncode == 0, result.stderr
    assert "ARGS stack select --create --secrets-provider passphrase dev" in calls
    assert "ARGS up --yes --stack dev --diff" in calls
    assert "ARGS stack output url --stack dev" in calls
    assert f"BACKEND file://{tmp_path}/state" in calls
    assert "PASSPHRASE_SET yes" in calls and "PASSPHRASE []" in calls
    assert f"CWD {REPO}" in calls
    assert "PULUMI_CONFIG_PASSPHRASE is empty" in result.stderr
    assert result.stdout.strip().endswith("http://127.0.0.1:8000/")
    assert (tmp_path / "state").is_dir()


def test_deploy_uses_the_backend_pulumi_itself_would(fake_pulumi, tmp_path):
    """CI sets PULUMI_BACKEND_URL, as Pulumi documents it (docs/ci.md); LIBRARY_BACKEND_URL still wins."""
    result, calls = fake_pulumi("preview", LIBRARY_BACKEND_URL="", PULUMI_BACKEND_URL=f"file://{tmp_path}/ci")
    assert result.returncode == 0, result.stderr
    assert f"BACKEND file://{tmp_path}/ci" in calls
    _, calls = fake_pulumi("preview", PULUMI_BACKEND_URL=f"file://{tmp_path}/ci")
    assert f"BACKEND file://{tmp_path}/state" in calls


def test_deploy_preview_for_drift(fake_pulumi):
    """The drift workflow's command (docs/ci.md "Drift detection")."""
    result, calls = fake_pulumi("--stack", "prod", "preview", "--refresh", "--expect-no-changes", "--diff")
    assert result.returncode == 0, result.stderr
    assert "ARGS preview --stack prod --refresh --expect-no-changes --diff" in calls


def test_deploy_preview_destroy_and_stack_selection(fake_pulumi):
    result, calls = fake_pulumi("--stack", "prod", "preview", "--refresh", PULUMI_CONFIG_PASSPHRASE="s3cret")
    assert result.returncode == 0, result.stderr
    assert "ARGS stack select --create --secrets-provider passphrase prod" in calls
    assert "ARGS preview --stack prod --refresh" in calls
    assert "PASSPHRASE [s3cret]" in calls
    assert "is empty" not in result.stderr

    result, calls = fake_pulumi("destroy", "--stack=qa")
    assert result.returncode == 0, result.stderr
    # --run-program: the replicas' before_delete hook; the engine refuses to destroy without it.
    assert "ARGS destroy --yes --run-program --stack qa" in calls

    result, calls = fake_pulumi("pulumi", "stack", "--show-urns")
    assert result.returncode == 0, result.stderr
    assert "ARGS stack --show-urns" in calls


def test_deploy_rejects_a_bad_stack_name(fake_pulumi):
    result, calls = fake_pulumi("--stack", "a b")
    assert result.returncode != 0
    assert "invalid stack name" in result.stderr
    assert calls == ""
