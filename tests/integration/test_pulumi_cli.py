"""End to end: deploy a throwaway stack to the local Docker engine with the
Pulumi Automation API, exercise it, update it, destroy it.

Needs the Pulumi CLI on PATH (with the docker and random provider plugins
installable or installed) and a Docker engine that answers; skipped otherwise.

Environment:
  LIBRARY_TEST_PYTHON_IMAGE    base image of the service build (default: the
                               project default, python:3.11-slim-bookworm)
  LIBRARY_TEST_POSTGRES_IMAGE  PostgreSQL image (default: postgres:15-bookworm)
  For hosts without a registry: library-base/python:bookworm and
  library-base/postgres:bookworm (scripts/build-debian-images.sh).

Everything it creates is named after a random stack (itest-xxxxxxxx) and
removed at the end, including the retained database volume, the images it
built and the Pulumi.<stack>.yaml that the Automation API writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port_block

REPO = Path(__file__).resolve().parents[2]
PROJECT = "library"
REPLICAS = 2


def _skip_reason() -> str | None:
    if shutil.which("pulumi") is None:
        return (
            "the Pulumi CLI is not on PATH (install it: https://www.pulumi.com/docs/install/, "
            "e.g. curl -fsSL https://get.pulumi.com | sh)"
        )
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker Python SDK is not installed (pip install -r requirements-dev.txt)"
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as error:  # noqa: BLE001 - any failure means: no engine to test against
        return f"no Docker engine answers ({type(error).__name__}: {error})"
    if not (REPO / ".venv" / "bin" / "python").exists():
        return "the root .venv that Pulumi.yaml names does not exist (scripts/deploy creates it)"
    return None


SKIP_REASON = _skip_reason()
pytestmark = [
    pytest.mark.pulumi_cli,
    pytest.mark.docker,
    pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or ""),
]


def http_get(url: str, timeout_s: float = 60) -> tuple[int, bytes]:
    """GET with retries until the deadline (connection errors and 5xx)."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            last = error
            if error.code < 500:
                return error.code, error.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = error
        time.sleep(1)
    raise AssertionError(f"GET {url} did not succeed within {timeout_s}s: {last}")


def check_service(url: str) -> None:
    status, body = http_get(url + "healthz")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"
    status, body = http_get(url + "readyz")
    assert status == 200, body
    status, body = http_get(url + "api/books/")
    assert status == 200, body
    json.loads(body)


class Ops:
    """Collects the engine's operation per resource URN from Automation API events."""

    def __init__(self) -> None:
        self.by_urn: dict[str, list[str]] = {}  # operations in the order the engine started them

    def __call__(self, event) -> None:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None or pre.metadata is None:
            return
        op = pre.metadata.op
        self.by_urn.setdefault(pre.metadata.urn, []).append(getattr(op, "value", str(op)))

    def changed(self) -> dict[str, list[str]]:
        return {urn: ops for urn, ops in self.by_urn.items() if set(ops) - {"same", "read"}}


def _copy_repo(target: Path) -> Path:
    ignore = shutil.ignore_patterns(".git", ".venv", ".pulumi-state", "__pycache__", "*.pyc", ".pytest_cache")
    shutil.copytree(REPO, target, ignore=ignore, symlinks=True)
    (target / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)
    return target


#: Base images from the environment (the Debian-made ones where no registry is reachable).
IMAGE_KEYS = {
    "library:pythonImage": "LIBRARY_TEST_PYTHON_IMAGE",
    "library:postgresImage": "LIBRARY_TEST_POSTGRES_IMAGE",
    "library:nginxImage": "LIBRARY_TEST_NGINX_IMAGE",
}


