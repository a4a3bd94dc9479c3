"""The Pulumi program (infra/) run under mocks: resources, options, order, secrets.

Each scenario is one run of the whole program in its own process (see
conftest.py and infra_harness.py); the assertions read what it registered.
"""

from __future__ import annotations

import json
import re

import pytest
from infra_helpers import FAILED_MIGRATION_LOG, REPO, is_secret, label_map, unwrap

from tests.conftest import load_infra_module

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
PASSWORD = "random:index/randomPassword:RandomPassword"
DYNAMIC = "pulumi-python:dynamic:Resource"
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
        "library:infra:Proxy": 1,
        NETWORK: 1,
        VOLUME: 1,
        REMOTE_IMAGE: 2,  # postgres, nginx
        IMAGE: 1,
        PASSWORD: 2,
        CONTAINER: 5,  # db, migration, 2 API replicas, proxy
        DYNAMIC: 1,  # the migration's check
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
    expected_components = {NETWORK: {"network"}, VOLUME: {"volume"}, CONTAINER: {"db", "migrate", "api", "proxy"}}
    seen = set()
    for typ, components in expected_components.items():
        for resource in run.of_type(typ):
            labels = label_map(resource)
            assert labels["org.library.project"] == "library", resource["name"]
            assert labels["org.library.stack"] == stack, resource["name"]
            assert labels["org.library.component"] in components, resource["name"]
            seen.add(labels["org.library.component"])
    assert seen == {"network", "volume", "db", "migrate", "api", "proxy"}


# ---------------------------------------------------------------------- database


def test_postgres_image_is_used_from_the_local_engine_and_kept(default, db):
    (image,) = [r for r in default.of_type(REMOTE_IMAGE) if r["name"] == "database-image"]
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
    assert "registry" not in inputs
    assert inputs["build"]["context"] == ".."
    assert inputs["build"]["dockerfile"] == "../Dockerfile"
    assert inputs["build"]["args"] == {
        "BASE_IMAGE": "python:3.11-slim-bookworm",
        "LIBRARY_PROJECT": "library",
        "LIBRARY_STACK": "dev",
    }


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
    remotes = {r["name"]: r["inputs"]["name"] for r in custom.of_type(REMOTE_IMAGE)}
    assert remotes == {
        "database-image": "registry.example.com:5000/db/postgres:15.7-bookworm",
        "proxy-image": "library-base/nginx:bookworm",
    }


def test_with_a_repository_the_image_is_pushed_and_containers_run_its_registry_digest(program):
    run = program("registry").ok()
    (image,) = run.of_type(IMAGE)
    inputs = image["inputs"]
    assert inputs["imageName"] == "registry.example.com:5000/team/library-api:prod"
    assert inputs["skipPush"] is False
    assert "registry" not in inputs, "no login keys: the provider uses the deploying machine's Docker credentials"
    assert inputs["build"]["platform"] == "linux/arm64", "the platform logic stays"
    assert inputs["build"]["args"]["LIBRARY_STACK"] == "prod"
    digest = run.output("image")["value"]
    assert re.fullmatch(r"registry\.example\.com:5000/team/library-api@sha256:[0-9a-f]{64}", digest), digest
    containers = run.containers("api") + run.containers("migrate")
    assert {c["inputs"]["image"] for c in containers} == {digest}
    assert all(image["urn"] in c["property_dependencies"]["image"] for c in containers)


def test_a_registry_login_passes_the_password_as_a_secret(program):
    run = program("registry-login").ok()
    (image,) = run.of_type(IMAGE)
    assert image["inputs"]["imageName"] == "localhost:5000/library-api:dev"
    # The SDK sends an input object holding a secret as a secret as a whole.
    assert is_secret(image["inputs"]["registry"])
    assert unwrap(image["inputs"]["registry"]) == {"username": "ci", "password": "s3cr3t-Tok3n"}
    plain_parts = {name: value for name, value in image["inputs"].items() if name != "registry"}
    assert "s3cr3t-Tok3n" not in json.dumps([plain_parts, run["outputs"], run["logs"]])
    assert run.output("image")["value"].startswith("localhost:5000/library-api@sha256:")


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
    assert image["urn"] in migration["property_dependencies"]["image"]
    # Auto-named: any change replaces it (a new run) under a new name, while the
    # old one still exists (create-before-delete); a fixed name would clash (409).
    assert "name" not in inputs


