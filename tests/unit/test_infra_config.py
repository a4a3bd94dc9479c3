"""Configuration validation of the Pulumi program (infra/settings.py, infra/parsers.py), in-process.

Every bad value must be rejected before any resource is declared, with a
message that names the key and what it accepts; all problems come at once.
"""

from __future__ import annotations

import dataclasses

import pulumi
import pytest


def parse(infra_config, raw=None, **kwargs):
    kwargs.setdefault("project", "library")
    kwargs.setdefault("stack", "dev")
    return infra_config.parse_settings(raw or {}, **kwargs)


def problems_for(infra_config, raw=None, **kwargs) -> list[str]:
    with pytest.raises(infra_config.ConfigError) as caught:
        parse(infra_config, raw, **kwargs)
    return caught.value.problems


def test_defaults_make_a_working_local_stack(infra_config):
    settings = parse(infra_config)
    assert settings.api_replicas == 2
    assert settings.host_port == 8000
    assert settings.bind_address == "127.0.0.1"
    assert settings.python_image == "python:3.11-slim-bookworm"
    assert settings.postgres_image == "postgres:15-bookworm"
    assert settings.api_memory_mb == 512
    assert settings.api_cpus == 1.0
    assert settings.db_memory_mb == 1024
    assert (settings.gunicorn_workers, settings.gunicorn_threads) == (2, 4)
    assert settings.retain_database_volume is True
    assert settings.allowed_hosts == ("localhost", "127.0.0.1")
    assert settings.https is False and settings.production is False
    assert settings.docker_host is None
    assert settings.prefix == "library-dev"
    assert settings.url == "http://127.0.0.1:8000/"
    assert settings.nginx_image == "nginx:1.27-bookworm"
    assert settings.api_image is None, "build the checkout"
    assert settings.tls is False and settings.serves_https is False


