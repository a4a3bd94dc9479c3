"""The CrossGuard policy pack (policy/): every policy, passing and failing, and
the program's own resources.

The Pulumi CLI is not needed: each policy is a plain validator function,
called here with the same argument objects pulumi_policy builds for it
(ResourceValidationArgs, props wrapped in the SDK's unknown-checking proxy,
PolicyResourceOptions) and a collecting report_violation. The stack config
reaches the policies the way the CLI passes it, through PULUMI_CONFIG.

The program's own resources come from a run of infra/ under Pulumi mocks by
tests/harness/fake.py (one process per run), whose recorded inputs are
fed to every validator.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "pulumi_policy",
    reason="pulumi_policy is not installed: pip install pulumi-policy==1.21.0 (pinned in requirements-dev.txt)",
)

from pulumi.runtime import config as runtime_config  # noqa: E402
from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import (  # noqa: E402
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    unknown_checking_proxy,
)

REPO = Path(__file__).resolve().parents[2]
POLICY_DIR = REPO / "policy"
UNIT_DIR = REPO / "tests" / "unit"
for _path in (POLICY_DIR, UNIT_DIR):  # unique module names: library_policy, infra_helpers
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import library_policy  # noqa: E402
from infra_helpers import ProgramRun, run_programs  # noqa: E402
from library_policy import props as policy_props  # noqa: E402

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
IMAGE_ID = "sha256:" + "ab" * 32


# --------------------------------------------------------------------------- helpers


def lbl(**pairs: Any) -> list[dict]:
    """labels input: lbl(component="api") -> [{label: org.library.component, value: api}]."""
    names = {"component": "org.library.component", "retain": "org.library.retain"}
    return [{"label": names.get(key, key), "value": value} for key, value in pairs.items()]


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=None,
    )


def make_args(
    resource_type: str,
    props: dict,
    *,
    name: str = "res",
    policy_config: dict | None = None,
    protect: bool = False,
) -> ResourceValidationArgs:
    """The args pulumi_policy's analyzer builds (props behind its unknown-checking proxy)."""
    urn = f"urn:pulumi:test::library::{resource_type}::{name}"
    return ResourceValidationArgs(
        resource_type,
        unknown_checking_proxy(copy.deepcopy(props)),
        urn,
        name,
        options(protect),
        None,
        policy_config,
    )


def violations(policy: str, resource_type: str, props: dict, **kwargs: Any) -> list[str]:
    """Messages one policy reports for one resource (a fake report_violation collector)."""
    reported: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        assert isinstance(message, str) and message
        reported.append(message)

    result = library_policy.VALIDATORS[policy](make_args(resource_type, props, **kwargs), report_violation)
    assert result is None  # synchronous validators
    return reported


def all_violations(resource_type: str, props: dict, **kwargs: Any) -> dict[str, list[str]]:
    """{policy: messages} over every policy, only the ones that reported."""
    found = {name: violations(name, resource_type, props, **kwargs) for name in library_policy.VALIDATORS}
    return {name: messages for name, messages in found.items() if messages}


@pytest.fixture(autouse=True)
def stack_config(monkeypatch):
    """Set the stack config the policies see (as the CLI does: PULUMI_CONFIG).

    Starts empty: no PULUMI_CONFIG*, and nothing of ours in the runtime config.
    """
    for key in list(os.environ):
        if key == "PULUMI_CONFIG" or key.startswith("PULUMI_CONFIG_LIBRARY_"):
            monkeypatch.delenv(key)
    assert not [k for k in runtime_config.CONFIG.get() if str(k).startswith("library:")], (
        "the in-process Pulumi runtime config already holds library:* keys"
    )

    def set_config(values: dict[str, Any]) -> None:
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))

    return set_config


