"""The operator command (`library`, library_cli/) against a deployed stack: status, manage,
logs, psql and maintenance, as an operator uses them after `pulumi up` (docs/operations.md).

One deployment serves every scenario; the command reads a saved copy of the stack's
outputs (`--outputs`), as it would read `pulumi stack output --json --show-secrets`.
"""

from __future__ import annotations

import json
import os
import pty
import re
import secrets
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.live import Outputs
from tests.harness.stack import LiveStack
from tests.live.conftest import NO_THROTTLING, http, wait_for
from tests.live.traffic import ContinuousLoad

pytestmark = pytest.mark.live

#: The console script pyproject.toml declares, in the virtualenv running the tests.
LIBRARY = str(Path(sys.executable).with_name("library"))


@dataclass
class Deployed:
    stack: LiveStack
    outputs: Outputs
    outputs_file: Path

    def library(self, *args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        """`library ARGS --stack S --outputs FILE` (the options go before a `--`)."""
        head, sep, tail = list(args), [], []
        if "--" in head:
            index = head.index("--")
            head, sep, tail = head[:index], ["--"], head[index + 1 :]
        command = [LIBRARY, *head, "--stack", self.stack.stack, "--outputs", str(self.outputs_file), *sep, *tail]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)

    def count(self) -> int:
        response = http("GET", f"{self.outputs['url']}api/books/?page_size=1")
        assert response.status_code == 200, response.text
        return int(response.json()["count"])


@pytest.fixture(scope="module")
def deployed(module_live_stack, tmp_path_factory) -> Deployed:
    outputs = module_live_stack.deploy(**NO_THROTTLING)
    outputs_file = tmp_path_factory.mktemp("outputs") / "outputs.json"
    outputs_file.write_text(json.dumps(dict(outputs)))
    return Deployed(module_live_stack, outputs, outputs_file)


