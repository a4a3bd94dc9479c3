"""Image tests: build the service image on the Debian-made base and run it."""

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("LIBRARY_TEST_PYTHON_IMAGE", "library-base/python:bookworm")
POSTGRES_IMAGE = os.environ.get("LIBRARY_TEST_POSTGRES_IMAGE", "library-base/postgres:bookworm")
DOCKER_CLI = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
TEST_LABEL = "org.library.test"


def ensure_base_images(client):
    """Build the Debian-made base images when missing (needs root and debootstrap)."""
    missing = [image for image in (BASE_IMAGE, POSTGRES_IMAGE) if not client.images.list(name=image)]
    if missing:
        subprocess.run(["bash", str(REPO / "scripts/build-debian-images.sh"), "all"], check=True)


def docker_build(tag: str, context: Path = REPO, **build_args: str) -> None:
    args = [arg for key, value in build_args.items() for arg in ("--build-arg", f"{key}={value}")]
    result = subprocess.run(
        [DOCKER_CLI, "build", "-q", "-t", tag, *args, str(context)],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert result.returncode == 0, f"docker build failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def image(docker_client):
    ensure_base_images(docker_client)
    tag = f"library-api:test-{uuid.uuid4().hex[:8]}"
    docker_build(tag, BASE_IMAGE=BASE_IMAGE)
    yield tag
    docker_client.images.remove(tag, noprune=False, force=True)


@pytest.fixture(scope="session")
def labels():
    return {TEST_LABEL: f"image-{uuid.uuid4().hex[:8]}"}


@pytest.fixture(scope="session")
def network(docker_client, labels):
    net = docker_client.networks.create(f"library-test-{labels[TEST_LABEL]}", driver="bridge", labels=labels)
    yield net
    for container in docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={labels[TEST_LABEL]}"}):
        container.remove(force=True, v=True)
    net.remove()


@pytest.fixture(scope="session")
def database_url(docker_client, network, labels):
    """A PostgreSQL container reachable as `db` on the test's own network only."""
    password = uuid.uuid4().hex
    container = docker_client.containers.run(
        POSTGRES_IMAGE,
        detach=True,
        name=f"{network.name}-db",
        labels=labels,
        environment={"POSTGRES_PASSWORD": password, "POSTGRES_USER": "library", "POSTGRES_DB": "library"},
        network=network.name,
    )
    network.disconnect(container)
    network.connect(container, aliases=["db"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready = container.exec_run(["pg_isready", "-U", "library", "-d", "library", "-h", "127.0.0.1"])
        if ready.exit_code == 0:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"PostgreSQL did not become ready:\n{container.logs().decode()[-2000:]}")
    return f"postgres://library:{password}@db:5432/library"


HARDENED = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "tmpfs": {"/tmp": "rw,noexec,nosuid,size=64m"},
    "security_opt": ["no-new-privileges:true"],
}
