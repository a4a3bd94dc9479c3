"""The Pulumi program (infra/) run under mocks: resources, options, order, secrets.

Each scenario is one run of the whole program in its own process (see
conftest.py and infra_harness.py); the assertions read what it registered.
"""
from __future__ import annotations

import json
import re

import pytest
from infra_helpers import FAILED_MIGRATION_LOG, is_secret, label_map, unwrap

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
PASSWORD = "random:index/randomPassword:RandomPassword"
HEALTHCHECK_API = [
    "CMD",
    "python",
    "-c",
    "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)",
]
MOCK_SECRET_FRAGMENT = "Zq9Zq9"  # what the mocked RandomPassword results are made of


def envs_of(resource: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in unwrap(resource["inputs"]["envs"]))


@pytest.fixture(scope="module")
def default(program):
    return program("default").ok()


@pytest.fixture(scope="module")
def custom(program):
    return program("custom").ok()


@pytest.fixture(scope="module")
def db(default):
    (container,) = default.containers("db")
    return container


@pytest.fixture(scope="module")
def migration(default):
    (container,) = default.containers("migrate")
    return container


@pytest.fixture(scope="module")
def api(default):
    return default.containers("api")


# --------------------------------------------------------------------- inventory


def test_declares_every_resource_once(default):
    counts: dict[str, int] = {}
    for resource in default["resources"]:
        counts[resource["type"]] = counts.get(resource["type"], 0) + 1
    assert counts == {
        "pulumi:pulumi:Stack": 1,
        "library:infra:StackNetwork": 1,
        "library:infra:Database": 1,
        "library:infra:AppImage": 1,
        "library:infra:AppSecrets": 1,
        "library:infra:Migrations": 1,
        "library:infra:Api": 1,
        NETWORK: 1,
        VOLUME: 1,
        REMOTE_IMAGE: 1,
        IMAGE: 1,
        PASSWORD: 2,
        CONTAINER: 4,  # db, migration, 2 API replicas
    }


def test_every_resource_belongs_to_a_component_that_registers_outputs(default):
    components = {r["urn"] for r in default["resources"] if r["type"].startswith("library:infra:")}
    for resource in default["resources"]:
        if resource["custom"]:
            assert resource["parent"] in components, resource["name"]
    assert components <= set(default["outputs_registered"])


# ----------------------------------------------------------------- network, volume


def test_private_bridge_network_per_stack(default):
    (network,) = default.of_type(NETWORK)
    assert network["inputs"]["name"] == "library-dev"
    assert network["inputs"]["driver"] == "bridge"


def test_volume_is_named_and_retained_by_default(default, custom):
    (volume,) = default.of_type(VOLUME)
    assert volume["inputs"]["name"] == "library-dev-pgdata"
    assert volume["retain_on_delete"] is True
    (volume,) = custom.of_type(VOLUME)
    assert volume["inputs"]["name"] == "library-prod-pgdata"
    assert volume["retain_on_delete"] is False


@pytest.mark.parametrize("scenario", ["default", "custom"])
def test_every_docker_object_is_labelled_with_project_stack_and_component(program, scenario):
    run = program(scenario).ok()
    stack = "dev" if scenario == "default" else "prod"
    expected_components = {NETWORK: {"network"}, VOLUME: {"volume"}, CONTAINER: {"db", "migrate", "api"}}
    seen = set()
    for typ, components in expected_components.items():
        for resource in run.of_type(typ):
            labels = label_map(resource)
            assert labels["org.library.project"] == "library", resource["name"]
            assert labels["org.library.stack"] == stack, resource["name"]
            assert labels["org.library.component"] in components, resource["name"]
            seen.add(labels["org.library.component"])
    assert seen == {"network", "volume", "db", "migrate", "api"}


# ---------------------------------------------------------------------- database


def test_postgres_image_is_used_from_the_local_engine_and_kept(default, db):
    (image,) = default.of_type(REMOTE_IMAGE)
    assert image["inputs"]["name"] == "postgres:15-bookworm"
    assert image["inputs"]["keepLocally"] is True
    assert db["property_dependencies"]["image"] == [image["urn"]]