def test_settings_are_frozen(infra_config):
    settings = parse(infra_config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.api_replicas = 5  # type: ignore[misc]


def test_values_are_parsed_from_config_strings(infra_config):
    settings = parse(
        infra_config,
        {
            "apiReplicas": " 3 ",
            "hostPort": "18000",
            "bindAddress": "0.0.0.0",
            "apiCpus": "2.5",
            "retainDatabaseVolume": "False",
            "https": "TRUE",
            "allowedHosts": " a.example.com , b.example.com,a.example.com",
        },
    )
    assert settings.api_replicas == 3
    assert settings.host_port == 18000
    assert settings.api_cpus == 2.5
    assert settings.retain_database_volume is False
    assert settings.https is True
    assert settings.allowed_hosts == ("a.example.com", "b.example.com")


# (key, bad value, fragments the message must contain: the key and what it accepts)
BAD_VALUES = [
    ("apiReplicas", "0", ["library:apiReplicas", "integer from 1 to 20", "got 0"]),
    ("apiReplicas", "21", ["library:apiReplicas", "integer from 1 to 20"]),
    ("apiReplicas", "two", ["library:apiReplicas", "integer from 1 to 20", "'two'"]),
    ("apiReplicas", "2.5", ["library:apiReplicas", "integer from 1 to 20"]),
    ("hostPort", "0", ["library:hostPort", "integer from 1 to 65535"]),
    ("hostPort", "65536", ["library:hostPort", "integer from 1 to 65535"]),
    ("hostPort", "http", ["library:hostPort", "integer from 1 to 65535"]),
    ("bindAddress", "localhost", ["library:bindAddress", "IPv4 or IPv6 address", "'localhost'"]),
    ("bindAddress", "256.0.0.1", ["library:bindAddress", "IPv4 or IPv6 address"]),
    ("bindAddress", "", ["library:bindAddress", "IPv4 or IPv6 address"]),
    ("pythonImage", "Python:3.11", ["library:pythonImage", "Docker image reference", "name:tag"]),
    ("pythonImage", "python:", ["library:pythonImage", "Docker image reference"]),
    ("pythonImage", "python 3.11", ["library:pythonImage", "Docker image reference"]),
    ("postgresImage", "https://registry/postgres:15", ["library:postgresImage", "Docker image reference"]),
    ("postgresImage", "", ["library:postgresImage", "Docker image reference"]),
    ("apiMemoryMb", "63", ["library:apiMemoryMb", "integer from 64 to"]),
    ("apiMemoryMb", "512M", ["library:apiMemoryMb", "integer from 64 to"]),
    ("apiCpus", "0", ["library:apiCpus", "greater than 0", "at most 64"]),
    ("apiCpus", "-1", ["library:apiCpus", "greater than 0"]),
    ("apiCpus", "65", ["library:apiCpus", "at most 64"]),
    ("apiCpus", "nan", ["library:apiCpus", "greater than 0"]),
    ("apiCpus", "one", ["library:apiCpus", "number"]),
    ("dbMemoryMb", "127", ["library:dbMemoryMb", "integer from 128 to"]),
    ("gunicornWorkers", "0", ["library:gunicornWorkers", "integer from 1 to 64"]),
    ("gunicornWorkers", "65", ["library:gunicornWorkers", "integer from 1 to 64"]),
    ("gunicornThreads", "0", ["library:gunicornThreads", "integer from 1 to 64"]),
    ("gunicornThreads", "many", ["library:gunicornThreads", "integer from 1 to 64"]),
    ("retainDatabaseVolume", "yes", ["library:retainDatabaseVolume", "true or false", "'yes'"]),
    ("https", "1", ["library:https", "true or false"]),
    ("production", "maybe", ["library:production", "true or false"]),
    ("allowedHosts", "", ["library:allowedHosts", "comma-separated", "no empty entries"]),
    ("allowedHosts", "localhost,,example.com", ["library:allowedHosts", "no empty entries"]),
    ("allowedHosts", "http://example.com", ["library:allowedHosts", "schemes", "'http://example.com'"]),
    ("allowedHosts", "example.com:8000", ["library:allowedHosts", "ports", "'example.com:8000'"]),
    ("allowedHosts", "exa mple.com", ["library:allowedHosts"]),
    ("throttleAnon", "600", ["library:throttleAnon", "N/second|minute|hour|day", "or off", "'600'"]),
    ("throttleAnon", "600/min", ["library:throttleAnon", "N/second|minute|hour|day", "'600/min'"]),
    ("throttleAnon", "0/minute", ["library:throttleAnon", "N >= 1", "'0/minute'"]),
    ("throttleAnon", "-5/minute", ["library:throttleAnon", "N >= 1"]),
    ("throttleAnon", "ten/second", ["library:throttleAnon", "N/second|minute|hour|day"]),
    ("throttleAnon", "", ["library:throttleAnon", "or off", "''"]),
    ("throttleUser", "3000/week", ["library:throttleUser", "N/second|minute|hour|day", "'3000/week'"]),
    ("throttleUser", "none", ["library:throttleUser", "or off", "'none'"]),
    ("throttleUser", "5 / minute", ["library:throttleUser", "N/second|minute|hour|day"]),
]


@pytest.mark.parametrize(("key", "value", "fragments"), BAD_VALUES, ids=[f"{k}={v!r}" for k, v, _ in BAD_VALUES])
def test_each_bad_value_is_rejected_with_key_and_accepted_values(infra_config, key, value, fragments):
    problems = problems_for(infra_config, {key: value})
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], (fragment, problems[0])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5/second", "5/second"),
        (" 600/minute ", "600/minute"),
        ("007/hour", "7/hour"),
        ("100000/day", "100000/day"),
        ("off", "off"),
        ("OFF", "off"),
    ],
)
def test_throttle_rates_are_normalized_for_the_app(infra_config, raw, expected):
    settings = parse(infra_config, {"throttleAnon": raw, "throttleUser": raw})
    assert (settings.throttle_anon, settings.throttle_user) == (expected, expected)


def test_throttle_defaults_match_the_app_defaults(infra_config):
    settings = parse(infra_config)
    assert (settings.throttle_anon, settings.throttle_user) == ("600/minute", "3000/minute")


