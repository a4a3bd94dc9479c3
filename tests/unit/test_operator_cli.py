"""The operator command's pieces that need no engine: the outputs it reads (and the program
exports), the readable log lines and their order, and its messages for bad input
(docs/operations.md). The live tier runs every subcommand against a deployed stack."""

from __future__ import annotations

import json
import os
import stat

import pytest

from library_cli import logs, status
from library_cli.stack import OperatorError, read_outputs, stack_from_outputs

OUTPUTS = {
    "url": "http://127.0.0.1:8000/",
    "image": "sha256:" + "a" * 64,
    "api_container_names": ["library-dev-api-0-abcdefg", "library-dev-api-1-hijklmn"],
    "db_container_name": "library-dev-db",
    "proxy_container_name": "library-dev-proxy",
    "migration_container_name": "library-dev-migrate-opqrstu",
    "network_name": "library-dev",
    "engine": {"host": "ssh://deploy@example.com:2222", "ssh_opts": ["-i", "/k"]},
    "labels": {"org.library.project": "library", "org.library.stack": "dev"},
}


# --- what the program exports for it ---------------------------------------------------


def test_the_program_exports_the_engine_and_labels(program):
    outputs = program("custom").ok()["outputs"]
    engine = {"value": {"host": "ssh://deploy@library.example.com", "ssh_opts": []}, "secret": False, "known": True}
    assert outputs["engine"] == engine
    assert outputs["labels"]["value"] == {"org.library.project": "library", "org.library.stack": "prod"}
    stack = stack_from_outputs("prod", {k: v["value"] for k, v in outputs.items()})
    assert stack.engine.host == "ssh://deploy@library.example.com" and stack.engine.transport == "ssh"
    assert stack.roles()[0] == ("proxy", "library-prod-proxy")


def test_an_engine_with_a_tls_key_is_a_secret_output(program):
    outputs = program("remote-tls").ok()["outputs"]
    assert outputs["engine"]["secret"] is True
    engine = stack_from_outputs("prod", {k: v["value"] for k, v in outputs.items()}).engine
    assert engine.transport == "tls-material" and "PRIVATE KEY" in (engine.key_material or "")


# --- reading the outputs ---------------------------------------------------------------


def test_outputs_make_a_stack(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    stack = stack_from_outputs("dev", read_outputs("dev", path))
    assert stack.engine.ssh_opts == ("-i", "/k")
    assert stack.container_names("api") == OUTPUTS["api_container_names"]
    assert stack.container_names("migrate") == ["library-dev-migrate-opqrstu"]
    assert len(stack.container_names("all")) == 5


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({}, "has no outputs yet: the stack was never deployed"),
        ({**OUTPUTS, "proxy_container_name": None}, "lack proxy_container_name"),
        ({**OUTPUTS, "api_container_names": "x"}, "is not a list of names"),
        ({**OUTPUTS, "engine": {"host": "http://x"}}, "the output engine of stack 'dev' is malformed: host must start"),
        ({**OUTPUTS, "engine": {"host": "unix:///s", "ssh_opts": "-i k"}}, "ssh_opts must be a list of strings"),
    ],
)
def test_bad_outputs_are_named(tmp_path, outputs, message):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    with pytest.raises(OperatorError, match=message):
        stack_from_outputs("dev", read_outputs("dev", path))