def api_container(**overrides: Any) -> dict:
    """An API replica's inputs as this program declares them (infra/api.py)."""
    props = {
        "name": "library-dev-api-0",
        "image": IMAGE_ID,
        "ports": [{"internal": 8000.0, "external": 8000.0, "ip": "127.0.0.1", "protocol": "tcp"}],
        "healthcheck": {"tests": ["CMD", "python", "-c", "..."], "interval": "5s", "retries": 3.0},
        "readOnly": True,
        "capabilities": {"drops": ["ALL"]},
        "securityOpts": ["no-new-privileges:true"],
        "labels": lbl(component="api", **{"org.library.replica": "0"}),
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


def db_container(**overrides: Any) -> dict:
    props = {
        "name": "library-dev-db",
        "image": IMAGE_ID,
        "healthcheck": {"tests": ["CMD", "pg_isready"]},
        "labels": lbl(component="db"),
        "volumes": [{"volumeName": "library-dev-pgdata", "containerPath": "/var/lib/postgresql/data"}],
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


def db_volume(**overrides: Any) -> dict:
    props = {"name": "library-dev-pgdata", "labels": lbl(component="volume")}
    props.update(overrides)
    return props


# ------------------------------------------------------------- the pack's structure


def test_every_policy_is_mandatory_and_wraps_its_validator():
    policies = library_policy.policies()
    assert [p.name for p in policies] == list(library_policy.VALIDATORS)
    assert len({p.name for p in policies}) == len(policies) == 8
    for policy in policies:
        assert isinstance(policy, ResourceValidationPolicy)
        assert policy.enforcement_level == EnforcementLevel.MANDATORY
        assert policy.description


def test_policy_object_reports_through_the_sdk_path():
    """ResourceValidationPolicy.validate (what the analyzer calls) runs our validator."""
    (policy,) = [p for p in library_policy.policies() if p.name == "no-privileged-containers"]
    reported: list[str] = []
    policy.validate(make_args(CONTAINER, api_container(privileged=True)), lambda m, u=None: reported.append(m))
    assert len(reported) == 1 and "privileged" in reported[0]


def test_pack_files_are_consistent():
    main = (POLICY_DIR / "__main__.py").read_text()
    compile(main, "policy/__main__.py", "exec")
    assert "EnforcementLevel.MANDATORY" in main and "policies()" in main
    requirements = (POLICY_DIR / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements
    infra_pulumi = [
        word for word in (REPO / "infra" / "requirements.txt").read_text().split() if word.startswith("pulumi==")
    ]
    assert infra_pulumi and infra_pulumi[0] in requirements  # same SDK as the program
    yaml_text = (POLICY_DIR / "PulumiPolicy.yaml").read_text()
    assert "name: python" in yaml_text and "virtualenv:" in yaml_text
    pinned = json.loads((POLICY_DIR / "production.json").read_text())
    assert pinned == {"pinned-images-in-production": {"production": True}}
    assert "production" in library_policy.images.CONFIG_SCHEMA_PROPERTIES


# ------------------------------------------------------------------ 1. privileged


def test_privileged_container_is_rejected():
    assert violations("no-privileged-containers", CONTAINER, db_container(privileged=True))
    assert violations("no-privileged-containers", CONTAINER, {"image": "busybox:1", "privileged": True})


@pytest.mark.parametrize("value", [False, None])
def test_unprivileged_container_passes(value):
    assert violations("no-privileged-containers", CONTAINER, api_container(privileged=value)) == []


def test_privileged_is_only_checked_on_containers():
    assert violations("no-privileged-containers", VOLUME, {"privileged": True}) == []


# ---------------------------------------------------------------- 2. host network


@pytest.mark.parametrize("mode", ["host", "HOST"])
def test_host_network_is_rejected(mode):
    messages = violations("no-host-network", CONTAINER, api_container(networkMode=mode))
    assert len(messages) == 1 and "networkMode=host" in messages[0]


@pytest.mark.parametrize("mode", [None, "bridge", "container:other", "none"])
def test_other_network_modes_pass(mode):
    assert violations("no-host-network", CONTAINER, api_container(networkMode=mode)) == []


# ----------------------------------------------------------- 3. database host port


def test_database_without_ports_passes():
    assert violations("no-database-host-port", CONTAINER, db_container()) == []


def test_labelled_database_with_host_port_is_rejected():
    ports = [{"internal": 5432.0, "external": 5432.0, "ip": "0.0.0.0", "protocol": "tcp"}]
    (message,) = violations("no-database-host-port", CONTAINER, db_container(ports=ports))
    assert "5432->5432" in message and "org.library.component=db" in message


def test_database_port_without_external_is_a_random_host_port():
    (message,) = violations("no-database-host-port", CONTAINER, db_container(ports=[{"internal": 5432.0}]))
    assert "5432->random" in message


def test_database_publish_all_ports_is_rejected():
    assert violations("no-database-host-port", CONTAINER, db_container(publishAllPorts=True))


@pytest.mark.parametrize(
    "image",
    ["postgres:15-bookworm", "postgres", "registry.example.com:5000/db/postgres:15.7", "bitnami/postgresql:16"],
)
def test_unlabelled_postgres_image_with_host_port_is_rejected(image):
    props = {"image": image, "ports": [{"internal": 5432.0, "external": 15432.0}]}
    (message,) = violations("no-database-host-port", CONTAINER, props)
    assert "looks like PostgreSQL" in message


@pytest.mark.parametrize("image", ["nginx:1.27", IMAGE_ID, "registry.example.com:5000/postgres-tools/api:1"])
def test_other_containers_may_publish_ports(image):
    props = {"image": image, "ports": [{"internal": 80.0, "external": 8080.0}], "labels": lbl(component="api")}
    assert violations("no-database-host-port", CONTAINER, props) == []


# -------------------------------------------------------------- 4. API healthcheck


def test_api_with_healthcheck_passes():
    assert violations("api-healthcheck-required", CONTAINER, api_container()) == []


@pytest.mark.parametrize("healthcheck", [None, {}, {"tests": []}, {"tests": ["NONE"]}])
def test_api_without_healthcheck_is_rejected(healthcheck):
    assert violations("api-healthcheck-required", CONTAINER, api_container(healthcheck=healthcheck))


def test_healthcheck_is_only_required_of_api_containers():
    assert violations("api-healthcheck-required", CONTAINER, db_container(healthcheck=None)) == []
    assert violations("api-healthcheck-required", CONTAINER, {"image": "busybox:1"}) == []


# ------------------------------------------------- 5. API read-only root, capabilities


def test_hardened_api_passes():
    assert violations("api-read-only-root-fs", CONTAINER, api_container()) == []
    assert violations("api-no-added-capabilities", CONTAINER, api_container()) == []


@pytest.mark.parametrize("read_only", [None, False])
def test_api_with_writable_root_is_rejected(read_only):
    assert violations("api-read-only-root-fs", CONTAINER, api_container(readOnly=read_only))


def test_api_adding_capabilities_is_rejected():
    (message,) = violations(
        "api-no-added-capabilities", CONTAINER, api_container(capabilities={"adds": ["NET_ADMIN"], "drops": ["ALL"]})
    )
    assert "NET_ADMIN" in message


@pytest.mark.parametrize("capabilities", [None, {}, {"drops": ["NET_RAW"]}])
def test_api_not_dropping_all_is_rejected(capabilities):
    (message,) = violations("api-no-added-capabilities", CONTAINER, api_container(capabilities=capabilities))
    assert "drop all" in message


def test_cap_prefix_and_case_are_normalised():
    caps = {"drops": ["cap_all"]}
    assert violations("api-no-added-capabilities", CONTAINER, api_container(capabilities=caps)) == []


def test_non_api_containers_are_not_held_to_api_hardening():
    props = db_container(readOnly=False)
    assert violations("api-read-only-root-fs", CONTAINER, props) == []
    assert violations("api-no-added-capabilities", CONTAINER, props) == []


# ------------------------------------------------- preview: unknown values in the inputs


def test_unknown_label_value_does_not_hide_violations():
    """In preview the API's org.library.migrated-image label is unknown; the
    component label must still be read."""
    labels = lbl(component="api", **{"org.library.migrated-image": UNKNOWN_STRING_VALUE})
    props = api_container(labels=labels, image=UNKNOWN_STRING_VALUE, readOnly=False)
    assert violations("api-read-only-root-fs", CONTAINER, props)
    assert violations("api-healthcheck-required", CONTAINER, props) == []
    assert violations("pinned-images-in-production", CONTAINER, props, policy_config={"production": True}) == []


def test_unknown_needed_value_defers_to_the_sdk():
    """A value a policy needs that is unknown raises the SDK's UnknownValueError
    (the analyzer reports "can't run during preview" and checks at `up`)."""
    with pytest.raises(UnknownValueError):
        violations("no-privileged-containers", CONTAINER, api_container(privileged=UNKNOWN_STRING_VALUE))


# ------------------------------------------------------------ 6. pinned images


@pytest.mark.parametrize(
    "ref, pinned",
    [
        ("postgres", False),
        ("postgres:latest", False),
        ("registry.example.com:5000/db/postgres", False),
        ("registry.example.com:5000/db/postgres:latest", False),
        ("postgres:15-bookworm", True),
        ("registry.example.com:5000/db/postgres:15.7", True),
        ("postgres@sha256:" + "0" * 64, True),
        ("postgres:latest@sha256:" + "0" * 64, True),
        ("library-base/python:bookworm", True),
    ],
)
def test_pinned_reference_rule(ref, pinned):
    assert policy_props.is_pinned(ref) is pinned


def test_unpinned_images_pass_outside_production():
    assert violations("pinned-images-in-production", REMOTE_IMAGE, {"name": "postgres"}) == []


def test_production_from_policy_config(stack_config):
    stack_config({"library:production": "false"})  # the policy config alone is enough
    (message,) = violations(
        "pinned-images-in-production", REMOTE_IMAGE, {"name": "postgres:latest"}, policy_config={"production": True}
    )
    assert "policy config production=true" in message and "'postgres:latest'" in message


@pytest.mark.parametrize("value", ["true", "True", True, "yes"])  # unparseable counts as production
def test_production_from_stack_config(stack_config, value):
    stack_config({"library:production": value})
    (message,) = violations("pinned-images-in-production", REMOTE_IMAGE, {"name": "postgres"})
    assert "stack config library:production" in message


def test_production_from_single_config_variable(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_LIBRARY_PRODUCTION", "true")
    assert violations("pinned-images-in-production", REMOTE_IMAGE, {"name": "postgres"})


@pytest.mark.parametrize(
    "resource_type, props",
    [
        (REMOTE_IMAGE, {"name": "postgres:latest", "keepLocally": True}),
        (CONTAINER, {"image": "nginx", "labels": lbl(component="proxy")}),
        (CONTAINER, {"image": "ghcr.io/acme/api:latest"}),
        (IMAGE, {"imageName": "library-api:prod", "build": {"context": "..", "args": {"BASE_IMAGE": "python"}}}),
    ],
)
def test_unpinned_images_are_rejected_in_production(stack_config, resource_type, props):
    stack_config({"library:production": "true"})
    assert len(violations("pinned-images-in-production", resource_type, props)) == 1


@pytest.mark.parametrize(
    "resource_type, props",
    [
        (REMOTE_IMAGE, {"name": "postgres:15.7-bookworm"}),
        (REMOTE_IMAGE, {"name": "postgres@sha256:" + "1" * 64}),
        (CONTAINER, {"image": IMAGE_ID}),  # image ids are what this program passes
        (CONTAINER, {"image": "1" * 64}),
        (IMAGE, {"imageName": "library-api:prod", "build": {"args": {"BASE_IMAGE": "python:3.11.9-slim"}}}),
        (IMAGE, {"imageName": "library-api:prod", "build": {"context": ".."}}),  # no base image argument
        (VOLUME, {"name": "latest"}),
    ],
)
def test_pinned_images_pass_in_production(stack_config, resource_type, props):
    stack_config({"library:production": "true"})
    assert violations("pinned-images-in-production", resource_type, props) == []


# -------------------------------------------------------------- 7. volume retention


def test_volume_retained_by_default_config():
    """No library:retainDatabaseVolume: the program's default (true) applies."""
    assert violations("database-volume-retained", VOLUME, db_volume()) == []


def test_volume_retained_by_stack_config(stack_config):
    stack_config({"library:retainDatabaseVolume": "true"})
    assert violations("database-volume-retained", VOLUME, db_volume()) == []


@pytest.mark.parametrize("value", ["false", False, "no"])
def test_volume_not_retained_is_rejected(stack_config, value):
    stack_config({"library:retainDatabaseVolume": value})
    (message,) = violations("database-volume-retained", VOLUME, db_volume())
    assert "retainDatabaseVolume" in message


def test_protected_or_marked_volume_passes_whatever_the_config(stack_config):
    stack_config({"library:retainDatabaseVolume": "false"})
    assert violations("database-volume-retained", VOLUME, db_volume(), protect=True) == []
    marked = db_volume(labels=lbl(component="volume", retain="true"))
    assert violations("database-volume-retained", VOLUME, marked) == []


def test_other_volumes_are_not_checked(stack_config):
    stack_config({"library:retainDatabaseVolume": "false"})
    assert violations("database-volume-retained", VOLUME, {"name": "scratch", "labels": lbl(component="cache")}) == []
    assert violations("database-volume-retained", VOLUME, {"name": "unlabelled"}) == []


# ------------------------------------------------------- the program's own resources

PINNED_PRODUCTION = {
    "library:production": "true",
    "library:pythonImage": "python:3.11.9-slim-bookworm",
    "library:postgresImage": "postgres:15.7-bookworm",
}

PROGRAM_SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {"stack": "dev"},
    "production": {"stack": "prod", "config": PINNED_PRODUCTION},
    # Accepted by the program (not production), caught by the policy config.
    "unpinned-dev": {
        "stack": "dev",
        "config": {"library:pythonImage": "python", "library:postgresImage": "postgres:latest"},
    },
    "throwaway": {"stack": "tmp", "config": {"library:retainDatabaseVolume": "false"}},
}


@pytest.fixture(scope="module")
def program_runs(tmp_path_factory) -> dict[str, ProgramRun]:
    """Every scenario run once by tests/harness/fake.py, in parallel."""
    runs = run_programs(PROGRAM_SCENARIOS, tmp_path_factory.mktemp("policy-program-runs"))
    return {label: run.ok() for label, run in runs.items()}


def reveal(value: Any) -> Any:
    """The harness marks secrets {"__secret__": v}; policies see them unwrapped."""
    if isinstance(value, dict):
        if set(value) == {"__secret__"}:
            return reveal(value["__secret__"])
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def program_violations(run: ProgramRun, policy_config: dict | None = None) -> dict[str, list[str]]:
    """{"<policy> <resource name>": messages} over every recorded resource and policy."""
    found: dict[str, list[str]] = {}
    for resource in run["resources"]:
        for policy in library_policy.VALIDATORS:
            messages = violations(
                policy,
                resource["type"],
                reveal(resource["inputs"]),
                name=resource["name"],
                policy_config=policy_config,
                protect=bool(resource.get("protect")),
            )
            if messages:
                found[f"{policy} {resource['name']}"] = messages
    return found


def test_program_declares_what_the_policies_look_at(program_runs):
    run = program_runs["default"]
    components = sorted(policy_props.component(r["inputs"]) for r in run.of_type(CONTAINER) + run.of_type(VOLUME))
    assert components == ["api", "api", "db", "migrate", "proxy", "volume"]
    # postgres and nginx are pulled (or found locally); the API image is built
    assert len(run.of_type(REMOTE_IMAGE)) == 2 and len(run.of_type(IMAGE)) == 1


def test_default_stack_passes_every_policy(program_runs, stack_config):
    stack_config({})
    assert program_violations(program_runs["default"]) == {}


def test_default_stack_passes_even_when_declared_production(program_runs, stack_config):
    """The defaults are pinned (python:3.11-slim-bookworm, postgres:15-bookworm)."""
    stack_config({})
    assert program_violations(program_runs["default"], policy_config={"production": True}) == {}


def test_production_stack_with_pinned_images_passes(program_runs, stack_config):
    stack_config(PINNED_PRODUCTION)
    run = program_runs["production"]
    assert program_violations(run) == {}
    assert program_violations(run, policy_config={"production": True}) == {}


def test_unpinned_images_are_caught_when_the_policy_config_says_production(program_runs, stack_config):
    config = PROGRAM_SCENARIOS["unpinned-dev"]["config"]
    stack_config(config)
    run = program_runs["unpinned-dev"]
    assert program_violations(run) == {}  # a dev stack may float
    found = program_violations(run, policy_config={"production": True})
    assert sorted(found) == ["pinned-images-in-production database-image", "pinned-images-in-production image-build"]
    assert "BASE_IMAGE='python'" in found["pinned-images-in-production image-build"][0]


def test_volume_policy_agrees_with_the_programs_retain_on_delete(program_runs, stack_config):
    """The policy cannot see retain_on_delete; it reads the config the program
    derives it from. Check on the real program that the two agree."""
    stack_config({})
    (kept,) = program_runs["default"].of_type(VOLUME)
    assert kept["retain_on_delete"] is True
    assert program_violations(program_runs["default"]) == {}

    stack_config(PROGRAM_SCENARIOS["throwaway"]["config"])
    run = program_runs["throwaway"]
    (dropped,) = run.of_type(VOLUME)
    assert not dropped["retain_on_delete"]
    found = program_violations(run)
    assert list(found) == ["database-volume-retained database-data"]


# ------------------------------------------- the pack as the CLI runs it (gRPC analyzer)


@pytest.fixture(scope="module")
def analyzer():
    """policy/ started the way the CLI's pulumi-analyzer-policy-python shim does
    (`python -u -m pulumi.policy <engine> .` in policy/, stack config in
    PULUMI_CONFIG), reached over its gRPC Analyzer service."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")},
        "PULUMI_CONFIG": json.dumps({"library:production": "true", "library:retainDatabaseVolume": "false"}),
        "PULUMI_PROJECT": "library",
        "PULUMI_STACK": "prod",
        "PULUMI_DRY_RUN": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=POLICY_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        why = process.stderr.read() if process.poll() is not None else port
        assert port.isdigit(), f"policy pack did not start: {why}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _analyze(stub, resource_type: str, props: dict) -> list[tuple[str, int]]:
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    properties = struct_pb2.Struct()
    properties.update(props)
    request = analyzer_pb2.AnalyzeRequest(
        type=resource_type,
        name="r",
        urn=f"urn:pulumi:prod::library::{resource_type}::r",
        properties=properties,
        options=analyzer_pb2.AnalyzerResourceOptions(),
    )
    return sorted((d.policyName, d.enforcementLevel) for d in stub.Analyze(request, timeout=30).diagnostics)


def test_pack_serves_every_policy_as_mandatory(analyzer):
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "library-docker"
    assert {p.name: p.enforcementLevel for p in info.policies} == {
        name: analyzer_pb2.MANDATORY for name in library_policy.VALIDATORS
    }


def test_pack_reports_violations_with_the_stack_config_from_the_environment(analyzer):
    from pulumi.runtime.proto import analyzer_pb2

    mandatory = analyzer_pb2.MANDATORY
    assert _analyze(analyzer, CONTAINER, {"privileged": True, "networkMode": "host", "image": "nginx"}) == [
        ("no-host-network", mandatory),
        ("no-privileged-containers", mandatory),
        ("pinned-images-in-production", mandatory),  # library:production=true from PULUMI_CONFIG
    ]
    assert _analyze(analyzer, VOLUME, db_volume()) == [("database-volume-retained", mandatory)]
    assert _analyze(analyzer, CONTAINER, api_container()) == []
