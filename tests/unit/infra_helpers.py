"""Helpers for the unit tests of the Pulumi program (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
#: The unit tier's runner: the program under fake mocks (tests/harness/fake.py).
HARNESS = "tests.harness.fake"
PROGRAM_TIMEOUT_S = 120
#: The unit tier needs no Docker engine: the program's one question to the engine (its platform,
#: infra/app_image.py) goes to a socket that does not exist, whatever the developer's environment says.
NO_ENGINE = "unix:///nonexistent/library-unit-tier-has-no-docker.sock"

FAILED_MIGRATION_LOG = (
    "Operations to perform:\n  Apply all migrations: books\nRunning migrations:\n"
    "  Applying books.0002_isbn...Traceback (most recent call last):\n"
    'django.db.utils.ProgrammingError: column "isbn" of relation "books_book" already exists\n'
)


class ProgramRun(dict):
    """The JSON result of one run, with lookup helpers."""

    @property
    def error(self) -> dict | None:
        return self["error"]

    def ok(self) -> ProgramRun:
        assert self.error is None, f"program failed: {self.error}"
        return self

    def of_type(self, typ: str) -> list[dict]:
        return [r for r in self["resources"] if r["type"] == typ]

    def named(self, name: str) -> dict:
        found = [r for r in self["resources"] if r["name"] == name]
        assert len(found) == 1, f"expected one resource named {name!r}, found {len(found)}"
        return found[0]

    def containers(self, component: str) -> list[dict]:
        """Containers of a component (db, migrate, api), API replicas in replica order
        (registration order is not deterministic)."""
        found = [
            r
            for r in self.of_type("docker:index/container:Container")
            if label_map(r).get("org.library.component") == component
        ]
        return sorted(found, key=lambda r: int(label_map(r).get("org.library.replica", 0)))

    def output(self, name: str) -> dict:
        return self["outputs"][name]


def label_map(resource: dict) -> dict[str, str]:
    labels = resource["inputs"].get("labels") or []
    return {item["label"]: item["value"] for item in labels}


def unwrap(value: Any) -> Any:
    """A recorded input without its secret marker."""
    if isinstance(value, dict) and set(value) == {"__secret__"}:
        return value["__secret__"]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"__secret__"}


def start_program_run(scenario: dict[str, Any], workdir: Path, label: str) -> tuple[subprocess.Popen, Path]:
    """Start the program under mocks for `scenario` in a fresh process (tests/harness/fake.py)."""
    scenario_path = workdir / f"{label}.scenario.json"
    out_path = workdir / f"{label}.out.json"
    scenario_path.write_text(json.dumps(scenario))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = NO_ENGINE
    env.update(scenario.get("environ", {}))
    process = subprocess.Popen(
        [sys.executable, "-m", HARNESS, str(scenario_path), str(out_path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, out_path


def finish_program_run(process: subprocess.Popen, out_path: Path, label: str) -> ProgramRun:
    """Wait for a run started by start_program_run and return what it recorded."""
    try:
        output, _ = process.communicate(timeout=PROGRAM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"program run {label!r} timed out; output:\n{output}") from None
    if process.returncode != 0 or not out_path.exists():
        raise AssertionError(f"program harness {label!r} failed (rc={process.returncode}):\n{output}")
    return ProgramRun(json.loads(out_path.read_text()))


def run_programs(scenarios: dict[str, dict[str, Any]], workdir: Path) -> dict[str, ProgramRun]:
    """Run every scenario, in parallel processes."""
    started = {label: start_program_run(scenario, workdir, label) for label, scenario in scenarios.items()}
    return {label: finish_program_run(process, out, label) for label, (process, out) in started.items()}
