"""The contract tier: what a client generated from /api/schema/ meets.

The schema is made once per session as the service makes it, then the Python
client (openapi-python-client) and the TypeScript types (openapi-typescript)
are generated from it, once; the Python client talks to the real service
(Django's live server on 127.0.0.1, on the tier's throwaway PostgreSQL). The npm tools come from package-lock.json with
`npm ci`, rerun only when the lock changes. docs/testing.md#the-contract-tier
says what the tier proves.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests.node_tools import node_modules

HERE = Path(__file__).resolve().parent
APP = HERE.parents[1] / "app"
VENV_BIN = Path(sys.executable).parent
PACKAGE = "library_client"


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a tool; a failure shows its whole output."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def node_bin() -> Path:
    """tests/contract/node_modules/.bin (tests/node_tools.py installs it when the lock changed)."""
    return node_modules("the contract tier's TypeScript and Spectral checks") / ".bin"


@pytest.fixture(scope="session")
def service_url(live_server) -> str:
    """The real service over HTTP on 127.0.0.1 (Django's live server thread)."""
    return live_server.url


@pytest.fixture(scope="session")
def schema_file(tmp_path_factory) -> Path:
    """The schema the service serves at /api/schema/, made by the same generator
    (`manage.py spectacular`) with the tier's settings: no request, no database."""
    path = tmp_path_factory.mktemp("contract") / "schema.json"
    run([sys.executable, str(APP / "manage.py"), "spectacular", "--format", "openapi-json", "--file", str(path)])
    return path


@pytest.fixture(scope="session")
def schema(schema_file) -> dict:
    return json.loads(schema_file.read_text())


@pytest.fixture(scope="session")
def generated_client(schema_file):
    """The package openapi-python-client 0.29 makes of the schema, importable as `library_client`.

    Generated without post hooks (ruff): formatting is not the contract."""
    out = schema_file.parent / "python"
    config = schema_file.parent / "generator.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    run(
        [str(VENV_BIN / "openapi-python-client"), "generate", "--path", str(schema_file)]
        + ["--output-path", str(out / PACKAGE), "--meta", "none", "--config", str(config), "--overwrite"],
        env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))


@pytest.fixture
def api(generated_client, transactional_db):
    """`api("books_create")`: an operation module of the generated client, imported on demand
    (an import error is the client's failure, reported by the test that uses it)."""

    def operation(name: str):
        return importlib.import_module(f"{PACKAGE}.api.books.{name}")

    return operation


@pytest.fixture
def token_key(transactional_db) -> str:
    user = get_user_model().objects.create_user("contract-writer", password="a-long-test-password")
    return Token.objects.create(user=user).key


@pytest.fixture
def anonymous(generated_client, service_url):
    return generated_client.Client(base_url=service_url, raise_on_unexpected_status=True)


@pytest.fixture
def writer(generated_client, service_url, token_key):
    """A generated client with its defaults: the `Bearer` prefix (the API also accepts `Token`)."""
    return generated_client.AuthenticatedClient(base_url=service_url, token=token_key, raise_on_unexpected_status=True)