def converse(argv: list[str], steps: list[tuple[str, str]], timeout: float = 60) -> tuple[int, str]:
    """Run `argv` on a pseudo-terminal: for each (prompt, answer), wait for the prompt and type the
    answer. Returns the exit code and everything the terminal showed."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(argv, stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True)
    os.close(secondary)
    seen, deadline = "", time.monotonic() + timeout

    def read_until(text: str | None) -> None:
        nonlocal seen
        while text is None or text not in seen:
            ready, _, _ = select.select([main], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"no {text!r} on the terminal within {timeout} s; it showed:\n{seen}")
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the process ended and closed the terminal
                chunk = b""
            if not chunk:
                if text is None:
                    return
                raise AssertionError(f"the terminal closed before {text!r}; it showed:\n{seen}")
            seen += chunk.decode("utf-8", "replace")

    try:
        for prompt, answer in steps:
            read_until(prompt)
            seen = seen.replace(prompt, f"<{prompt}>", 1)  # the next wait looks past this prompt
            os.write(main, answer.encode())
        read_until(None)
        return process.wait(timeout=max(1.0, deadline - time.monotonic())), seen
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()


def status(deployed: Deployed) -> tuple[int, dict]:
    done = deployed.library("status", "--json")
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_the_command_is_the_projects_console_script():
    assert Path(LIBRARY).is_file(), f"{LIBRARY}: pyproject.toml's [project.scripts] is not installed (scripts/test)"
    done = subprocess.run([LIBRARY, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in ("status", "manage", "logs", "psql", "maintenance"):
        assert command in done.stdout


def test_status_is_green_then_red_with_a_replica_stopped_then_green_again(deployed, live_docker):
    code, report = status(deployed)
    assert code == 0 and report["healthy"], report
    roles = sorted(c["role"] for c in report["containers"])
    assert roles == sorted(["proxy", "db", "migrate"] + ["api"] * deployed.stack.replicas)
    assert report["migration"] == "exit code 0"
    assert report["database"]["connections"] >= 1 and report["database"]["size_bytes"] > 0
    assert report["serving"].startswith("/readyz answered 200")
    readable = deployed.library("status")
    assert readable.returncode == 0 and "HEALTHY" in readable.stdout, readable.stdout + readable.stderr
    for name in deployed.outputs["api_container_names"]:
        assert name in readable.stdout

    replica = live_docker.containers.get(deployed.outputs["api_container_names"][0])
    replica.stop(timeout=20)
    try:
        code, report = status(deployed)
        assert code == 1 and not report["healthy"]
        assert any(replica.name in problem and "exited" in problem for problem in report["problems"]), report
        done = deployed.library("status")
        assert done.returncode == 1 and "UNHEALTHY" in done.stdout
    finally:
        replica.start()
    wait_for(lambda: status(deployed)[0] == 0, timeout=60, what="status green again once the replica is back")


def test_manage_creates_an_admin_and_a_token_that_writes_through_the_api(deployed, live_docker):
    replicas = {c.id for c in deployed.stack.containers("api")}
    user = f"ops{secrets.token_hex(3)}"
    done = deployed.library(
        "manage", "-e", "DJANGO_SUPERUSER_PASSWORD", "--", "createsuperuser", "--noinput",
        "--username", user, "--email", f"{user}@example.com",
        env={**os.environ, "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(18)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Superuser created successfully" in done.stdout
    done = deployed.library("manage", "--", "drf_create_token", user)
    assert done.returncode == 0, done.stdout + done.stderr
    token = re.search(r"Generated token (\w+)", done.stdout).group(1)

    book = {"title": "Operated", "author": "Ops", "isbn": "9780306406157"}
    response = http("POST", f"{deployed.outputs['url']}api/books/", token, json=book)
    assert response.status_code == 201, response.text
    # One-off containers: gone afterwards, and the serving replicas were not used.
    assert deployed.stack.containers("manage") == []
    assert {c.id for c in deployed.stack.containers("api")} == replicas


def test_manage_and_psql_are_interactive_on_a_terminal(deployed):
    user, password = f"tty{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    options = ["--stack", deployed.stack.stack, "--outputs", str(deployed.outputs_file)]
    code, screen = converse(
        [LIBRARY, "manage", *options, "--", "createsuperuser"],
        [
            ("Username", f"{user}\n"),
            ("Email address:", f"{user}@example.com\n"),
            ("Password:", f"{password}\n"),
            ("Password (again):", f"{password}\n"),
        ],
    )
    assert code == 0 and "Superuser created successfully." in screen, screen
    assert deployed.stack.containers("manage") == []
    code, screen = converse(
        [LIBRARY, "psql", *options],
        [
            ("=#", f"select is_superuser, 41 + 1 as answer from auth_user where username = '{user}';\n"),
            ("row)", "\\q\n"),
        ],
    )
    assert code == 0 and re.search(r"\bt\s+\|\s+42\b", screen), screen


def test_manage_passes_the_exit_code_through(deployed):
    done = deployed.library("manage", "--", "no_such_command")
    assert done.returncode == 1
    assert "Unknown command: 'no_such_command'" in done.stderr
    assert "exited with code 1" in done.stderr
    assert deployed.stack.containers("manage") == []


def test_manage_loads_sample_books_that_the_api_lists_and_psql_counts(deployed):
    before = deployed.count()
    done = deployed.library("manage", "--", "load_sample_books", "1000", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    after = deployed.count()
    assert after == before + 1000
    done = deployed.library("psql", "-c", "select count(*) from books_book")
    assert done.returncode == 0, done.stderr
    assert re.search(rf"^\s*{after}\s*$", done.stdout, re.M), done.stdout


def test_psql_reports_a_failed_query(deployed):
    done = deployed.library("psql", "-c", "select * from no_such_table")
    assert done.returncode != 0
    assert 'relation "no_such_table" does not exist' in done.stderr


def test_logs_merge_the_replicas_requests_in_time_order(deployed):
    marker = f"ops-{secrets.token_hex(4)}"
    for index in range(12):
        # The access log keeps the path and the user agent (not the query).
        response = http("GET", f"{deployed.outputs['url']}api/books/", headers={"User-Agent": f"{marker}-{index:02d}"})
        assert response.status_code == 200
        # gunicorn writes the access line just after the response: a pause, so that it is
        # written before the next request reaches the other replica.
        time.sleep(0.1)
    done = deployed.library("logs", "api", "--since", "5m")
    assert done.returncode == 0, done.stderr
    clocks = [line[:12] for line in done.stdout.splitlines()]
    descents = [(a, b) for a, b in zip(clocks, clocks[1:], strict=False) if b < a]
    assert all(a.startswith("23:") and b.startswith("00:") for a, b in descents), (
        f"the merged lines are in time order (only midnight goes back): {descents}"
    )
    lines = [line for line in done.stdout.splitlines() if marker in line]
    assert [int(re.search(rf"{marker}-(\d\d)", line).group(1)) for line in lines] == list(range(12)), lines
    served_by = {name for name in deployed.outputs["api_container_names"] for line in lines if name in line}
    assert served_by == set(deployed.outputs["api_container_names"]), "both replicas' lines, each named"
    assert all(" GET /api/books/" in line and " 200" in line for line in lines), lines
    raw = deployed.library("logs", "api", "--since", "5m", "--json")
    entries = [json.loads(line) for line in raw.stdout.splitlines() if marker in line]
    assert len(entries) == 12 and all(e["logger"] == "gunicorn.access" for e in entries)


def test_maintenance_mode_answers_503_until_turned_off(deployed):
    url = deployed.outputs["url"]
    done = deployed.library("maintenance", "on")
    assert done.returncode == 0, done.stderr
    for method, path in [("GET", "api/books/"), ("POST", "api/books/"), ("GET", ""), ("GET", "admin/login/")]:
        response = http(method, f"{url}{path}", json={} if method == "POST" else None)
        assert response.status_code == 503, (method, path, response.status_code)
        assert response.headers["Content-Type"].startswith("application/json")
        assert "maintenance" in response.json()["detail"]
        assert int(response.headers["Retry-After"]) > 0
    page = http("GET", url, headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert http("GET", f"{url}healthz").status_code == 200
    code, report = status(deployed)
    assert code == 0 and report["maintenance"] is not None, report
    assert "on" in deployed.library("maintenance", "status").stdout

    done = deployed.library("maintenance", "off")
    assert done.returncode == 0, done.stderr
    token = deployed.stack.api_token(deployed.outputs["api_container_names"][0], username="opsload")
    load = ContinuousLoad(url, token, seed=7).start()
    time.sleep(5)
    result = load.stop()
    assert result.requests > 50 and result.failures == [], result.failures[:5]
    code, report = status(deployed)
    assert code == 0 and report["maintenance"] is None


def test_bad_input_gets_a_clear_message_and_exit_code(deployed, tmp_path):
    missing = tmp_path / "missing.json"
    done = subprocess.run([LIBRARY, "status", "--outputs", str(missing)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "cannot read the outputs file" in done.stderr

    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    done = subprocess.run([LIBRARY, "status", "--outputs", str(empty)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "no outputs yet" in done.stderr

    unreachable = tmp_path / "unreachable.json"
    unreachable.write_text(json.dumps({**deployed.outputs, "engine": {"host": "tcp://127.0.0.1:9", "ssh_opts": []}}))
    started = time.monotonic()
    done = subprocess.run(
        [LIBRARY, "status", "--outputs", str(unreachable)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3 and "cannot reach the Docker engine at tcp://127.0.0.1:9" in done.stderr
    assert time.monotonic() - started < 30

    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps({**deployed.outputs, "proxy_container_name": "library-no-such-proxy"}))
    done = subprocess.run(
        [LIBRARY, "maintenance", "on", "--outputs", str(gone)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3 and "proxy container library-no-such-proxy is not on the engine" in done.stderr
    done = subprocess.run(
        [LIBRARY, "status", "--json", "--outputs", str(gone)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "library-no-such-proxy is missing" in " ".join(json.loads(done.stdout)["problems"])

    done = deployed.library("manage")
    assert done.returncode == 2 and "which management command" in done.stderr