def test_database_container(db, default):
    inputs = db["inputs"]
    assert inputs["name"] == "library-dev-db"
    assert "ports" not in inputs, "the database must not publish a host port"
    (network,) = default.of_type(NETWORK)
    assert inputs["networksAdvanced"] == [{"name": "library-dev", "aliases": ["db"]}]
    assert network["urn"] in db["property_dependencies"]["networksAdvanced"]
    assert inputs["volumes"] == [{"volumeName": "library-dev-pgdata", "containerPath": "/var/lib/postgresql/data"}]
    assert inputs["restart"] == "unless-stopped"
    assert inputs["memory"] == 1024
    assert inputs["wait"] is True and inputs["waitTimeout"] >= 60
    assert db["replace_on_changes"] == ["healthcheck", "tmpfs"]
    assert inputs["securityOpts"] == ["no-new-privileges:true"]


def test_database_environment_and_secret_password(db):
    assert is_secret(db["inputs"]["envs"])
    env = envs_of(db)
    assert env["POSTGRES_USER"] == "library"
    assert env["POSTGRES_DB"] == "library"
    assert env["PGDATA"] == "/var/lib/postgresql/data/pgdata"
    assert re.fullmatch(r"[A-Za-z0-9]{32}", env["POSTGRES_PASSWORD"])


def test_database_password_is_url_safe_random(default):
    (password,) = [r for r in default.of_type(PASSWORD) if r["name"] == "database-password"]
    assert password["inputs"]["length"] == 32
    assert password["inputs"]["special"] is False


def test_database_healthcheck_uses_pg_isready_over_tcp(db):
    check = db["inputs"]["healthcheck"]
    tests = check["tests"]
    assert tests[:2] == ["CMD", "pg_isready"]
    joined = " ".join(tests)
    assert "-U library" in joined and "-d library" in joined and "-h 127.0.0.1" in joined
    for key in ("interval", "timeout", "retries", "startPeriod"):
        assert check.get(key), key


# ------------------------------------------------------------------------- image


def test_image_is_built_locally_from_the_repo_dockerfile(default):
    (image,) = default.of_type(IMAGE)
    inputs = image["inputs"]
    assert inputs["imageName"] == "library-api:dev"
    assert inputs["skipPush"] is True
    assert inputs["build"]["context"] == ".."
    assert inputs["build"]["dockerfile"] == "../Dockerfile"
    assert inputs["build"]["args"] == {
        "BASE_IMAGE": "python:3.11-slim-bookworm", "LIBRARY_PROJECT": "library", "LIBRARY_STACK": "dev"}


def test_no_absolute_host_paths_in_inputs(default, custom):
    for run in (default, custom):
        for image in run.of_type(IMAGE):
            for key in ("context", "dockerfile"):
                assert not image["inputs"]["build"][key].startswith("/"), key
        repo_root = str(__file__).rsplit("/tests/", 1)[0]
        assert repo_root not in json.dumps(run["resources"])


def test_base_image_comes_from_config(custom):
    (image,) = custom.of_type(IMAGE)
    assert image["inputs"]["imageName"] == "library-api:prod"
    assert image["inputs"]["build"]["args"]["BASE_IMAGE"] == "library-base/python:bookworm"
    assert image["inputs"]["build"]["args"]["LIBRARY_STACK"] == "prod"
    (remote,) = custom.of_type(REMOTE_IMAGE)
    assert remote["inputs"]["name"] == "registry.example.com:5000/db/postgres:15.7-bookworm"


# -------------------------------------------------------------------- migrations


