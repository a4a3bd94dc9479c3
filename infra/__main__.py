"""The library service on a Docker host: configuration -> components -> outputs.

Order of a deployment (enforced by data dependencies, not only depends_on):
network and database volume -> database, healthy -> image build (or
`apiImage`) -> migration run and checked -> API replicas, healthy -> reverse
proxy, healthy. A code deployment replaces the replicas create-before-delete
behind the proxy, which is left as it is. See docs/deploy.md.
"""
import pulumi

from api import API_ALIAS, Api
from app_env import APP_PORT, AppSecrets, app_envs
from app_image import AppImage
from config import load_settings
from database import Database
from migrations import Migrations
from network import StackNetwork
from proxy import Proxy

# All validation happens here, before any resource is declared.
settings = load_settings()

network = StackNetwork("network", settings=settings)
database = Database("database", settings=settings, network_name=network.name)
image = AppImage("image", settings=settings)
secrets = AppSecrets("app-secrets")
envs = app_envs(
    settings,
    database_url=database.url,
    secret_key=secrets.secret_key,
    trusted_proxy_network=network.subnet,
)

migrations = Migrations(
    "migrations",
    settings=settings,
    image_ref=image.ref,
    network_name=network.name,
    envs=envs,
    database_container=database.container,
)
api = Api(
    "api",
    settings=settings,
    image_ref=image.ref,
    network_name=network.name,
    envs=envs,
    migrated_image=migrations.checked,
    depends_on=[database.container, migrations.container],
)

proxy = Proxy(
    "proxy",
    settings=settings,
    network_name=network.name,
    upstream_host=API_ALIAS,
    upstream_port=APP_PORT,
    # On the first deployment the URL answers once `pulumi up` ends.
    depends_on=list(api.containers),
)

pulumi.export("url", settings.url)
pulumi.export("proxy_container_name", proxy.container.name)
pulumi.export("image", image.ref)
pulumi.export("api_container_names", api.container_names)
pulumi.export("db_container_name", database.container.name)
pulumi.export("migration_container_name", migrations.container.name)
pulumi.export("network_name", network.name)
pulumi.export("volume_name", database.volume.name)
pulumi.export("database_url", database.url)  # secret
