"""Configuration validation of the Pulumi program (infra/config.py), in-process.

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
    assert settings.host_ports == (8000, 8001)
    assert settings.urls == ("http://127.0.0.1:8000/", "http://127.0.0.1:8001/")
    assert settings.url == "http://127.0.0.1:8000/"


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
    assert settings.host_ports == (18000, 18001, 18002)
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
]


@pytest.mark.parametrize(("key", "value", "fragments"), BAD_VALUES, ids=[f"{k}={v!r}" for k, v, _ in BAD_VALUES])
def test_each_bad_value_is_rejected_with_key_and_accepted_values(infra_config, key, value, fragments):
    problems = problems_for(infra_config, {key: value})
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], (fragment, problems[0])


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


def test_replica_ports_must_stay_in_range(infra_config):
    assert parse(infra_config, {"hostPort": "65534", "apiReplicas": "2"}).host_ports == (65534, 65535)
    problems = problems_for(infra_config, {"hostPort": "65535", "apiReplicas": "2"})
    assert len(problems) == 1
    assert "library:hostPort" in problems[0] and "at most 65534" in problems[0]


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
    ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2376", "ssh://deploy@host.example.com", "npipe:////./pipe/docker_engine"],
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


def test_urls_one_per_replica(infra_config):
    settings = parse(infra_config, {"apiReplicas": "3", "hostPort": "9000", "bindAddress": "::1"})
    assert settings.urls == ("http://[::1]:9000/", "http://[::1]:9001/", "http://[::1]:9002/")


def test_csrf_trusted_origins_follow_hosts_ports_and_scheme(infra_config):
    plain = parse(infra_config, {"allowedHosts": "localhost,.example.com,*", "apiReplicas": "2"})
    assert plain.csrf_trusted_origins == (
        "http://localhost:8000",
        "http://localhost:8001",
        "http://*.example.com:8000",
        "http://*.example.com:8001",
    )
    tls = parse(infra_config, {"allowedHosts": "api.example.com,.example.com", "https": "true"})
    assert tls.csrf_trusted_origins == ("https://api.example.com", "https://*.example.com")


def test_defaults_table_lists_every_key_once(infra_config):
    assert list(infra_config.DEFAULTS) == [
        "apiReplicas",
        "hostPort",
        "bindAddress",
        "pythonImage",
        "postgresImage",
        "apiMemoryMb",
        "apiCpus",
        "dbMemoryMb",
        "gunicornWorkers",
        "gunicornThreads",
        "retainDatabaseVolume",
        "allowedHosts",
        "https",
        "production",
    ]
