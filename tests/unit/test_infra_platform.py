"""The platform the service image is built for (infra/app_image.py, `library:platform`).

pulumi-docker builds for the machine running pulumi unless told; the program
tells it the engine's platform, or the `platform` key. The unit tier has no
engine (tests/unit/infra_helpers.py points DOCKER_HOST at nothing).
"""

from __future__ import annotations

import contextlib

import pulumi
import pytest

from tests.conftest import load_infra_module

IMAGE = "docker:index/image:Image"


@pytest.fixture(scope="module")
def app_image():
    return load_infra_module("app_image")


@pytest.fixture(scope="module")
def de():
    return load_infra_module("docker_engine")


def build_of(run) -> dict:
    (image,) = run.of_type(IMAGE)
    return image["inputs"]["build"]


# --- the key ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/386", "linux/ppc64le"])
def test_platform_key_accepts_the_base_images_platforms(infra_config, value):
    settings = infra_config.parse_settings({"platform": f" {value} "}, project="library", stack="dev")
    assert settings.platform == value


def test_platform_key_defaults_to_the_engines(infra_config):
    assert infra_config.parse_settings({}, project="library", stack="dev").platform is None


@pytest.mark.parametrize("value", ["amd64", "linux/x86_64", "windows/amd64", "linux/arm64/v8", "Linux/amd64", "linux"])
def test_platform_key_refuses_anything_else_precisely(infra_config, value):
    with pytest.raises(infra_config.ConfigError) as caught:
        infra_config.parse_settings({"platform": value}, project="library", stack="dev")
    assert caught.value.problems == [
        "library:platform: must be empty (build for the Docker engine's own platform) or one of linux/amd64, "
        f"linux/arm64, linux/arm/v7, linux/386, linux/ppc64le, linux/s390x, got {value!r}"
    ]


# --- what the engine says ---------------------------------------------------------------


class FakeEngineClient:
    def __init__(self, version, info=None):
        self._version, self._info = version, info or {}

    def version(self):
        return self._version

    def info(self):
        return self._info


@pytest.mark.parametrize(
    ("version", "info", "platform"),
    [
        ({"Os": "linux", "Arch": "amd64"}, {"Architecture": "x86_64"}, "linux/amd64"),
        ({"Os": "linux", "Arch": "arm64"}, {"Architecture": "aarch64"}, "linux/arm64"),
        ({"Os": "linux", "Arch": "arm"}, {"Architecture": "armv7l"}, "linux/arm/v7"),
        ({"Os": "linux", "Arch": "arm"}, {"Architecture": "armv6l"}, "linux/arm/v6"),
    ],
)
def test_engine_platform_is_its_os_and_arch_with_the_arm_variant(de, version, info, platform):
    assert de.engine_platform(FakeEngineClient(version, info)) == platform


class Log:
    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def warn(self, msg):
        self.lines.append(("warn", msg))

    def info(self, msg):
        self.lines.append(("info", msg))


def clients(engine_client_answer=None, error=None):
    asked = []

    @contextlib.contextmanager
    def client_for(engine, timeout):
        asked.append(engine)
        if error:
            raise error
        yield engine_client_answer

    return client_for, asked


def test_the_engine_is_asked_through_the_providers_connection(app_image, de):
    engine = de.Engine(host="ssh://deploy@arm-host", ssh_opts=("-i", "k"))
    client_for, asked = clients(FakeEngineClient({"Os": "linux", "Arch": "arm64"}))
    log = Log()
    assert app_image.probe_platform(engine, dry_run=False, client_for=client_for, log=log) == "linux/arm64"
    assert asked == [engine]
    assert log.lines == [
        (
            "info",
            "building the service image for linux/arm64, the platform of the Docker engine at ssh://deploy@arm-host",
        )
    ]


def test_a_preview_that_cannot_ask_leaves_the_platform_unknown(app_image, de):
    client_for, _ = clients(error=ConnectionError("ssh: connect to host arm-host port 22: Connection refused"))
    log = Log()
    result = app_image.probe_platform(de.Engine(host="ssh://arm-host"), dry_run=True, client_for=client_for, log=log)
    assert result is pulumi.UNKNOWN
    assert log.lines == [
        (
            "warn",
            "could not ask the Docker engine at ssh://arm-host for its platform (ConnectionError: ssh: connect to "
            "host arm-host port 22: Connection refused); the image's platform stays unknown until `pulumi up` asks "
            "again",
        )
    ]


def test_an_update_or_destroy_that_cannot_ask_goes_on_and_says_so(app_image, de):
    client_for, _ = clients(error=OSError("gone"))
    log = Log()
    engine = de.Engine(host="tcp://h:2376")
    assert app_image.probe_platform(engine, dry_run=False, client_for=client_for, log=log) is None
    assert log.lines[0][0] == "warn" and "Set `library:platform` to choose" in log.lines[0][1]


# --- what reaches docker.Image (the program under mocks) ------------------------------------


def test_the_platform_key_reaches_the_build_and_no_engine_is_asked(run_program):
    run = run_program({"stack": "dev", "config": {"library:platform": "linux/arm64"}}).ok()
    assert build_of(run)["platform"] == "linux/arm64"
    assert not [line for line in run["logs"] if "platform" in line]


def test_the_custom_stack_on_an_ssh_host_builds_for_its_key(program):
    assert build_of(program("custom").ok())["platform"] == "linux/arm64"


def test_without_an_engine_to_ask_the_update_warns_and_goes_on(program):
    run = program("default").ok()
    assert "platform" not in build_of(run)
    assert any("could not ask the Docker engine at" in line and "library:platform" in line for line in run["logs"])


def test_without_an_engine_to_ask_the_preview_shows_it_unknown(program):
    run = program("preview").ok()
    assert "platform" in build_of(run) and build_of(run)["platform"] not in (None, "linux/amd64")
    assert any("stays unknown until `pulumi up`" in line for line in run["logs"])


def test_a_rollback_builds_nothing_and_asks_nothing(program):
    run = program("rollback").ok()
    assert run.of_type(IMAGE) == []
    assert not [line for line in run["logs"] if "platform" in line]