def stack_config(base_port: int) -> dict[str, str]:
    config = {
        "library:apiReplicas": str(REPLICAS),
        "library:hostPort": str(base_port),
        "library:bindAddress": "127.0.0.1",
        "library:retainDatabaseVolume": "true",
        "library:apiMemoryMb": "384",
        "library:gunicornWorkers": "1",
        "library:gunicornThreads": "2",
    }
    config.update({key: os.environ[var] for key, var in IMAGE_KEYS.items() if os.environ.get(var)})
    return config


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """A fresh stack in a temporary file backend; torn down whatever happens."""
    import docker
    from pulumi import automation as auto

    client = docker.from_env()
    stack_name = f"itest-{uuid.uuid4().hex[:8]}"
    backend = tmp_path_factory.mktemp("pulumi-backend")
    env = {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "integration-test-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    opts = auto.LocalWorkspaceOptions(env_vars=env)
    stack = auto.create_or_select_stack(stack_name=stack_name, work_dir=str(REPO), opts=opts)
    base_port = free_port_block(REPLICAS)
    config = stack_config(base_port)
    stack.set_all_config({key: auto.ConfigValue(value) for key, value in config.items()})

    state = {
        "stack": stack,
        "stack_name": stack_name,
        "opts": opts,
        "client": client,
        "base_port": base_port,
        "images": set(),
        "destroyed": False,
    }
    try:
        yield state
    finally:
        if not state["destroyed"]:
            try:
                stack.destroy(on_output=print, run_program=True)
            except Exception as error:  # noqa: BLE001 - keep cleaning up
                print(f"cleanup: destroy failed: {error}")
        try:
            stack.workspace.remove_stack(stack_name)
        except Exception as error:  # noqa: BLE001
            print(f"cleanup: remove_stack failed: {error}")
        (REPO / f"Pulumi.{stack_name}.yaml").unlink(missing_ok=True)
        prefix = f"{PROJECT}-{stack_name}"
        for container in client.containers.list(all=True, filters={"label": f"org.library.stack={stack_name}"}):
            container.remove(force=True)
        for volume in client.volumes.list(filters={"label": f"org.library.stack={stack_name}"}):
            volume.remove(force=True)
        for network in client.networks.list(names=[prefix]):
            network.remove()
        for image in [f"{PROJECT}-api:{stack_name}", *state["images"]]:
            try:
                client.images.remove(image, force=True)
            except docker.errors.ImageNotFound:
                pass
            except docker.errors.APIError as error:
                print(f"cleanup: could not remove image {image}: {error}")


@pytest.mark.timeout(3600)
def test_deploy_update_and_destroy(deployment, tmp_path):
    from pulumi import automation as auto

    stack = deployment["stack"]
    stack_name = deployment["stack_name"]
    client = deployment["client"]
    base_port = deployment["base_port"]
    prefix = f"{PROJECT}-{stack_name}"

    # 1. First deployment: everything is created and answers.
    result = stack.up(on_output=print)
    outputs = result.outputs
    url = outputs["url"].value
    assert url == f"http://127.0.0.1:{base_port}/"
    assert "urls" not in outputs
    assert outputs["database_url"].secret is True
    # Auto-named replicas (create-before-delete needs old and new side by side).
    names = outputs["api_container_names"].value
    assert [name.rsplit("-", 1)[0] for name in names] == [f"{prefix}-api-{i}" for i in range(REPLICAS)]
    assert outputs["proxy_container_name"].value == f"{prefix}-proxy"
    first_image = outputs["image"].value
    deployment["images"].add(first_image)
    check_service(url)
    proxy = client.containers.get(outputs["proxy_container_name"].value)

    db = client.containers.get(outputs["db_container_name"].value)
    assert not any(db.attrs["HostConfig"].get("PortBindings") or {}), "the database publishes no port"
    assert list(db.attrs["NetworkSettings"]["Networks"]) == [prefix]
    for name in outputs["api_container_names"].value:
        api = client.containers.get(name)
        assert api.attrs["Config"]["User"] == "10001:10001"
        assert api.attrs["HostConfig"]["ReadonlyRootfs"] is True
        assert "ALL" in (api.attrs["HostConfig"]["CapDrop"] or [])
        assert api.labels["org.library.stack"] == stack_name
        assert api.attrs["State"]["Health"]["Status"] == "healthy"
        assert not api.attrs["HostConfig"].get("PortBindings"), "only the proxy publishes a port"
    migration = client.containers.get(outputs["migration_container_name"].value)
    assert migration.attrs["State"]["ExitCode"] == 0
    # The operator command reads the outputs through the CLI (docs/operations.md).
    operator = [str(Path(sys.executable).with_name("library")), "status", "--stack"]
    env = {**os.environ, **deployment["opts"].env_vars}
    done = subprocess.run([*operator, stack_name], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "HEALTHY" in done.stdout, done.stdout + done.stderr
    done = subprocess.run([*operator, f"{stack_name}-x"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 3 and f"no stack named '{stack_name}-x'" in done.stderr, done.stderr

    # 2. Second deployment without changes: nothing to do.
    result = stack.up(on_output=print)
    changes = dict(result.summary.resource_changes or {})
    assert set(changes) == {"same"}, f"a no-op update changed something: {changes}"

    # 3. A code change (in a copy of the repository) replaces the API side only.
    copy = _copy_repo(tmp_path / "repo")
    changed_file = copy / "app" / "books" / "__init__.py"
    changed_file.write_text(changed_file.read_text() + f"\n# integration test change {uuid.uuid4().hex}\n")
    copied = auto.select_stack(stack_name=stack_name, work_dir=str(copy), opts=deployment["opts"])
    ops = Ops()
    result = copied.up(on_output=print, on_event=ops)
    second_image = result.outputs["image"].value
    deployment["images"].add(second_image)
    assert second_image != first_image
    changed = ops.changed()
    changed_names = {urn.rsplit("::", 1)[-1] for urn in changed}
    replaced = {f"{prefix}-migrate", *(f"{prefix}-api-{i}" for i in range(REPLICAS))}
    assert changed_names <= {"image-build", *replaced}, changed
    assert {f"{prefix}-migrate", f"{prefix}-api-0"} <= changed_names, changed
    # Zero downtime: every replica and the migration are replaced create-before-delete.
    for urn, ops in changed.items():
        if urn.rsplit("::", 1)[-1] in replaced:
            assert ops.index("create-replacement") < ops.index("delete-replaced"), (urn, ops)
    assert client.containers.get(proxy.name).id == proxy.id, "the proxy was kept"
    for name in ("database-server", "database-data", "network-bridge", "database-image", "database-password"):
        assert name not in changed_names, f"{name} must not change on a code change: {changed}"
    check_service(result.outputs["url"].value)
    assert client.containers.get(outputs["db_container_name"].value).id == db.id, "the database was kept"

    # 4. Destroy: the database volume survives (retainDatabaseVolume=true).
    copied.destroy(on_output=print, run_program=True)
    deployment["destroyed"] = True
    volume = client.volumes.get(outputs["volume_name"].value)
    assert volume.attrs["Labels"]["org.library.stack"] == stack_name
    assert client.containers.list(all=True, filters={"label": f"org.library.stack={stack_name}"}) == []
    volume.remove(force=True)
