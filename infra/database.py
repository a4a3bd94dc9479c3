"""PostgreSQL: a named volume, the server image and the server container.

Why these choices:
- The data lives in a named volume whose lifetime is a config choice
  (`retainDatabaseVolume`, default true): `pulumi destroy` then leaves the
  data behind (retain_on_delete), so tearing down the service never loses it
  by accident.
- The server image is a `RemoteImage` with keep_locally: a locally present
  image (e.g. one built from Debian packages where no registry is reachable)
  is used as is, and destroy never deletes a shared base image.
- The container is reachable only on the stack network, as `db`; it
  publishes no host port.
- `wait=True` + a TCP pg_isready healthcheck: Pulumi reports the container
  created only once the server accepts TCP connections. `-h 127.0.0.1`
  matters: on first start the entrypoint runs initdb and init scripts on a
  temporary server that listens on the Unix socket only, and a socket check
  would call the database ready too early.
- The password is a `RandomPassword` without special characters, so it is
  safe inside a URL; it is a secret in state and outputs.
"""
from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from config import Settings
from labels import labels

DB_ALIAS = "db"
DB_PORT = 5432
DB_USER = "library"
DB_NAME = "library"
DATA_DIR = "/var/lib/postgresql/data"
PGDATA = f"{DATA_DIR}/pgdata"  # a subdirectory: a volume's root may hold lost+found
DB_STOP_TIMEOUT_SECONDS = 30


class Database(pulumi.ComponentResource):
    """The PostgreSQL server of one stack."""

    password: random.RandomPassword
    volume: docker.Volume
    image: docker.RemoteImage
    container: docker.Container
    #: Host name of the server on the stack network. Resolves only once the
    #: container exists and is healthy: consumers get a data dependency on it.
    host: pulumi.Output[str]
    #: postgres://user:password@db:5432/name (secret).
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        network_name: pulumi.Input[str],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("library:infra:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.password = random.RandomPassword(
            f"{name}-password",
            length=32,
            special=False,  # alphanumeric: no escaping needed in DATABASE_URL
            opts=child,
        )
        password = pulumi.Output.secret(self.password.result)

        self.volume = docker.Volume(
            f"{name}-data",
            name=f"{settings.prefix}-pgdata",
            labels=labels(settings, "volume"),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=settings.retain_database_volume),
        )

        self.image = docker.RemoteImage(
            f"{name}-image",
            name=settings.postgres_image,
            keep_locally=True,
            opts=child,
        )

        self.container = docker.Container(
            f"{name}-server",
            name=f"{settings.prefix}-db",
            image=self.image.image_id,
            envs=[
                pulumi.Output.format("POSTGRES_PASSWORD={0}", password),
                f"POSTGRES_USER={DB_USER}",
                f"POSTGRES_DB={DB_NAME}",
                f"PGDATA={PGDATA}",
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=DATA_DIR)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=[DB_ALIAS])],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "pg_isready", "-h", "127.0.0.1", "-p", str(DB_PORT), "-U", DB_USER, "-d", DB_NAME],
                interval="5s",
                timeout="5s",
                retries=10,
                start_period="30s",
            ),
            wait=True,
            wait_timeout=180,
            restart="unless-stopped",
            memory=settings.db_memory_mb,
            shm_size=128,
            security_opts=["no-new-privileges:true"],
            # Stop with the image's SIGINT (fast shutdown: a checkpoint, no
            # crash recovery on the next start) and up to 30 s for it, on
            # removal and on `docker stop` or a daemon shutdown alike
            # (Docker's default is 10 s, then SIGKILL).
            stop_timeout=DB_STOP_TIMEOUT_SECONDS,
            destroy_grace_seconds=DB_STOP_TIMEOUT_SECONDS,
            log_driver="json-file",
            log_opts={"max-size": "10m", "max-file": "3"},
            labels=labels(settings, "db"),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The provider neither applies nor replaces on these: force it.
                replace_on_changes=["healthcheck", "tmpfs"],
            ),
        )

        self.host = self.container.name.apply(lambda _: DB_ALIAS)
        self.url = pulumi.Output.secret(
            pulumi.Output.format(
                "postgres://{0}:{1}@{2}:{3}/{4}", DB_USER, password, self.host, DB_PORT, DB_NAME
            )
        )
        self.register_outputs(
            {
                "container_name": self.container.name,
                "volume_name": self.volume.name,
                "host": self.host,
                "url": self.url,
            }
        )
