"""The service image, built on the Debian-made base, run hardened against real PostgreSQL."""

import json
import secrets
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import load_infra_module

from .conftest import HARDENED

pytestmark = pytest.mark.docker


def app_env(database_url):
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_HTTPS": "false",
    }


def test_image_runs_as_non_root_with_healthcheck(docker_client, image):
    config = docker_client.images.get(image).attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["WorkingDir"] == "/app"
    assert "/healthz" in " ".join(config["Healthcheck"]["Test"])
    assert "8000/tcp" in config["ExposedPorts"]
    assert config["Labels"]["org.library.project"] == "library"
    assert not any(var.startswith(("DJANGO_SECRET_KEY", "DATABASE_URL")) for var in config["Env"])


def test_migrate_then_serve_hardened(docker_client, image, network, labels, database_url):
    env = app_env(database_url)
    migrate = docker_client.containers.run(
        image,
        ["python", "manage.py", "migrate", "--noinput"],
        detach=True,
        environment=env,
        network=network.name,
        labels=labels,
        **HARDENED,
    )
    assert migrate.wait(timeout=180)["StatusCode"] == 0, migrate.logs().decode()
    assert b"Applying books.0001_initial... OK" in migrate.logs()

    api = docker_client.containers.run(
        image,
        detach=True,
        environment=env,
        network=network.name,
        labels=labels,
        ports={"8000/tcp": ("127.0.0.1", None)},
        **HARDENED,
    )
    base = wait_until_healthy(docker_client, api)

    assert get_json(f"{base}/healthz") == (200, {"status": "ok"})
    assert get_json(f"{base}/readyz") == (200, {"status": "ready", "database": "ok"})
    status, body = get_json(f"{base}/api/books/")
    assert status == 200 and body["count"] == 0
    with urllib.request.urlopen(f"{base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js") as r:
        assert r.status == 200  # collected at build time, served by whitenoise

    # Hardening as run: a non-root uid, no writable root file system, no capabilities.
    assert api.exec_run(["id", "-u"]).output.decode().strip() == "10001"
    assert api.exec_run(["touch", "/app/written"]).exit_code != 0
    assert api.exec_run(["touch", "/tmp/scratch"]).exit_code == 0
    status_lines = api.exec_run(["cat", "/proc/1/status"]).output.decode()
    assert "CapEff:\t0000000000000000" in status_lines
    assert "NoNewPrivs:\t1" in status_lines
    logs = api.logs().decode()
    assert env["DJANGO_SECRET_KEY"] not in logs


def test_the_drain_helper_drains_a_hardened_replica(docker_client, image, network, labels, database_url):
    """What the deployment's before_delete hook does (infra/drain_hook.py),
    against the image as built and run: the replica keeps every capability
    dropped; the helper joins it with exactly the ones it needs, attaches the
    filter to gunicorn's own listening socket, and new connections are
    dropped while the replica still runs; the stop that follows is clean."""
    drain_hook = load_infra_module("drain_hook")
    api = docker_client.containers.run(
        image,
        detach=True,
        environment=app_env(database_url),
        network=network.name,
        labels=labels,
        ports={"8000/tcp": ("127.0.0.1", None)},
        **HARDENED,
    )
    wait_until_healthy(docker_client, api)
    probe = ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 8000), timeout=1); print('open')"]
    assert api.exec_run(probe).output.decode().strip() == "open"

    # As the program labels it (infra/drain_hook.py refuses a helper without the stack's labels).
    stack_labels = {"org.library.project": "library", "org.library.stack": "image-test"}
    helper_labels = {**labels, **stack_labels, "org.library.component": "api-drain"}
    report = drain_hook.drain_replica(docker_client, api.id, api.image.id, 8000, helper_labels)
    assert report["drained"] is True and report["port"] == 8000 and report["seconds"] < 5, report
    assert docker_client.containers.list(all=True, filters={"label": "org.library.component=api-drain"}) == [], (
        "the helper must not outlive the drain"
    )

    refused = api.exec_run(probe)  # still running, but new connections are dropped
    assert refused.exit_code != 0 and b"timed out" in refused.output, refused.output.decode()
    api.reload()
    assert api.status == "running"
    api.stop(timeout=15)
    assert api.wait(timeout=5)["StatusCode"] == 0


def test_missing_secret_key_fails_fast_with_a_clear_message(docker_client, image, labels):
    result = docker_client.containers.run(
        image,
        ["python", "manage.py", "check"],
        detach=True,
        labels=labels,
        environment={"DATABASE_URL": "postgres://u@db/x"},
        **HARDENED,
    )
    assert result.wait(timeout=60)["StatusCode"] != 0
    assert b"DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off" in result.logs()


def wait_until_healthy(docker_client, container, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        health = container.attrs["State"].get("Health", {}).get("Status")
        if health == "healthy":
            port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
            return f"http://127.0.0.1:{port}"
        if container.status == "exited":
            break
        time.sleep(0.5)
    pytest.fail(f"container not healthy ({container.status}):\n{container.logs().decode()[-3000:]}")


def get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
