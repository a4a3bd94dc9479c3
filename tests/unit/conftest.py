"""Fixtures for the unit tests of the Pulumi program (infra/).

- `infra_config`: infra/settings.py (the stack configuration), imported as the
  program imports it (infra/ at the end of sys.path).
- `run_program(scenario)`: runs the whole program under Pulumi mocks in a
  fresh process (tests/harness/fake.py) and returns what it registered.
- `program(name)`: the same for the named scenarios in SCENARIOS, all started
  in parallel once per session and cached.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_infra_module

# Helpers live in a module of their own (a unique name), importable from the tests
# whatever pytest import mode is configured.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from infra_helpers import (  # noqa: E402
    FAILED_MIGRATION_LOG,
    ProgramRun,
    finish_program_run,
    start_program_run,
)

#: Named program runs shared by the tests (config keys are namespaced).
SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {"stack": "dev"},
    "custom": {
        "stack": "prod",
        "config": {
            "library:apiReplicas": "3",
            "library:hostPort": "9000",
            "library:bindAddress": "::1",
            "library:retainDatabaseVolume": "false",
            "library:https": "true",
            "library:production": "true",
            "library:allowedHosts": "api.example.com,.example.com",
            "library:apiCpus": "0.5",
            "library:apiMemoryMb": "256",
            "library:dbMemoryMb": "2048",
            "library:gunicornWorkers": "5",
            "library:gunicornThreads": "2",
            "library:throttleAnon": "5/second",
            "library:throttleUser": "off",
            "library:pythonImage": "library-base/python:bookworm",
            "library:postgresImage": "registry.example.com:5000/db/postgres:15.7-bookworm",
            "library:nginxImage": "library-base/nginx:bookworm",
            # The key is the platform: the engine (which does not exist) is not asked.
            "library:platform": "linux/arm64",
            "docker:host": "ssh://deploy@library.example.com",
        },
    },
    "all-interfaces": {"stack": "dev", "config": {"library:bindAddress": "0.0.0.0", "library:apiReplicas": "1"}},
    "failed-migration": {"stack": "dev", "migration_exit_code": 1, "migration_logs": FAILED_MIGRATION_LOG},
    "migration-without-exit-code": {"stack": "dev", "migration_exit_code": None, "migration_logs": ""},
    "bad-config": {
        "stack": "dev",
        "config": {
            "library:apiReplicas": "0",
            "library:hostPort": "70000",
            "library:bindAddress": "localhost",
            "library:apiCpus": "0",
            "library:production": "true",
            "library:postgresImage": "postgres:latest",
            "library:allowedHosts": "localhost,,http://x",
            "library:hostPortt": "8000",
            "docker:host": "http://docker.example.com",
        },
    },
    "preview": {"stack": "dev", "preview": True},
    "tls": {
        "stack": "dev",
        "config": {
            "library:hostPort": "8443",
            "library:allowedHosts": "library.example.com",
            "library:tlsCertificate": "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n",
            "library:tlsKey": "-----BEGIN PRIVATE KEY-----\nMIIEkeyZq9Zq9\n-----END PRIVATE KEY-----\n",
        },
        "secret_keys": ["library:tlsKey"],
    },
    "rollback": {"stack": "dev", "config": {"library:apiImage": "sha256:" + "e" * 64}},
    # Pushed to a registry with the deploying machine's Docker credentials (no login keys).
    "registry": {
        "stack": "prod",
        "config": {
            "library:imageRepository": "registry.example.com:5000/team/library-api",
            "library:platform": "linux/arm64",
        },
    },
    "registry-login": {
        "stack": "dev",
        "config": {
            "library:imageRepository": "localhost:5000/library-api",
            "library:registryUsername": "ci",
            "library:registryPassword": "s3cr3t-Tok3n",
        },
        "secret_keys": ["library:registryPassword"],
    },
    "remote-tls": {
        "stack": "prod",
        "config": {
            "library:platform": "linux/amd64",
            "docker:host": "tcp://docker.example.com:2376",
            "docker:caMaterial": "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n",
            "docker:certMaterial": "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n",
            "docker:keyMaterial": "-----BEGIN PRIVATE KEY-----\nMIIEkeyZq9Zq9\n-----END PRIVATE KEY-----\n",
        },
        "secret_keys": ["docker:keyMaterial"],
    },
}


@pytest.fixture(scope="session")
def infra_config():
    return load_infra_module("settings")


@pytest.fixture(scope="session")
def infra_drain_hook():
    return load_infra_module("drain_hook")


@pytest.fixture(scope="session")
def infra_health_report():
    return load_infra_module("health_report")


@pytest.fixture(scope="session")
def infra_sweep_hook():
    return load_infra_module("sweep_hook")


@pytest.fixture(scope="session")
def infra_migrations():
    return load_infra_module("migrations")


@pytest.fixture(scope="session")
def _scenario_runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("program-runs")
    started = {name: start_program_run(scenario, workdir, name) for name, scenario in SCENARIOS.items()}
    return {name: (process, out) for name, (process, out) in started.items()}


@pytest.fixture(scope="session")
def program(_scenario_runs) -> Callable[[str], ProgramRun]:
    cache: dict[str, ProgramRun] = {}

    def get(name: str) -> ProgramRun:
        if name not in cache:
            process, out = _scenario_runs[name]
            cache[name] = finish_program_run(process, out, name)
        return cache[name]

    return get


@pytest.fixture
def run_program(tmp_path) -> Callable[[dict[str, Any]], ProgramRun]:
    def run(scenario: dict[str, Any]) -> ProgramRun:
        label = f"run{len(list(tmp_path.glob('*.scenario.json')))}"
        process, out = start_program_run(scenario, tmp_path, label)
        return finish_program_run(process, out, label)

    return run