def test_all_problems_are_reported_at_once(infra_config):
    with pytest.raises(infra_config.ConfigError) as caught:
        parse(
            infra_config,
            {"apiReplicas": "0", "hostPort": "x", "bindAddress": "nowhere", "https": "sure"},
            docker_host="http://docker",
        )
    error = caught.value
    assert len(error.problems) == 5
    message = str(error)
    assert message.startswith("invalid stack configuration (5 problems)")
    for key in ("library:apiReplicas", "library:hostPort", "library:bindAddress", "library:https", "docker:host"):
        assert key in message
    assert "docs/deploy.md" in message


def test_config_error_is_a_run_error_so_the_cli_prints_no_traceback(infra_config):
    assert issubclass(infra_config.ConfigError, pulumi.RunError)


def test_only_the_proxy_publishes_a_port_so_replicas_do_not_limit_it(infra_config):
    settings = parse(infra_config, {"hostPort": "65535", "apiReplicas": "20"})
    assert settings.url == "http://127.0.0.1:65535/"


FAKE_CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----"
FAKE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----"


def test_tls_at_the_proxy_takes_a_certificate_and_a_secret_key(infra_config):
    settings = parse(
        infra_config,
        {"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": FAKE_KEY, "hostPort": "8443", "allowedHosts": "a.example.com"},
        secret_keys=["tlsKey"],
    )
    assert settings.tls and settings.serves_https and settings.https is False
    assert settings.url == "https://127.0.0.1:8443/"
    assert settings.csrf_trusted_origins == ("https://a.example.com:8443",)
    assert settings.tls_key.startswith("-----BEGIN PRIVATE KEY-----")
    # repr() escapes the newlines, so look for one line of the key, not the whole key.
    assert "MIIEfake" not in repr(settings), "the key must not show up in a repr or a traceback"
    on_443 = parse(infra_config, {"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": FAKE_KEY, "hostPort": "443"})
    assert on_443.csrf_trusted_origins == ("https://localhost", "https://127.0.0.1")


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ({"tlsCertificate": FAKE_CERTIFICATE}, ["library:tlsKey", "library:tlsCertificate is set", "or neither"]),
        ({"tlsKey": FAKE_KEY}, ["library:tlsCertificate", "library:tlsKey is set"]),
        ({"tlsCertificate": "not a pem", "tlsKey": FAKE_KEY}, ["library:tlsCertificate", "PEM certificate"]),
        ({"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": "secret"}, ["library:tlsKey", "PEM private key"]),
        (
            {"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": FAKE_KEY.replace("PRIVATE", "ENCRYPTED PRIVATE")},
            ["library:tlsKey", "passphrase"],
        ),
    ],
)
def test_tls_needs_both_pem_parts(infra_config, raw, fragments):
    problems = problems_for(infra_config, raw, secret_keys=["tlsKey"])
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0]
    assert "MIIEfake" not in problems[0], "a problem message must not quote the key"


def test_tls_key_must_be_a_secret(infra_config):
    problems = problems_for(infra_config, {"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": FAKE_KEY}, secret_keys=[])
    assert len(problems) == 1
    assert "library:tlsKey: must be a secret" in problems[0] and "--secret" in problems[0]


@pytest.mark.parametrize("image", ["sha256:" + "d" * 64, "library-api:dev", "registry.example.com/library-api:v3"])
def test_api_image_takes_an_image_id_or_reference(infra_config, image):
    assert parse(infra_config, {"apiImage": f" {image} "}).api_image == image


@pytest.mark.parametrize(
    ("image", "production", "fragment"),
    [
        ("https://registry/app:1", "false", "Docker image reference"),
        ("Library API", "false", "Docker image reference"),
        ("library-api:latest", "true", "pinned"),
    ],
)
def test_bad_api_images_are_rejected(infra_config, image, production, fragment):
    problems = problems_for(infra_config, {"apiImage": image, "production": production, "pythonImage": "python:3.11"})
    assert len(problems) == 1 and problems[0].startswith("library:apiImage:") and fragment in problems[0]


