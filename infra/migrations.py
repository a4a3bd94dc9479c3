"""Database migrations: a one-shot container of the new image, then a check that fails the update.

pulumi-docker does not fail a deployment when a one-shot container exits
non-zero. A small dynamic-provider resource, MigrationCheck, does: its create
fails with the migration's log, so `pulumi up` fails and no API replica (they
take its output as an input) is created or replaced. The program itself never
raises for a failed migration, so `pulumi destroy --run-program`, which
replays the stored outputs, can always tear the stack down
(docs/deploy.md, "Updates and their cost").
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic
import pulumi_docker as docker
from app_env import APP_USER
from container_parts import REPLACE_ON_CHANGES, hardening, memory_limit
from docker_engine import Engine
from labels import StackNames
from sweep_hook import make_sweep_hook

MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
#: The end of the migration log is what explains a failure; keep it bounded.
LOG_TAIL_CHARS = 8000


def log_tail(logs: str | None) -> str:
    """The migration's output, its end only when long, or a placeholder."""
    log = (logs or "").rstrip()
    if len(log) > LOG_TAIL_CHARS:
        return "[...]\n" + log[-LOG_TAIL_CHARS:]
    return log or "(no output captured)"


def check_provider() -> pulumi.dynamic.ResourceProvider:
    """The provider of MigrationCheck. Its classes are made here, inside a function,
    so that the SDK's serializer (dill) pickles them by value: the provider host
    that runs them does not need to import this program's modules."""
    command = " ".join(MIGRATE_COMMAND)

    class MigrationFailed(Exception):
        """The migration container exited with a non-zero code (or none)."""

    class Provider(pulumi.dynamic.ResourceProvider):
        def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
            code = props.get("exit_code")
            if code != 0:
                status = "reported no exit code" if code is None else f"exited with code {code}"
                raise MigrationFailed(
                    f"database migration failed: container {props.get('container_name')} ({command}) {status}. "
                    f"The API containers were not created or changed.\n"
                    f"--- migration output ---\n{props.get('log_tail')}\n--- end of migration output ---"
                )
            return pulumi.dynamic.CreateResult(id_=str(props.get("container_name")), outs=dict(props))

        def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
            # Any change is a new migration run to check: a replacement, i.e. a new create.
            changed = sorted(k for k in news if not k.startswith("__") and olds.get(k) != news.get(k))
            return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    return Provider()


class MigrationCheck(pulumi.dynamic.Resource):
    """Exists only for a migration that exited 0; its create fails otherwise."""

    image_ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        container_name: pulumi.Input[str],
        exit_code: pulumi.Input[int | None],
        logs: pulumi.Input[str | None],
        image_ref: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "container_name": container_name,
            "exit_code": exit_code,
            "log_tail": pulumi.Output.from_input(logs).apply(log_tail),
            "image_ref": image_ref,
        }
        super().__init__(check_provider(), name, props, opts)


class Migrations(pulumi.ComponentResource):
    """Runs the migrations of an image once, and checks that they succeeded."""

    container: docker.Container
    #: The image ref that was migrated; known only once the check passed.
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
        engine: Engine,
        database_container: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("library:infra:Migrations", name, None, opts)
        image_ref = pulumi.Output.from_input(image_ref)
        # Once it ran, earlier runs (and any an interrupted update left) go.
        sweep = make_sweep_hook(
            role="migrate",
            engine=engine,
            stack_labels=names.label_dict("migrate"),
            drain_port=None,
            drain_labels={},
        )
        self.container = docker.Container(
            f"{names.prefix}-migrate",
            # No name: auto-named after the logical name, a new one per replacement. Any change of its
            # inputs (image, or a config key in its environment) replaces it, and
            # old and new exist side by side until the update ends.
            image=image_ref,
            command=list(MIGRATE_COMMAND),
            envs=envs,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name)],
            # One-shot: start, wait for the exit, keep the exit code and log.
            must_run=False,
            attach=True,
            logs=True,
            restart="no",
            **memory_limit(memory_mb),
            labels=names.labels("migrate"),
            **hardening(APP_USER),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[database_container],
                # Create-before-delete, overriding the provider, which asks for
                # delete-before-replace for every container: that would make the
                # engine delete the API replicas (they take the check's output as
                # an input) before the migration, i.e. an outage on every code deployment.
                delete_before_replace=False,
                replace_on_changes=list(REPLACE_ON_CHANGES),
                hooks=pulumi.ResourceHookBinding(after_create=[sweep]),
                # Its name before the stack prefix: older stacks keep their run (docs/deploy.md,
                # "What gets deployed").
                aliases=[pulumi.Alias(name=f"{name}-run")],
            ),
        )
        check = MigrationCheck(
            f"{name}-check",
            container_name=self.container.name,
            exit_code=self.container.exit_code,
            logs=self.container.container_logs,
            image_ref=image_ref,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.checked = check.image_ref
        self.register_outputs({"container_name": self.container.name, "exit_code": self.container.exit_code})
