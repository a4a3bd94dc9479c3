"""Fixtures of the live tier: the Pulumi program realized on a real Docker engine.

Each scenario gets a LiveStack: its own run id, its own stack (a copy of
Pulumi.ci.yaml named Pulumi.ci-<run id>.yaml, so every Docker object name is
unique), its own copy of the repository (to change code or inject a broken
migration without touching the checkout) and its own free block of loopback
ports. Whatever happens, the fixture removes every container, network and
volume of its run, and the image tag it built.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from tests.conftest import free_port_block, require_docker
from tests.live.realizer import RUN_LABEL, run_objects, teardown
from tests.live.run_program import REPO_ROOT, DeployError, Outputs, copy_repo, deploy

#: For stacks whose scenario is not throttling: all test traffic comes from one
#: address (the proxy sees the Docker gateway), and a 429 would not be the fault
#: under test.
NO_THROTTLING = {"library:throttleAnon": "off", "library:throttleUser": "off"}
BASE_IMAGES = ("library-base/python:bookworm", "library-base/postgres:bookworm", "library-base/nginx:bookworm")
HTTP_TIMEOUT = 10


@pytest.fixture(scope="session")
def live_docker():
    """A Docker client, once the engine answers and the Debian-made base images exist."""
    client = require_docker()
    missing = [ref for ref in BASE_IMAGES if not client.images.list(name=ref)]
    if missing:
        reason = (f"base image(s) {missing} not on the engine; build them with "
                  f"`bash scripts/build-debian-images.sh all` (as root)")
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return client


class LiveStack:
    """One scenario's deployment(s) of the program, and their cleanup."""

    def __init__(self, client, workdir: Path, scenario: str, replicas: int = 2):
        self.client = client
        self.run_id = f"{scenario}-{secrets.token_hex(3)}"
        self.stack = f"ci-{self.run_id}"
        self.repo = Path(copy_repo(str(workdir / "repo")))
        ci_stack = Path(REPO_ROOT, "Pulumi.ci.yaml").read_text()
        (self.repo / f"Pulumi.{self.stack}.yaml").write_text(
            f"# Copy of Pulumi.ci.yaml for live-test run {self.run_id}.\n{ci_stack}")
        self.replicas = replicas
        self.host_port = free_port_block(replicas)
        self.deployments: list[Outputs] = []

    # --- deploying ---

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"library:hostPort": self.host_port, "library:apiReplicas": self.replicas, **extra}

    def deploy(self, **extra_config: Any) -> Outputs:
        outputs = deploy(self.stack, self.run_id, self.config(**extra_config), repo_dir=str(self.repo))
        self.deployments.append(outputs)
        return outputs

    def deploy_expecting_failure(self, **extra_config: Any) -> DeployError:
        with pytest.raises(DeployError) as info:
            self.deploy(**extra_config)
        return info.value

    # --- looking at it ---

    def objects(self) -> dict[str, list[str]]:
        return run_objects(self.run_id, self.client)

    def containers(self, component: Optional[str] = None) -> list:
        filters = {"label": [f"{RUN_LABEL}={self.run_id}"]}
        if component:
            filters["label"].append(f"org.library.component={component}")
        return self.client.containers.list(all=True, filters=filters)

    @property
    def volume_name(self) -> str:
        return f"library-{self.stack}-pgdata"

    def api_token(self, container_name: str, username: str = "live") -> str:
        """A superuser and its DRF token, made inside a running API container."""
        container = self.client.containers.get(container_name)
        result = container.exec_run(
            ["python", "manage.py", "createsuperuser", "--noinput", "--username", username,
             "--email", f"{username}@example.com"],
            environment={"DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(24)},
        )
        output = result.output.decode("utf-8", "replace")
        assert result.exit_code == 0 or "already taken" in output, output
        result = container.exec_run(["python", "manage.py", "drf_create_token", username])
        output = result.output.decode("utf-8", "replace")
        assert result.exit_code == 0, output
        match = re.search(r"Generated token (\w+)", output)
        assert match, f"no token in drf_create_token output: {output!r}"
        return match.group(1)

    # --- cleaning up ---

    def cleanup(self) -> None:
        volumes = {self.volume_name} | {d.get("volume_name") for d in self.deployments if d.get("volume_name")}
        teardown(self.run_id, remove_volumes=True, client=self.client, extra_volumes=tuple(sorted(volumes)))
        # The images this run built: its tag, and the ids its deployments ran
        # (a redeploy leaves the first one untagged). Without force, an image
        # that another tag or container still uses stays.
        images = [d["image"] for d in self.deployments if d.get("image")]
        tag = f"library-api:{self.stack}"
        try:
            images.append(self.client.images.get(tag).id)
            self.client.images.remove(tag)
        except Exception:  # noqa: BLE001 - absent (the build failed) or already gone
            pass
        for image_id in dict.fromkeys(images):
            try:
                self.client.images.remove(image_id)
            except Exception:  # noqa: BLE001 - still used elsewhere, or gone
                pass
        shutil.rmtree(self.repo, ignore_errors=True)


@pytest.fixture
def live_stack(live_docker, tmp_path, request):
    """A LiveStack for one test, removed afterwards even when the test fails."""
    scenario = re.sub(r"[^a-z0-9]+", "", request.node.name.lower().replace("test_", ""))[:10] or "live"
    stack = LiveStack(live_docker, tmp_path, scenario)
    try:
        yield stack
    finally:
        stack.cleanup()


@pytest.fixture(scope="module")
def module_live_stack(live_docker, tmp_path_factory, request):
    """A LiveStack shared by the tests of one module (one deployment, many checks)."""
    scenario = re.sub(r"[^a-z0-9]+", "", request.module.__name__.rsplit(".", 1)[-1].replace("test_", ""))[:10]
    stack = LiveStack(live_docker, tmp_path_factory.mktemp(scenario), scenario)
    try:
        yield stack
    finally:
        stack.cleanup()


# --- HTTP helpers (127.0.0.1 only: the published ports) ----------------------


def http(method: str, url: str, token: Optional[str] = None, **kwargs) -> requests.Response:
    assert url.startswith("http://127.0.0.1:"), f"live tests talk to 127.0.0.1 only, not {url}"
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Token {token}"
    return requests.request(method, url, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)


def results(body: Any) -> list:
    """The items of a (possibly paginated) list response."""
    return body["results"] if isinstance(body, dict) and "results" in body else body


def all_books(base_url: str, token: Optional[str] = None) -> list[dict]:
    books, url = [], f"{base_url}api/books/?page_size=100"
    for _ in range(100):
        response = http("GET", url, token)
        assert response.status_code == 200, response.text
        body = response.json()
        books += results(body)
        url = body.get("next") if isinstance(body, dict) else None
        if not url:
            return books
        # Follow "next" on the same published port (it may name another host).
        url = re.sub(r"^https?://[^/]+/", base_url, url)
    raise AssertionError("more than 100 pages of books")


def isbn13(prefix12: str) -> str:
    """A valid ISBN-13 from 12 digits (adds the check digit)."""
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(prefix12))
    return prefix12 + str((10 - total % 10) % 10)