def test_nginx_image_is_checked_like_the_others(infra_config):
    problems = problems_for(
        infra_config,
        {"nginxImage": "nginx", "production": "true", "pythonImage": "python:3.11", "postgresImage": "postgres:15"},
    )
    assert len(problems) == 1 and problems[0].startswith("library:nginxImage:")


@pytest.mark.parametrize(
    "image",
    [
        "postgres:15-bookworm",
        "postgres",
        "library-base/python:bookworm",
        "registry.example.com:5000/team/app:1.0.3",
        "localhost/app_name:v1",
        "ghcr.io/org/sub/image:2024.01",
        "postgres@sha256:" + "a" * 64,
        "postgres:15@sha256:" + "b" * 64,
    ],
)
def test_valid_image_references_are_accepted(infra_config, image):
    assert parse(infra_config, {"postgresImage": image, "pythonImage": image}).postgres_image == image


@pytest.mark.parametrize("image", ["postgres", "postgres:latest", "registry.example.com/app:latest"])
def test_production_rejects_unpinned_images(infra_config, image):
    problems = problems_for(infra_config, {"production": "true", "pythonImage": image})
    assert len(problems) == 1
    assert "library:pythonImage" in problems[0]
    assert "pinned" in problems[0] and "latest" in problems[0]
    # the same image is fine outside production
    assert parse(infra_config, {"pythonImage": image}).python_image == image


@pytest.mark.parametrize("image", ["postgres:15.7-bookworm", "postgres@sha256:" + "c" * 64])
def test_production_accepts_pinned_images(infra_config, image):
    settings = parse(infra_config, {"production": "true", "postgresImage": image, "pythonImage": "python:3.11.9"})
    assert settings.production and settings.postgres_image == image


def test_production_checks_both_images(infra_config):
    problems = problems_for(
        infra_config, {"production": "true", "pythonImage": "python", "postgresImage": "postgres:latest"}
    )
    assert [p.split(":")[1] for p in problems] == ["pythonImage", "postgresImage"]


@pytest.mark.parametrize(
    "host",
    [
        "unix:///var/run/docker.sock",
        "tcp://10.0.0.5:2376",
        "ssh://deploy@host.example.com",
        "npipe:////./pipe/docker_engine",
    ],
)
def test_valid_docker_hosts(infra_config, host):
    assert parse(infra_config, docker_host=host).docker_host == host


@pytest.mark.parametrize("host", ["http://host:2375", "/var/run/docker.sock", "ssh://", "host.example.com", ""])
def test_invalid_docker_hosts(infra_config, host):
    problems = problems_for(infra_config, docker_host=host)
    assert len(problems) == 1
    assert problems[0].startswith("docker:host:")
    for scheme in ("unix://", "tcp://", "ssh://", "npipe://"):
        assert scheme in problems[0]


def test_misspelt_keys_are_reported_with_a_suggestion(infra_config):
    problems = problems_for(infra_config, all_keys=["apiReplicas", "hostport"])
    assert len(problems) == 1
    assert "library:hostport: unknown key" in problems[0]
    assert "did you mean library:hostPort?" in problems[0]


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "http://localhost:8000/"),
        ("::", "http://localhost:8000/"),
        ("::1", "http://[::1]:8000/"),
        ("[::1]", "http://[::1]:8000/"),
        ("2001:db8::0:1", "http://[2001:db8::1]:8000/"),
        ("192.168.1.10", "http://192.168.1.10:8000/"),
    ],
)
def test_url_uses_the_bind_address_and_brackets_ipv6(infra_config, bind, url):
    assert parse(infra_config, {"bindAddress": bind}).url == url


def test_csrf_trusted_origins_follow_hosts_ports_and_scheme(infra_config):
    plain = parse(infra_config, {"allowedHosts": "localhost,.example.com,*", "apiReplicas": "2"})
    assert plain.csrf_trusted_origins == ("http://localhost:8000", "http://*.example.com:8000")
    tls = parse(infra_config, {"allowedHosts": "api.example.com,.example.com", "https": "true"})
    assert tls.csrf_trusted_origins == ("https://api.example.com", "https://*.example.com")