def test_migration_check_fails_only_a_failed_migration(default, migration, infra_migrations):
    (check,) = default.of_type(DYNAMIC)
    assert check["parent"] == migration["parent"]
    # its inputs are the migration container's outputs: it runs after the container exited
    assert set(check["property_dependencies"]) >= {"container_name", "exit_code", "log_tail"}
    assert migration["urn"] in check["property_dependencies"]["exit_code"]
    provider = infra_migrations.check_provider()
    props = {"container_name": "migrations-run-1", "exit_code": 0, "log_tail": "ok", "image_ref": "sha256:abc"}
    assert provider.create(props).outs["image_ref"] == "sha256:abc"
    with pytest.raises(Exception, match="exited with code 2"):
        provider.create({**props, "exit_code": 2})
    # a changed input is a new check (a replacement, i.e. a create); the same inputs, nothing
    assert provider.diff("id", props, dict(props)).changes is False
    changed = provider.diff("id", props, {**props, "exit_code": 1, "container_name": "migrations-run-2"})
    assert changed.changes is True and changed.replaces == ["container_name", "exit_code"]


def test_migration_check_provider_pickles_by_value(infra_migrations, tmp_path):
    # The SDK's provider host unpickles it in a process of its own, where this
    # program's modules are not importable: the provider must not refer to them.
    import base64
    import subprocess
    import sys

    from pulumi.dynamic.dynamic import serialize_provider

    (tmp_path / "p.txt").write_text(serialize_provider(infra_migrations.check_provider()))
    code = (
        "import base64, dill, sys; p = dill.loads(base64.b64decode(open('p.txt').read()));"
        "print(p.create({'container_name': 'c', 'exit_code': 0, 'log_tail': '', 'image_ref': 'r'}).id)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env={})
    assert result.returncode == 0 and result.stdout.strip() == "c", result.stderr
    assert base64  # imported for readers: the value is base64 of dill's pickle


def test_migration_is_replaced_create_before_delete(migration):
    # The provider asks for delete-before-replace when a name is given; then
    # the engine would delete the API replicas (which take the checked result
    # as an input) before the migration: an outage on every code deployment.
    assert migration["delete_before_replace_defined"] is True
    assert migration["delete_before_replace"] is False


def test_migration_runs_only_after_the_database_is_healthy(migration, db, api):
    # ordering: created only once the server is healthy (wait + healthcheck)...
    assert db["urn"] in migration["dependencies"]
    # ... but no data dependency: the db container is replaced delete-before-replace,
    # and the engine would then delete every consumer whose inputs come from it first
    for consumer in [migration, *api]:
        assert db["urn"] in consumer["dependencies"]
        assert all(db["urn"] not in urns for urns in consumer["property_dependencies"].values()), consumer["name"]
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


def test_api_replicas_publish_nothing_and_share_the_api_alias(api, default):
    (network,) = default.of_type(NETWORK)
    assert [c["name"] for c in api] == ["library-dev-api-0", "library-dev-api-1"]
    for container in api:
        assert "ports" not in container["inputs"], "only the proxy publishes a port"
        assert container["inputs"]["networksAdvanced"] == [{"name": "library-dev", "aliases": ["api"]}]
        assert network["urn"] in container["property_dependencies"]["networksAdvanced"]
    assert [label_map(c)["org.library.replica"] for c in api] == ["0", "1"]


def test_auto_named_containers_start_with_the_stack_prefix_and_alias_their_old_names(default, custom):
    # docs/deploy.md, "What gets deployed": the old logical names are aliases (same parent), so
    # stacks deployed before the prefix keep their replicas and migration run.
    for run, prefix in ((default, "library-dev-"), (custom, "library-prod-")):
        api, (migration,) = run.containers("api"), run.containers("migrate")
        assert [c["name"] for c in api] == [f"{prefix}api-{i}" for i in range(len(api))]
        assert migration["name"] == f"{prefix}migrate"
        old_names = [f"api-{i}" for i in range(len(api))] + ["migrations-run"]
        for container, old_name in zip([*api, migration], old_names, strict=True):
            (alias,) = container["aliases"]
            assert alias == {
                "name": old_name,
                "type": "",
                "stack": "",
                "project": "",
                "parentUrn": "",
                "noParent": False,
            }
            assert "name" not in container["inputs"], "auto-named"
        names = run.output("api_container_names")["value"] + [run.output("migration_container_name")["value"]]
        assert all(name.startswith(prefix) for name in names), names


def test_api_replica_count_follows_config(custom):
    api = custom.containers("api")
    assert [c["name"] for c in api] == [f"library-prod-api-{i}" for i in range(3)]
    assert all("ports" not in c["inputs"] for c in api)


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


def test_containers_stop_gracefully_before_docker_kills_them(api, db):
    # gunicorn gets SIGTERM and finishes in-flight requests within its graceful
    # timeout; Docker must wait longer than that before a SIGKILL, on
    # `docker stop` (stopTimeout) as on the provider's delete (destroyGraceSeconds).
    for container in api:
        inputs = container["inputs"]
        graceful = int(envs_of(container)["GUNICORN_GRACEFUL_TIMEOUT"])
        assert inputs["stopSignal"] == "SIGTERM"
        assert inputs["stopTimeout"] >= graceful + 5
        assert inputs["destroyGraceSeconds"] == inputs["stopTimeout"]
    # PostgreSQL's fast shutdown (the image's SIGINT) writes a checkpoint: more than Docker's default 10 s.
    assert "stopSignal" not in db["inputs"]
    assert db["inputs"]["stopTimeout"] >= 30
    assert db["inputs"]["destroyGraceSeconds"] == db["inputs"]["stopTimeout"]


def test_api_limits_follow_config(custom):
    for container in custom.containers("api"):
        assert container["inputs"]["memory"] == 256
        assert container["inputs"]["cpus"] == "0.5"
    (db,) = custom.containers("db")
    assert db["inputs"]["memory"] == 2048


def test_api_replicas_are_replaced_create_before_delete_and_health_gated(api):
    # Zero-downtime deployments: a replacement replica is created (no fixed
    # name, so Pulumi auto-names it and old and new coexist) and must become
    # healthy (wait + healthcheck) before the engine deletes the old one.
    for container in api:
        assert container["replace_on_changes"] == ["healthcheck", "tmpfs"]
        assert container["delete_before_replace_defined"] is True
        assert container["delete_before_replace"] is False
        assert "name" not in container["inputs"], "a fixed name forces delete-before-replace"
        assert container["inputs"]["wait"] is True and container["inputs"]["healthcheck"]["tests"]


def test_api_replicas_are_drained_before_deletion(default, api, infra_drain_hook):
    # The before_delete hook (infra/drain_hook.py) drains a replica before the
    # provider stops it; no other resource has it.
    for container in api:
        assert container["before_delete_hooks"] == [infra_drain_hook.HOOK_NAME]
    others = [r["name"] for r in default["resources"] if r["before_delete_hooks"] and r not in api]
    assert others == []


HELPER_LABELS = {"org.library.project": "library", "org.library.stack": "dev", "org.library.component": "api-drain"}


def test_drain_helper_joins_the_replica_with_only_the_capabilities_it_needs(infra_drain_hook):
    args = infra_drain_hook.helper_container_args("abc123", "sha256:img", 8000, HELPER_LABELS)
    assert args["image"] == "sha256:img"  # the replica's own image: it has core/draining.py
    assert args["command"] == ["python", "-m", "core.draining", "--port", "8000"]
    assert args["network_mode"] == "container:abc123" and args["pid_mode"] == "container:abc123"
    assert args["cap_drop"] == ["ALL"]
    assert sorted(args["cap_add"]) == ["DAC_READ_SEARCH", "NET_ADMIN", "SYS_PTRACE"]
    assert args["read_only"] is True and "no-new-privileges:true" in args["security_opt"]
    assert args["labels"] == HELPER_LABELS


def test_drain_helper_carries_the_stacks_labels(infra_drain_hook):
    """Made outside Pulumi's state, a helper left by a crashed deployment is found
    only by its labels (tests/harness/teardown.py looks for the stack's)."""
    labels = load_infra_module("labels").StackNames("library", "dev").label_dict("api-drain")
    assert infra_drain_hook.helper_container_args("abc123", "sha256:img", 8000, labels)["labels"] == HELPER_LABELS
    for missing in ("org.library.project", "org.library.stack"):
        partial = {key: value for key, value in HELPER_LABELS.items() if key != missing}
        with pytest.raises(
            ValueError, match=f"the drain helper must carry the stack's labels; missing \\['{missing}'\\]"
        ):
            infra_drain_hook.helper_container_args("abc123", "sha256:img", 8000, partial)


def test_api_waits_for_the_checked_migration(api, migration, db, default):
    for container in api:
        assert migration["urn"] in container["dependencies"]
        assert db["urn"] in container["dependencies"]
        # data flow: the label comes from the migration's check (created only for exit code 0)
        (check,) = default.of_type(DYNAMIC)
        assert check["urn"] in container["property_dependencies"]["labels"]
        assert label_map(container)["org.library.migrated-image"] == migration["inputs"]["image"]


def test_api_environment(api, default):
    env = envs_of(api[0])
    assert env["DJANGO_DEBUG"] == "false"
    assert env["DJANGO_HTTPS"] == "false", "plain HTTP is published: no SSL redirect"
    assert env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "false"
    assert env["DJANGO_ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"].split(",") == ["http://localhost:8000", "http://127.0.0.1:8000"]
    # Behind the proxy: forwarded headers only from the stack network, and the
    # client address for throttling from the proxy's X-Forwarded-For entry.
    assert env["GUNICORN_FORWARDED_ALLOW_IPS"] == "172.30.0.0/16"
    assert env["API_NUM_PROXIES"] == "1"
    assert env["GUNICORN_WORKERS"] == "2" and env["GUNICORN_THREADS"] == "4"
    assert int(env["GUNICORN_TIMEOUT"]) > 0 and int(env["DATABASE_CONNECT_TIMEOUT"]) > 0
    assert (env["API_THROTTLE_ANON"], env["API_THROTTLE_USER"]) == ("600/minute", "3000/minute")
    # the links the API writes name the stack's origin, not the request's Host
    assert env["API_PUBLIC_ORIGIN"] == "http://127.0.0.1:8000"
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
    # `https` without TLS here: a TLS proxy in front of ours appends to X-Forwarded-For too.
    assert env["API_NUM_PROXIES"] == "2"
    assert (env["API_THROTTLE_ANON"], env["API_THROTTLE_USER"]) == ("5/second", "off")
    assert env["API_PUBLIC_ORIGIN"] == "https://api.example.com"


# ----------------------------------------------------------------------- outputs


def test_stack_outputs(default):
    outputs = default["outputs"]
    assert outputs["url"] == {"value": "http://127.0.0.1:8000/", "secret": False, "known": True}
    assert "urls" not in outputs, "one URL: the proxy's"
    assert outputs["public_url"]["value"] == "http://127.0.0.1:8000/"
    assert outputs["proxy_container_name"]["value"] == "library-dev-proxy"
    assert outputs["image"]["value"].startswith("sha256:")
    # auto-names (the mock's stand-in for Pulumi's random suffix)
    assert [re.sub(r"-[0-9a-f]{7}$", "", n) for n in outputs["api_container_names"]["value"]] == [
        "library-dev-api-0",
        "library-dev-api-1",
    ]
    assert outputs["db_container_name"]["value"] == "library-dev-db"
    assert outputs["network_name"]["value"] == "library-dev"
    assert outputs["volume_name"]["value"] == "library-dev-pgdata"
    assert outputs["migration_container_name"]["value"].startswith("library-dev-migrate-")


def test_urls_bracket_ipv6_and_name_localhost_for_all_interfaces(custom, program):
    assert custom.output("url")["value"] == "http://[::1]:9000/"
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
    # the check's create fails (as in the engine: a failed step), the program does not raise
    assert error["type"] == "MigrationFailed"
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
    assert run.error is not None and run.error["type"] == "MigrationFailed"
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


# ------------------------------------------------------------- reverse proxy


@pytest.fixture(scope="module")
def proxy(default):
    (container,) = default.containers("proxy")
    return container


def uploads_of(resource: dict) -> dict[str, object]:
    return {u["file"]: u["content"] for u in unwrap(resource["inputs"]["uploads"])}


def test_the_proxy_owns_the_published_port(proxy, default):
    inputs = proxy["inputs"]
    assert inputs["name"] == "library-dev-proxy"
    assert inputs["ports"] == [{"internal": 8080, "external": 8000, "ip": "127.0.0.1", "protocol": "tcp"}]
    (network,) = default.of_type(NETWORK)
    assert inputs["networksAdvanced"] == [{"name": "library-dev"}]
    assert network["urn"] in proxy["property_dependencies"]["networksAdvanced"]
    (image,) = [r for r in default.of_type(REMOTE_IMAGE) if r["name"] == "proxy-image"]
    assert image["inputs"] == {"name": "nginx:1.27-bookworm", "keepLocally": True}
    assert image["urn"] in proxy["property_dependencies"]["image"]


def test_the_proxy_can_reuse_upstream_ports_under_sustained_load(proxy):
    assert proxy["inputs"]["sysctls"] == {"net.ipv4.tcp_tw_reuse": "1", "net.ipv4.ip_local_port_range": "1024 65535"}


def test_the_proxy_runs_the_generated_config_unprivileged(proxy):
    inputs = proxy["inputs"]
    assert inputs["entrypoints"] == ["/usr/sbin/nginx"]
    assert inputs["command"] == ["-c", "/etc/nginx/library/nginx.conf", "-g", "daemon off;"]
    uploads = uploads_of(proxy)
    assert set(uploads) == {"/etc/nginx/library/nginx.conf", "/etc/nginx/library/maintenance.html"}
    assert uploads["/etc/nginx/library/maintenance.html"] == (REPO / "infra" / "maintenance.html").read_text()
    assert inputs["user"] == "101:101"
    assert inputs["capabilities"] == {"drops": ["ALL"]}
    assert inputs["securityOpts"] == ["no-new-privileges:true"]
    assert inputs["tmpfs"] == {"/tmp": "rw,noexec,nosuid,size=64m"}
    # uploads need a writable root: Docker refuses to copy into a read-only one
    assert inputs.get("readOnly") in (None, False)
    assert inputs["restart"] == "unless-stopped"
    assert inputs["wait"] is True and inputs["healthcheck"]["tests"][:2] == ["CMD", "curl"]
    assert inputs["stopSignal"] == "SIGQUIT" and inputs["destroyGraceSeconds"] >= 5
    assert label_map(proxy)["org.library.component"] == "proxy"


def test_the_proxy_is_replaced_delete_first_and_only_when_its_config_changes(proxy, api):
    assert proxy["delete_before_replace_defined"] is True and proxy["delete_before_replace"] is True
    assert proxy["replace_on_changes"] == ["healthcheck", "tmpfs", "uploads"]
    # Nothing replica-specific in its inputs: a code deployment leaves it alone.
    text = json.dumps(proxy["inputs"])
    for container in api:
        assert container["name"] not in text
    # It starts after the replicas, so the URL answers when `pulumi up` ends.
    assert {c["urn"] for c in api} <= set(proxy["dependencies"])


def test_nginx_config_balances_re_resolves_retries_and_bounds(proxy):
    conf = uploads_of(proxy)["/etc/nginx/library/nginx.conf"]
    for directive in (
        "resolver 127.0.0.11 valid=1s ipv6=off;",
        "set $api_upstream api:8000;",
        "proxy_pass http://$api_upstream;",
        "proxy_next_upstream error timeout http_502 http_503;",
        "proxy_next_upstream_tries 0;",  # every replica once: all old ones may be draining
        "proxy_next_upstream_timeout 10s;",
        "client_max_body_size 64k;",
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "send_timeout 30s;",
        "keepalive_timeout 15s;",
        "proxy_connect_timeout 1s;",
        "proxy_read_timeout 35s;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header Host $http_host;",
        "gzip on;",
        "listen 8080;",
        "listen 127.0.0.1:8081;",
        "error_page 413 /__proxy_error/413;",
        "error_page 405 /__proxy_error/405;",  # TRACE, refused by nginx itself: JSON and an Allow header
        "add_header Allow $proxy_error_allow always;",
        "pid /tmp/nginx.pid;",
    ):
        assert directive in conf, directive
    assert "non_idempotent" not in conf, "a POST must never be sent twice"
    assert "application/json" in conf.split("gzip_types", 1)[1].split(";", 1)[0]
    assert "ssl" not in conf


def test_tls_at_the_proxy(program):
    run = program("tls").ok()
    (proxy,) = run.containers("proxy")
    uploads = (
        {u["file"]: u["content"] for u in proxy["inputs"]["uploads"]["__secret__"]}
        if is_secret(proxy["inputs"]["uploads"])
        else None
    )
    assert uploads is not None, "uploads carrying the private key must be secret"
    conf = uploads["/etc/nginx/library/nginx.conf"]
    assert "listen 8080 ssl;" in conf and "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "ssl_certificate_key /etc/nginx/library/tls.key;" in conf
    assert unwrap(uploads["/etc/nginx/library/tls.key"]).startswith("-----BEGIN PRIVATE KEY-----")
    assert uploads["/etc/nginx/library/tls.crt"].startswith("-----BEGIN CERTIFICATE-----")
    assert run.output("url")["value"] == "https://127.0.0.1:8443/"
    env = envs_of(run.containers("api")[0])
    assert env["DJANGO_HTTPS"] == "true" and env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "true"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == "https://library.example.com:8443"
    assert env["API_NUM_PROXIES"] == "1"


def test_api_image_rolls_back_without_a_build(program):
    run = program("rollback").ok()
    image = "sha256:" + "e" * 64
    assert run.of_type(IMAGE) == [], "nothing is built"
    assert {c["inputs"]["image"] for c in run.containers("api")} == {image}
    (migration,) = run.containers("migrate")
    assert migration["inputs"]["image"] == image, "the migration step still runs, for that image"
    assert run.output("image")["value"] == image


# ------------------------------------------------------------- changing a stack


@pytest.mark.parametrize("scenario", ["default", "custom"])
def test_every_memory_limit_comes_with_an_equal_swap_limit(program, scenario):
    # The provider updates memory in place and sends a swap limit only when one
    # is set; Docker refuses a memory limit above the swap limit it set at
    # creation (2x the first memory). Both set, a raise of any size applies.
    for container in program(scenario).ok().of_type(CONTAINER):
        inputs = container["inputs"]
        assert inputs["memory"] >= 64, container["name"]
        assert inputs["memorySwap"] == inputs["memory"], container["name"]


def _seconds(duration: str) -> int:
    assert duration.endswith("s")
    return int(duration[:-1])


def test_every_health_wait_ends_when_docker_gives_up_on_the_container(default):
    # The provider polls for the whole waitTimeout even after Docker marked the
    # container unhealthy: the timeout is when Docker gives up (start period,
    # then `retries` failed probes), plus one interval; not minutes later.
    waited = [c for c in default.of_type(CONTAINER) if c["inputs"].get("wait")]
    assert {label_map(c)["org.library.component"] for c in waited} == {"db", "api", "proxy"}
    for container in waited:
        check, timeout = container["inputs"]["healthcheck"], container["inputs"]["waitTimeout"]
        interval, probe = _seconds(check["interval"]), _seconds(check["timeout"])
        gives_up = _seconds(check["startPeriod"]) + check["retries"] * (interval + probe)
        assert timeout == gives_up + interval, container["name"]
    (api_replica, *_) = default.containers("api")
    assert api_replica["inputs"]["waitTimeout"] <= 60, "an unhealthy replica fails `up` within a minute"


def test_a_replica_that_fails_to_become_healthy_is_reported(default, api):
    # on_error: the provider only says "container failed to be in healthy state"
    for container in api:
        assert container["on_error_hooks"] == ["library-report-unhealthy-api-replica"]
    others = [r for r in default["resources"] if r["on_error_hooks"] and r not in api]
    assert others == []


def test_the_unhealthy_report_gives_the_last_health_check_and_log(infra_health_report):
    inspected = {
        "Name": "/api-0-abc",
        "RestartCount": 2,
        "State": {
            "Status": "running",
            "Health": {
                "Status": "unhealthy",
                "Log": [
                    {"ExitCode": 1, "Output": "older"},
                    {"ExitCode": 1, "Output": "urllib.error.URLError: <urlopen error [Errno 111] Connection refused>"},
                ],
            },
        },
    }
    report = infra_health_report.unhealthy_report(inspected, "ImportError: broken\n")
    assert "api-0-abc is unhealthy (restarted 2 times)" in report
    assert "exit code 1:\nurllib.error.URLError" in report and "older" not in report
    assert report.endswith("Last log lines:\nImportError: broken")


def test_a_new_replica_or_migration_run_sweeps_the_containers_it_replaces(default, api, migration, infra_sweep_hook):
    # after_create: what an interrupted update left (the engine forgets it) goes too.
    for container in api:
        assert container["after_create_hooks"] == ["library-sweep-api"]
    assert migration["after_create_hooks"] == ["library-sweep-migrate"]
    others = [r["name"] for r in default["resources"] if r["after_create_hooks"] and r not in [*api, migration]]
    assert others == []
    labels = {"org.library.project": "library", "org.library.stack": "dev", "org.library.component": "api"}
    # one replica index: scaling in or out never sweeps the other replicas
    assert infra_sweep_hook.stray_filters(labels, "1") == {
        "label": [
            "org.library.component=api",
            "org.library.project=library",
            "org.library.replica=1",
            "org.library.stack=dev",
        ]
    }
    assert "org.library.replica=1" not in infra_sweep_hook.stray_filters(labels, None)["label"]