def test_migration_is_a_checked_one_shot_container(migration, default):
    inputs = migration["inputs"]
    (image,) = default.of_type(IMAGE)
    digest = default.output("image")["value"]
    assert inputs["image"] == digest, "containers run the built image's digest, not its tag"
    assert inputs["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert inputs["mustRun"] is False and inputs["attach"] is True and inputs["logs"] is True
    assert inputs["restart"] == "no"
    assert "ports" not in inputs
    assert inputs["networksAdvanced"] == [{"name": "library-dev"}]
    # a new image means a new migration container (and a new run)
    assert inputs["name"] == f"library-dev-migrate-{digest.split(':')[-1][:12]}"
    assert image["urn"] in migration["property_dependencies"]["name"]


def test_migration_runs_only_after_the_database_is_healthy(migration, db):
    # ordering and data flow: DATABASE_URL is built from the db container's outputs
    assert db["urn"] in migration["dependencies"]
    assert db["urn"] in migration["property_dependencies"]["envs"]
    assert db["inputs"]["wait"] is True


def test_migration_gets_the_app_environment_as_secrets(migration, api):
    assert is_secret(migration["inputs"]["envs"])
    assert envs_of(migration) == envs_of(api[0])


def test_migration_runs_hardened_like_the_api(migration):
    inputs = migration["inputs"]
    assert inputs["user"] == "10001:10001"
    assert inputs["readOnly"] is True
    assert inputs["tmpfs"] == {"/tmp": "rw,noexec,nosuid,size=64m"}
    assert inputs["capabilities"] == {"drops": ["ALL"]}
    assert inputs["securityOpts"] == ["no-new-privileges:true"]


# --------------------------------------------------------------------------- API


def test_api_replicas_and_port_layout(api):
    assert [c["inputs"]["name"] for c in api] == ["library-dev-api-0", "library-dev-api-1"]
    assert [c["inputs"]["ports"] for c in api] == [
        [{"internal": 8000, "external": 8000, "ip": "127.0.0.1", "protocol": "tcp"}],
        [{"internal": 8000, "external": 8001, "ip": "127.0.0.1", "protocol": "tcp"}],
    ]
    assert [label_map(c)["org.library.replica"] for c in api] == ["0", "1"]


def test_api_replica_count_and_ports_follow_config(custom):
    api = custom.containers("api")
    assert [c["inputs"]["name"] for c in api] == [f"library-prod-api-{i}" for i in range(3)]
    ports = [c["inputs"]["ports"][0] for c in api]
    assert [p["external"] for p in ports] == [9000, 9001, 9002]
    assert {p["ip"] for p in ports} == {"::1"}
    assert {p["internal"] for p in ports} == {8000}


def test_api_containers_are_hardened(api):
    for container in api:
        inputs = container["inputs"]
        assert inputs["user"] == "10001:10001"
        assert inputs["readOnly"] is True
        assert inputs["tmpfs"] == {"/tmp": "rw,noexec,nosuid,size=64m"}
        assert inputs["capabilities"] == {"drops": ["ALL"]}
        assert inputs["securityOpts"] == ["no-new-privileges:true"]
        assert inputs.get("privileged") in (None, False)


def test_api_health_wait_restart_and_limits(api, default):
    digest = default.output("image")["value"]
    for container in api:
        inputs = container["inputs"]
        assert inputs["image"] == digest
        check = inputs["healthcheck"]
        assert check["tests"] == HEALTHCHECK_API
        assert check["interval"] and check["timeout"] and check["retries"] >= 1 and check["startPeriod"]
        assert inputs["wait"] is True and inputs["waitTimeout"] >= 30
        assert inputs["restart"] == "unless-stopped"
        assert inputs["memory"] == 512
        assert inputs["cpus"] == "1"


def test_api_limits_follow_config(custom):
    for container in custom.containers("api"):
        assert container["inputs"]["memory"] == 256
        assert container["inputs"]["cpus"] == "0.5"
    (db,) = custom.containers("db")
    assert db["inputs"]["memory"] == 2048


def test_api_replace_semantics_are_explicit(api):
    for container in api:
        assert container["replace_on_changes"] == ["healthcheck", "tmpfs"]
        assert container["delete_before_replace_defined"] is True
        assert container["delete_before_replace"] is True


def test_api_waits_for_the_checked_migration(api, migration, db):
    for container in api:
        assert migration["urn"] in container["dependencies"]
        assert db["urn"] in container["dependencies"]
        # data flow: the label comes from the migration's checked exit code
        assert migration["urn"] in container["property_dependencies"]["labels"]
        assert label_map(container)["org.library.migrated-image"] == migration["inputs"]["image"]


def test_api_environment(api, default):
    env = envs_of(api[0])
    assert env["DJANGO_DEBUG"] == "false"
    assert env["DJANGO_HTTPS"] == "false", "plain HTTP is published: no SSL redirect"
    assert env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "false"
    assert env["DJANGO_ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"].split(",") == [
        "http://localhost:8000",
        "http://localhost:8001",
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8001",
    ]
    assert env["GUNICORN_WORKERS"] == "2" and env["GUNICORN_THREADS"] == "4"
    assert int(env["GUNICORN_TIMEOUT"]) > 0 and int(env["DATABASE_CONNECT_TIMEOUT"]) > 0
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
    assert env["DATABASE_URL"] == default.output("database_url")["value"]
    assert re.fullmatch(r"postgres://library:[A-Za-z0-9]{32}@db:5432/library", env["DATABASE_URL"])
    (secret_key,) = [r for r in default.of_type(PASSWORD) if r["name"] != "database-password"]
    assert secret_key["inputs"]["length"] >= 50


def test_api_environment_follows_config(custom):
    env = envs_of(custom.containers("api")[0])
    assert env["DJANGO_HTTPS"] == "true"
    assert env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "true"
    assert env["DJANGO_ALLOWED_HOSTS"] == "api.example.com,.example.com"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == "https://api.example.com,https://*.example.com"
    assert env["GUNICORN_WORKERS"] == "5" and env["GUNICORN_THREADS"] == "2"


# ----------------------------------------------------------------------- outputs


def test_stack_outputs(default):
    outputs = default["outputs"]
    assert outputs["url"] == {"value": "http://127.0.0.1:8000/", "secret": False}
    assert outputs["urls"]["value"] == ["http://127.0.0.1:8000/", "http://127.0.0.1:8001/"]
    assert outputs["image"]["value"].startswith("sha256:")
    assert outputs["api_container_names"]["value"] == ["library-dev-api-0", "library-dev-api-1"]
    assert outputs["db_container_name"]["value"] == "library-dev-db"
    assert outputs["network_name"]["value"] == "library-dev"
    assert outputs["volume_name"]["value"] == "library-dev-pgdata"
    assert outputs["migration_container_name"]["value"].startswith("library-dev-migrate-")


def test_urls_bracket_ipv6_and_name_localhost_for_all_interfaces(custom, program):
    assert custom.output("url")["value"] == "http://[::1]:9000/"
    assert custom.output("urls")["value"] == [f"http://[::1]:{p}/" for p in (9000, 9001, 9002)]
    assert program("all-interfaces").ok().output("url")["value"] == "http://localhost:8000/"


def test_secrets_are_only_secret_outputs(default):
    outputs = default["outputs"]
    assert outputs["database_url"]["secret"] is True
    plain = {name: o for name, o in outputs.items() if not o["secret"]}
    assert set(plain) == set(outputs) - {"database_url"}
    assert MOCK_SECRET_FRAGMENT not in json.dumps(plain)


def test_secret_values_appear_only_inside_secret_inputs(default):
    def walk(value, inside_secret, path):
        if is_secret(value):
            walk(value["__secret__"], True, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, inside_secret, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, inside_secret, f"{path}[{index}]")
        elif isinstance(value, str) and MOCK_SECRET_FRAGMENT in value:
            assert inside_secret, f"secret value in plain input {path}"

    for resource in default["resources"]:
        if resource["type"] == PASSWORD:
            continue  # the generator's own state
        walk(resource["inputs"], False, resource["name"])


# --------------------------------------------------------------- failure paths


def test_failed_migration_fails_the_deployment_with_its_log(program):
    run = program("failed-migration")
    error = run.error
    assert error is not None, "a failed migration must fail `pulumi up`"
    assert error["type"] == "MigrationError" and error["run_error"] is True
    assert "exited with code 1" in error["message"]
    assert 'column "isbn" of relation "books_book" already exists' in error["message"]
    assert FAILED_MIGRATION_LOG.strip().splitlines()[-1] in error["message"]
    assert "library-dev-migrate-" in error["message"]


def test_failed_migration_leaves_the_api_untouched(program):
    run = program("failed-migration")
    assert len(run.containers("migrate")) == 1
    assert len(run.containers("db")) == 1
    assert run.containers("api") == [], "no API container may be created or replaced"


def test_migration_without_exit_code_is_a_failure(program):
    run = program("migration-without-exit-code")
    assert run.error is not None and run.error["type"] == "MigrationError"
    assert "reported no exit code" in run.error["message"]
    assert "(no output captured)" in run.error["message"]
    assert run.containers("api") == []


def test_invalid_config_fails_before_any_resource_is_declared(program):
    run = program("bad-config")
    error = run.error
    assert error is not None and error["type"] == "ConfigError" and error["run_error"] is True
    message = error["message"]
    for fragment in (
        "library:apiReplicas: must be an integer from 1 to 20, got 0",
        "library:hostPort: must be an integer from 1 to 65535, got 70000",
        "library:bindAddress: must be an IPv4 or IPv6 address",
        "library:apiCpus: must be a number greater than 0",
        "library:postgresImage: production stacks need a pinned image",
        "library:allowedHosts:",
        "library:hostPortt: unknown key; did you mean library:hostPort?",
        "docker:host: must start with one of unix://, tcp://, ssh://, npipe://",
    ):
        assert fragment in message, fragment
    assert [r["type"] for r in run["resources"]] == ["pulumi:pulumi:Stack"]


def test_preview_runs(program):
    run = program("preview")
    assert run.error is None, run.error
    assert len(run.containers("api")) == 2
