"""LiveStack: one scenario's deployment(s) of this project's program on a real
Docker engine, and their cleanup; used by the live tier's fixtures and by bench/
(see docs/testing.md, the scenarios)."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import free_port_block

from .live import DeployError, Outputs, copy_repo, deploy, destroy
from .program import REPO_ROOT
from .state import RUN_LABEL
from .teardown import run_objects, teardown

#: The Debian-made base images the CI stack runs (scripts/build-debian-images.sh).
BASE_IMAGES = ("library-base/python:bookworm", "library-base/postgres:bookworm", "library-base/nginx:bookworm")


class LiveStack:
    """One scenario's deployment(s) of the program, and their cleanup.

    Its own run id, its own stack (a copy of Pulumi.ci.yaml named Pulumi.ci-<run id>.yaml,
    so every Docker object name is unique), its own copy of the repository (to change code
    or inject a broken migration without touching the checkout) and its own free block of
    loopback ports."""

    def __init__(self, client: docker.DockerClient, workdir: Path, scenario: str, replicas: int = 2):
        self.client = client
        self.run_id = f"{scenario}-{secrets.token_hex(3)}"
        self.stack = f"ci-{self.run_id}"
        self.repo = Path(copy_repo(str(workdir / "repo")))
        ci_stack = Path(REPO_ROOT, "Pulumi.ci.yaml").read_text()
        (self.repo / f"Pulumi.{self.stack}.yaml").write_text(
            f"# Copy of Pulumi.ci.yaml for live-test run {self.run_id}.\n{ci_stack}"
        )
        self.replicas = replicas
        self.host_port = free_port_block(replicas)
        self.deployments: list[Outputs] = []

    # --- deploying ---

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"library:hostPort": self.host_port, "library:apiReplicas": self.replicas, **extra}

    def deploy(self, secrets: dict[str, Any] | None = None, **extra_config: Any) -> Outputs:
        outputs = deploy(self.stack, self.run_id, self.config(**extra_config), repo_dir=str(self.repo), secrets=secrets)
        self.deployments.append(outputs)
        return outputs

    def deploy_expecting_failure(self, **extra_config: Any) -> DeployError:
        with pytest.raises(DeployError) as info:
            self.deploy(**extra_config)
        return info.value

    def destroy(self, run_program: bool = True, **extra_config: Any) -> Outputs:
        """`pulumi destroy` of this stack (with `--run-program` by default: the program's delete
        hooks run); see tests.harness.live.destroy. `cleanup()` still removes what is left."""
        return destroy(
            self.stack, self.run_id, self.config(**extra_config), repo_dir=str(self.repo), run_program=run_program
        )

    # --- looking at it ---

    def objects(self) -> dict[str, list[str]]:
        return run_objects(self.run_id, self.client)

    def containers(self, component: str | None = None) -> list:
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
            [
                "python",
                "manage.py",
                "createsuperuser",
                "--noinput",
                "--username",
                username,
                "--email",
                f"{username}@example.com",
            ],
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
        """Remove every container, network and volume of the run, and the images it built."""
        volumes = {self.volume_name} | {str(d["volume_name"]) for d in self.deployments if d.get("volume_name")}
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