def test_defaults_table_lists_every_key_once(infra_config):
    assert list(infra_config.DEFAULTS) == [
        "apiReplicas",
        "hostPort",
        "bindAddress",
        "pythonImage",
        "apiImage",
        "postgresImage",
        "nginxImage",
        "apiMemoryMb",
        "apiCpus",
        "dbMemoryMb",
        "gunicornWorkers",
        "gunicornThreads",
        "retainDatabaseVolume",
        "allowedHosts",
        "https",
        "tlsCertificate",
        "tlsKey",
        "production",
        "throttleAnon",
        "throttleUser",
        "publicOrigin",
        "platform",
        "imageRepository",
        "registryUsername",
        "registryPassword",
    ]


# (key, lowest, highest): each bound is accepted, one past it refused.
INTEGER_BOUNDS = [
    ("apiReplicas", 1, 20),
    ("hostPort", 1, 65535),
    ("apiMemoryMb", 64, 262144),
    ("dbMemoryMb", 128, 1048576),
    ("gunicornWorkers", 1, 64),
    ("gunicornThreads", 1, 64),
]


@pytest.mark.parametrize(("key", "lowest", "highest"), INTEGER_BOUNDS, ids=[k for k, _, _ in INTEGER_BOUNDS])
def test_integer_keys_take_their_bounds_and_nothing_beyond(infra_config, key, lowest, highest):
    field = dict(infra_config.KEYS)
    name = next(name for name, k in field.items() if k.name == key)
    assert getattr(parse(infra_config, {key: str(lowest)}), name) == lowest
    assert getattr(parse(infra_config, {key: str(highest)}), name) == highest
    for outside in (lowest - 1, highest + 1):
        (problem,) = problems_for(infra_config, {key: str(outside)})
        assert problem == f"library:{key}: must be an integer from {lowest} to {highest}, got {outside}"


def test_cpu_and_rate_bounds_are_inclusive(infra_config):
    assert parse(infra_config, {"apiCpus": "64"}).api_cpus == 64.0
    assert parse(infra_config, {"apiCpus": "0.001"}).api_cpus == 0.001
    assert parse(infra_config, {"throttleAnon": "1/minute"}).throttle_anon == "1/minute"


def test_bracketed_addresses_need_both_brackets(infra_config):
    assert parse(infra_config, {"bindAddress": "[::1]"}).bind_address == "::1"
    for half in ("[10.0.0.12", "10.0.0.12]"):
        (problem,) = problems_for(infra_config, {"bindAddress": half})
        assert problem.startswith("library:bindAddress: must be an IPv4 or IPv6 address")


def test_tls_texts_are_kept_with_a_final_newline_and_stay_out_of_reprs(infra_config):
    settings = parse(infra_config, {"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": FAKE_KEY}, secret_keys=["tlsKey"])
    assert settings.tls_certificate == FAKE_CERTIFICATE + "\n"
    assert settings.tls_key == FAKE_KEY + "\n"
    shown = repr(settings)
    assert "api_replicas=2" in shown and "MIIBfake" not in shown and "MIIEfake" not in shown


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"tlsCertificate": "-----BEGIN CERTIFICATE-----\nMIIBfake", "tlsKey": FAKE_KEY},
            "library:tlsCertificate: must be a PEM certificate (chain) with -----BEGIN CERTIFICATE----- ... "
            "-----END CERTIFICATE-----",
        ),
        (
            {"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": "-----BEGIN PRIVATE KEY-----\nMIIEfake"},
            "library:tlsKey: must be a PEM private key (-----BEGIN PRIVATE KEY----- ...)",
        ),
        (
            {"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": FAKE_KEY.replace("PRIVATE", "ENCRYPTED PRIVATE")},
            "library:tlsKey: must not be passphrase-protected (nginx would ask for the passphrase)",
        ),
    ],
)
def test_half_or_wrong_pem_texts_are_refused_exactly(infra_config, raw, message):
    assert problems_for(infra_config, raw, secret_keys=["tlsKey"]) == [message]


