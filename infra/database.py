"""PostgreSQL: a named volume, the server image and the server container.

The data outlives the container (and, with `retainDatabaseVolume`, the
stack); the server is reachable on the stack network only, as `db`, and is
created only once it accepts TCP connections (docs/deploy.md, "The database").
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
import pulumi_random as random
from container_parts import (
    LOGGING,
    NO_NEW_PRIVILEGES,
    REPLACE_ON_CHANGES,
    RESTART,
    graceful_stop,
    health_gate,
    memory_limit,
)
from labels import StackNames

DB_ALIAS = "db"
DB_PORT = 5432
DB_USER = "library"
DB_NAME = "library"
DATA_DIR = "/var/lib/postgresql/data"
PGDATA = f"{DATA_DIR}/pgdata"  # a subdirectory: a volume's root may hold lost+found
#: The image's SIGINT is a fast shutdown: a checkpoint, no crash recovery on the next start.
DB_STOP_TIMEOUT_SECONDS = 30
#: `-h 127.0.0.1`: on first start the entrypoint runs initdb on a server that
#: listens on the Unix socket only; a socket check would call it ready too early.
HEALTHCHECK = ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", str(DB_PORT), "-U", DB_USER, "-d", DB_NAME]


class Database(pulumi.ComponentResource):
    """The PostgreSQL server of one stack."""

    #: What the migration and the API wait for.
    container: docker.Container
    volume_name: pulumi.Output[str]
    #: postgres://user:password@db:5432/name (secret). Consumers must also
    #: depend on `container`, which is created once the server is healthy.
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        names: StackNames,
        network_name: pulumi.Input[str],
        image: str,
        memory_mb: int,
        retain_volume: bool,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("library:infra:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        password = random.RandomPassword(
            f"{name}-password",
            length=32,
            special=False,  # alphanumeric: no escaping needed in DATABASE_URL
            opts=child,
        )
        secret_password: pulumi.Output[str] = pulumi.Output.secret(password.result)

        volume = docker.Volume(
            f"{name}-data",
            name=f"{names.prefix}-pgdata",
            labels=names.labels("volume"),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain_volume),
        )
        # keep_locally: a local image (e.g. made from Debian packages) is used as
        # is, and destroy never deletes a shared base image.
        server_image = docker.RemoteImage(f"{name}-image", name=image, keep_locally=True, opts=child)

        self.container = docker.Container(
            f"{name}-server",
            name=f"{names.prefix}-db",
            image=server_image.image_id,
            envs=[
                pulumi.Output.format("POSTGRES_PASSWORD={0}", secret_password),
                f"POSTGRES_USER={DB_USER}",
                f"POSTGRES_DB={DB_NAME}",
                f"PGDATA={PGDATA}",
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_DIR)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=[DB_ALIAS])],
            # Crash recovery of a big database may take a while: ten probes.
            **health_gate(HEALTHCHECK, retries=10),
            restart=RESTART,
            **memory_limit(memory_mb),
            shm_size=128,
            security_opts=list(NO_NEW_PRIVILEGES),
            **graceful_stop(DB_STOP_TIMEOUT_SECONDS),
            **LOGGING,
            labels=names.labels("db"),
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=list(REPLACE_ON_CHANGES)),
        )

        self.volume_name = volume.name
        # The host is the network alias, not a value read from the container:
        # consumers order themselves after it with depends_on. A data dependency
        # would make the engine, which replaces this named container
        # delete-before-replace, delete and recreate every consumer first (the
        # API replicas, a full outage) whenever the server is replaced
        # (pulumi engine pkg/resource/deploy/step_generator.go: calculateDependentReplacements).
        self.url = pulumi.Output.secret(
            pulumi.Output.format("postgres://{0}:{1}@{2}:{3}/{4}", DB_USER, secret_password, DB_ALIAS, DB_PORT, DB_NAME)
        )
        self.register_outputs({"container_name": self.container.name, "volume_name": self.volume_name, "url": self.url})
