"""The library service on a Docker host: configuration -> components -> outputs.

Data dependencies order a deployment: network and volume -> database,
healthy -> image (or `apiImage`) -> migration, checked -> API replicas,
healthy -> reverse proxy, healthy (docs/deploy.md, "What gets deployed").
"""

import pulumi
from api import API_ALIAS, Api
from app_env import APP_PORT, AppSecrets, app_envs
from app_image import AppImage
from database import Database
from docker_engine import engine_record
from labels import PROJECT, STACK, StackNames
from migrations import Migrations
from network import StackNetwork
from proxy import Proxy
from settings import load_settings

# All validation happens here, before any resource is declared.
settings = load_settings()
names = StackNames(settings.project, settings.stack)

network = StackNetwork("network", names=names)
database = Database(
    "database",
    names=names,
    network_name=network.name,
    image=settings.postgres_image,
    memory_mb=settings.db_memory_mb,
    retain_volume=settings.retain_database_volume,
)
image = AppImage(
    "image",
    project=settings.project,
    stack=settings.stack,
    base_image=settings.python_image,
    api_image=settings.api_image,
    platform=settings.platform,
    engine=settings.engine,
    repository=settings.image_repository,
    login=settings.registry_login,
)
secrets = AppSecrets("app-secrets")
envs = app_envs(
    settings,
    database_url=database.url,
    secret_key=secrets.secret_key,
    trusted_proxy_network=network.subnet,
)

migrations = Migrations(
    "migrations",
    names=names,
    image_ref=image.ref,
    network_name=network.name,
    envs=envs,
    memory_mb=settings.api_memory_mb,
    engine=settings.engine,
    database_container=database.container,
)
api = Api(
    "api",
    names=names,
    replicas=settings.api_replicas,
    image_ref=image.ref,
    network_name=network.name,
    envs=envs,
    memory_mb=settings.api_memory_mb,
    cpus=settings.api_cpus,
    engine=settings.engine,
    migrated_image=migrations.checked,
    depends_on=[database.container, migrations.container],
)
proxy = Proxy(
    "proxy",
    names=names,
    image=settings.nginx_image,
    network_name=network.name,
    upstream_host=API_ALIAS,
    upstream_port=APP_PORT,
    host_port=settings.host_port,
    bind_address=settings.bind_address,
    tls=(settings.tls_certificate, settings.tls_key) if settings.tls_certificate and settings.tls_key else None,
    forwarded_proto="https" if settings.tls_in_front else "$scheme",
    # On the first deployment the URL answers once `pulumi up` ends.
    depends_on=list(api.containers),
)

pulumi.export("url", settings.url)
# Where clients reach it (publicOrigin, or derived): the CI environments' URL and smoke check (docs/ci.md).
pulumi.export("public_url", settings.public_origin + "/")
pulumi.export("proxy_container_name", proxy.container.name)
pulumi.export("image", image.ref)
pulumi.export("api_container_names", api.container_names)
pulumi.export("db_container_name", database.container.name)
pulumi.export("migration_container_name", migrations.container.name)
pulumi.export("network_name", network.name)
pulumi.export("volume_name", database.volume_name)
pulumi.export("database_url", database.url)  # secret
# What the operator command (library_cli, docs/operations.md) needs beyond the names above: the
# engine the stack runs on (secret when it holds a TLS key) and the labels of its objects.
engine = engine_record(settings.engine)
pulumi.export("engine", pulumi.Output.secret(engine) if "key_material" in engine else engine)
pulumi.export("labels", {PROJECT: names.project, STACK: names.stack})