@pytest.mark.parametrize(
    ("https", "tls", "in_front"), [("true", False, True), ("true", True, False), ("false", False, False)]
)
def test_tls_in_front_means_https_without_tls_here(infra_config, https, tls, in_front):
    raw = {"https": https, **({"tlsCertificate": FAKE_CERTIFICATE, "tlsKey": FAKE_KEY} if tls else {})}
    assert parse(infra_config, raw).tls_in_front is in_front


def test_image_names_are_at_most_255_characters(infra_config):
    longest = "a" * 255
    assert parse(infra_config, {"pythonImage": f"{longest}:1"}).python_image == f"{longest}:1"
    (problem,) = problems_for(infra_config, {"pythonImage": f"a{longest}:1"})
    assert problem.startswith("library:pythonImage: must be a Docker image reference")


def test_only_well_formed_references_count_as_pinned():
    from image_reference import is_pinned

    assert is_pinned("postgres:15") and is_pinned("postgres@sha256:" + "a" * 64)
    assert not is_pinned("postgres") and not is_pinned("postgres:latest")
    assert is_pinned("Bad Ref:15") is False, "a malformed reference is not pinned, whatever its tag"


def test_an_unknown_key_without_a_close_match_lists_the_known_ones(infra_config):
    (problem,) = problems_for(infra_config, all_keys=["zzz"])
    assert problem.startswith("library:zzz: unknown key Known keys: apiReplicas, hostPort, ")


def test_the_error_lists_one_problem_a_line(infra_config):
    with pytest.raises(infra_config.ConfigError) as caught:
        parse(infra_config, {"apiReplicas": "0", "https": "sure"})
    lines = str(caught.value).splitlines()
    assert lines[0] == "invalid stack configuration (2 problems):"
    assert lines[1].startswith("  - library:apiReplicas: ") and lines[2].startswith("  - library:https: ")


@pytest.mark.parametrize(
    "config, origin",
    [
        ({}, "http://127.0.0.1:8000"),  # the bind address, as the `url` output
        ({"bindAddress": "0.0.0.0"}, "http://localhost:8000"),  # every interface: the first named allowed host
        ({"bindAddress": "0.0.0.0", "allowedHosts": ".example.com,*"}, "http://localhost:8000"),  # none: url's
        ({"bindAddress": "0.0.0.0", "allowedHosts": "api.example.com", "hostPort": "80"}, "http://api.example.com"),
        ({"allowedHosts": "api.example.com", "https": "true"}, "https://api.example.com"),  # a TLS proxy in front
        ({"publicOrigin": "https://library.example.com:8443/"}, "https://library.example.com:8443"),
    ],
)
def test_the_public_origin_of_the_apis_links(infra_config, config, origin):
    # Absolute links (pagination) come from the stack's configuration, never the request's Host.
    assert parse(infra_config, config).public_origin == origin


def test_the_public_origin_with_tls_at_the_proxy(infra_config):
    config = {
        "allowedHosts": "library.example.com",
        "bindAddress": "0.0.0.0",
        "tlsCertificate": FAKE_CERTIFICATE,
        "tlsKey": FAKE_KEY,
    }
    assert parse(infra_config, {**config, "hostPort": "443"}, secret_keys=["tlsKey"]).public_origin == (
        "https://library.example.com"
    )
    assert parse(infra_config, {**config, "hostPort": "8443"}, secret_keys=["tlsKey"]).public_origin == (
        "https://library.example.com:8443"
    )


@pytest.mark.parametrize(
    "value", ["library.example.com", "ftp://example.com", "https://example.com/api", "https://example.com:99999"]
)
def test_a_public_origin_that_is_not_one_is_refused(infra_config, value):
    with pytest.raises(infra_config.ConfigError, match="library:publicOrigin: must be empty or an origin"):
        parse(infra_config, {"publicOrigin": value})


