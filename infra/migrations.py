"""Database migrations: a one-shot container of the new image, checked before the API moves.

pulumi-docker does not fail a deployment when a one-shot container exits
non-zero, so `checked` raises MigrationError with the migration's log, and
the API replicas take it as an input: no replica is created or replaced
against a schema that failed (docs/deploy.md, "Updates and their cost").
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
from app_env import APP_USER
from container_parts import REPLACE_ON_CHANGES, hardening
from labels import StackNames

MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
#: The end of the migration log is what explains a failure; keep it bounded.
LOG_TAIL_CHARS = 8000


class MigrationError(pulumi.RunError):
    """The migration container exited with a non-zero code (or none)."""


def short_image_id(ref: str) -> str:
    """12 hex digits of an image id or digest (sha256:abc... or repo@sha256:abc...)."""
    return ref.rsplit(":", 1)[-1][:12]


def check_migration(container_name: str, exit_code: int | None, logs: str | None, image_ref: str) -> str:
    """The image ref the schema was migrated for, or raise MigrationError."""
    if exit_code == 0:
        return image_ref
    log = (logs or "").rstrip() or "(no output captured)"
    if len(log) > LOG_TAIL_CHARS:
        log = "[...]\n" + log[-LOG_TAIL_CHARS:]
    status = "reported no exit code" if exit_code is None else f"exited with code {exit_code}"
    raise MigrationError(
        f"database migration failed: container {container_name} ({' '.join(MIGRATE_COMMAND)}) "
        f"{status}. The API containers were not created or changed.\n"
        f"--- migration output ---\n{log}\n--- end of migration output ---"
    )


class Migrations(pulumi.ComponentResource):
    """Runs the migrations of an image once, and exposes the checked result."""

    container: docker.Container
    #: Image ref that was migrated successfully; raises MigrationError otherwise.
    checked: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        names: StackNames,
        image_ref: pulumi.Input[str],
        network_name: pulumi.Input[str],
        envs: list[pulumi.Input[str]],
        memory_mb: int,
        database_container: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("library:infra:Migrations", name, None, opts)
        image_ref = pulumi.Output.from_input(image_ref)
        self.container = docker.Container(
            f"{name}-run",
            name=image_ref.apply(lambda ref: f"{names.prefix}-migrate-{short_image_id(ref)}"),
            image=image_ref,
            command=list(MIGRATE_COMMAND),
            envs=envs,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name)],
            # One-shot: start, wait for the exit, keep the exit code and log.
            must_run=False,
            attach=True,
            logs=True,
            restart="no",
            memory=memory_mb,
            labels=names.labels("migrate"),
            **hardening(APP_USER),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[database_container],
                # Create-before-delete, overriding the provider, which asks for
                # delete-before-replace when a name is given. Its name changes
                # with the image, so old and new never clash; and a
                # delete-before-replace here would make the engine delete the
                # API replicas first (they take `checked` as an input), i.e.
                # an outage on every code deployment.
                delete_before_replace=False,
                replace_on_changes=list(REPLACE_ON_CHANGES),
            ),
        )

        def _check(args: list[Any]) -> str:
            return check_migration(*args)

        self.checked = pulumi.Output.all(
            self.container.name, self.container.exit_code, self.container.container_logs, image_ref
        ).apply(_check)
        self.register_outputs({"container_name": self.container.name, "exit_code": self.container.exit_code})