def test_an_outputs_file_that_is_not_json(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("url: x")
    with pytest.raises(OperatorError, match="is not JSON .*pulumi stack output --json --show-secrets"):
        read_outputs("dev", path)


def test_without_an_engine_output_the_environment_names_it_as_for_the_provider():
    outputs = {k: v for k, v in OUTPUTS.items() if k != "engine"}
    stack = stack_from_outputs("dev", outputs, environ={"DOCKER_HOST": "tcp://10.0.0.5:2375"})
    assert stack.engine.host == "tcp://10.0.0.5:2375"
    with pytest.raises(OperatorError, match=r"DOCKER_HOST \(environment\): must start with one of"):
        stack_from_outputs("dev", outputs, environ={"DOCKER_HOST": "docker.example.com"})


def test_an_unknown_stack_in_the_backend(tmp_path, monkeypatch):
    # What the CLI prints for a stack the backend lacks: pulumi pkg/backend/backenderr/backenderr.go
    # (StackNotFoundError), exit code 255. A stand-in `pulumi` prints that and records its arguments.
    fake = tmp_path / "pulumi"
    fake.write_text(
        '#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\necho "$PULUMI_BACKEND_URL" >> "$(dirname "$0")/args"\n'
        "echo \"error: no stack named 'qa' found\" >&2\nexit 255\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LIBRARY_BACKEND_URL", "file:///srv/state")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    with pytest.raises(OperatorError, match="no stack named 'qa' in the backend file:///srv/state"):
        read_outputs("qa", None)
    args, backend = (tmp_path / "args").read_text().splitlines()
    assert args == "stack output --json --show-secrets --stack qa" and backend == "file:///srv/state"


def test_without_the_pulumi_cli_it_says_to_save_the_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(OperatorError, match="the Pulumi CLI is not installed .* --outputs FILE"):
        read_outputs("dev", None)


# --- logs ------------------------------------------------------------------------------


def test_lines_of_several_containers_merge_in_time_order():
    a = list(logs.parse("a", b"2026-12-06T10:00:00.000000001Z one\n2026-12-06T10:00:02.5Z three\n"))
    b = list(logs.parse("b", b"2026-12-06T10:00:01.999999999Z two\n"))
    assert [line.text for line in logs.merged([a, b])] == ["one", "two", "three"]


def test_json_lines_are_made_readable():
    access = logs.Line(
        "2026-12-06T10:00:01.123456789Z",
        "api-0",
        '{"time": "[06/Dec/2026:10:00:01 +0000]", "logger": "gunicorn.access", "remote": "172.18.0.5", '
        '"method": "GET", "path": "/api/books/", "status": 200, "bytes": "512", "duration_us": 900, '
        '"user_agent": "ua"}',
    )
    assert logs.readable(access, 6) == (
        "10:00:01.123 api-0   gunicorn.access  GET /api/books/ 200  "
        "remote=172.18.0.5 bytes=512 duration_us=900 user_agent=ua"
    )
    app = logs.Line(
        "2026-12-06T10:00:02.000Z", "api-1", '{"level": "WARNING", "logger": "books", "message": "hm", "n": 3}'
    )
    assert logs.readable(app, 5) == "10:00:02.000 api-1  WARNING books  hm  n=3"
    plain = logs.Line("2026-12-06T10:00:03.000Z", "db", "LOG:  database system is ready")
    assert logs.readable(plain, 2) == "10:00:03.000 db  LOG:  database system is ready"


@pytest.mark.parametrize("value", ["10", "m", "5w", "yesterday"])
def test_bad_since_values_are_refused(value):
    with pytest.raises(ValueError, match="--since takes a duration"):
        logs._since(value)


def test_docker_times_with_nanoseconds_parse():
    parsed = status._parse_time("2026-12-06T10:00:01.123456789Z")
    assert parsed is not None and parsed.microsecond == 123456 and parsed.utcoffset().total_seconds() == 0
    assert status._parse_time("0001-01-01T00:00:00Z") is None


# --- ship ------------------------------------------------------------------------------


def test_ship_targets_the_engine_and_images_of_the_stack_file(tmp_path):
    from library_cli.ship import project_dir, stack_target
    from library_cli.stack import REPO

    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.edge.yaml").write_text(
        "config:\n  docker:host: ssh://deploy@edge.example:2222\n  docker:sshOpts: ['-i', '/k']\n"
        "  library:postgresImage: library-base/postgres:bookworm\n"
    )
    (tmp_path / "sub").mkdir()
    assert project_dir(tmp_path / "sub") == tmp_path
    engine, images = stack_target("edge", {}, tmp_path)
    assert engine.host == "ssh://deploy@edge.example:2222" and engine.ssh_opts == ("-i", "/k")
    assert images == ["python:3.11-slim-bookworm", "library-base/postgres:bookworm", "nginx:1.27-bookworm"]
    with pytest.raises(OperatorError, match="no stack file Pulumi.nope.yaml"):
        stack_target("nope", {}, tmp_path)
    (tmp_path / "Pulumi.enc.yaml").write_text("config:\n  docker:host:\n    secure: AAAbbb\n")
    with pytest.raises(OperatorError, match="docker:host is encrypted in Pulumi.enc.yaml"):
        stack_target("enc", {}, tmp_path)