# ---------------------------------------------------------------------- registry

REPOSITORY = "registry.example.com:5000/team/library-api"
FAKE_PASSWORD = "s3cr3t-Tok3n"


def test_no_registry_by_default(infra_config):
    settings = parse(infra_config)
    assert settings.image_repository is None
    assert settings.registry_username is None and settings.registry_password is None


@pytest.mark.parametrize(
    "repository",
    [
        REPOSITORY,
        "localhost:5000/library-api",
        "localhost/library-api",
        "192.168.1.10:5000/library-api",
        "ghcr.io/org/sub/library-api",
        "docker.io/team/library-api",
    ],
)
def test_image_repository_takes_a_repository_named_with_its_registry(infra_config, repository):
    assert parse(infra_config, {"imageRepository": f" {repository} "}).image_repository == repository


BAD_REPOSITORIES = [
    ("library-api", "its registry"),
    ("team/library-api", "its registry"),
    (REPOSITORY + ":v1", "no tag or digest"),
    (REPOSITORY + "@sha256:" + "a" * 64, "no tag or digest"),
    ("docker.io/library-api", "docker.io/<user or organisation>/<name>"),
    ("index.docker.io/team/library-api", "docker.io/<user or organisation>/<name>"),
    ("https://registry.example.com/library-api", "repository"),
    ("registry.example.com/Team/API", "repository"),
]


@pytest.mark.parametrize(("repository", "fragment"), BAD_REPOSITORIES, ids=[r for r, _ in BAD_REPOSITORIES])
def test_bad_image_repositories_are_refused_with_the_key(infra_config, repository, fragment):
    (problem,) = problems_for(infra_config, {"imageRepository": repository})
    assert problem.startswith("library:imageRepository: must be empty (no registry) or a repository"), problem
    assert fragment in problem and repr(repository) in problem


def test_registry_credentials_take_a_secret_password(infra_config):
    settings = parse(
        infra_config,
        {"imageRepository": REPOSITORY, "registryUsername": "ci", "registryPassword": FAKE_PASSWORD},
        secret_keys=["registryPassword"],
    )
    assert (settings.registry_username, settings.registry_password) == ("ci", FAKE_PASSWORD)
    assert FAKE_PASSWORD not in repr(settings), "the password must not show up in a repr or a traceback"


def test_registry_password_must_be_a_secret(infra_config):
    raw = {"imageRepository": REPOSITORY, "registryUsername": "ci", "registryPassword": FAKE_PASSWORD}
    assert problems_for(infra_config, raw, secret_keys=[]) == [
        "library:registryPassword: must be a secret, or it sits in plain text in the stack file: "
        "`pulumi config set --secret registryPassword`"
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"registryUsername": "ci"},
            "library:registryPassword: library:registryUsername is set, so library:registryPassword is needed "
            "too: a registry login takes both a username and its password (or token), or neither (then the "
            "deploying machine's Docker credentials are used)",
        ),
        (
            {"registryPassword": FAKE_PASSWORD},
            "library:registryUsername: library:registryPassword is set, so library:registryUsername is needed "
            "too: a registry login takes both a username and its password (or token), or neither (then the "
            "deploying machine's Docker credentials are used)",
        ),
    ],
)
def test_registry_login_takes_both_parts(infra_config, raw, message):
    problems = problems_for(infra_config, {"imageRepository": REPOSITORY, **raw}, secret_keys=["registryPassword"])
    assert problems == [message]


def test_registry_credentials_need_a_repository(infra_config):
    problems = problems_for(
        infra_config, {"registryUsername": "ci", "registryPassword": FAKE_PASSWORD}, secret_keys=["registryPassword"]
    )
    assert problems == [
        "library:registryUsername: is set but library:imageRepository is empty: nothing is pushed, so there is "
        "nothing to log in to",
        "library:registryPassword: is set but library:imageRepository is empty: nothing is pushed, so there is "
        "nothing to log in to",
    ]
    assert FAKE_PASSWORD not in str(infra_config.ConfigError(problems))
