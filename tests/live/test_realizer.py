"""The harness itself: its pure parts without Docker, and the provider
semantics it promises on a tiny program of its own (base images only)."""

from __future__ import annotations

import secrets
import textwrap
import time

import pytest

from tests.harness.live import DeployError, deploy
from tests.harness.program import load_project, stack_config
from tests.harness.teardown import run_objects, teardown
from tests.harness.values import RealizeError, check_keys, duration_ns, plain, secret

TOY_PROJECT = """\
name: toy
runtime:
  name: python
main: infra/
config:
  greeting:
    type: string
    default: hello
  count:
    type: integer
    default: 1
"""

TOY_PROGRAM = """\
import pulumi, pulumi_docker as docker, pulumi_random as random
cfg = pulumi.Config()
mode = cfg.get("mode") or "ok"
pw = random.RandomPassword("pw", length=24, special=False)
net = docker.Network("net")
vol = docker.Volume("data")
img = docker.Image("img", image_name=f"toy-live:{pulumi.get_stack()}", skip_push=True,
    build=docker.DockerBuildArgs(context="../img", args={"GREETING": cfg.get("greeting")}))
job = docker.Container("job", image=img.repo_digest, must_run=False, attach=True, logs=True,
    command=["sh", "-c", "cat /greeting; exit " + cfg.get("exit", "0")],
    networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=net.name, aliases=["job"])],
    volumes=[docker.ContainerVolumeArgs(volume_name=vol.name, container_path="/data")],
    envs=[pw.result.apply(lambda p: "PASSWORD=" + p)],
    labels=[docker.ContainerLabelArgs(label="org.example.toy", value="yes")])
if mode == "exits":
    docker.Container("dies", image=img.repo_digest, command=["sh", "-c", "echo bye; exit 2"])
if mode == "unknown":
    docker.Container("gpu", image=img.repo_digest, gpus="all")
if mode == "unhealthy":
    docker.Container("sick", image=img.repo_digest, command=["sleep", "60"], wait=True, wait_timeout=3,
        healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "false"], interval="1s", retries=1))
if mode == "serve":
    # Create-before-delete (no name, no option) with a health gate; the health
    # check passes once the uploaded file is there.
    web = docker.Container("web", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        uploads=[docker.ContainerUploadArgs(file="/etc/toy/greeting.txt", content=cfg.get("greeting"))],
        healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "test", "-s", "/etc/toy/greeting.txt"],
                                                    interval="1s", retries=3),
        wait=True, wait_timeout=30)
    # An explicit name: the provider replaces delete-before-create.
    named = docker.Container("named", name="toy-named-" + pulumi.get_stack(), image=img.repo_digest,
        command=["sleep", "600"], envs=["GREETING=" + cfg.get("greeting")], destroy_grace_seconds=1)
    pulumi.export("web", web.name)
    pulumi.export("named", named.name)
if mode == "hooked":
    # A before_delete hook: records the container it is called for, or fails.
    def before_delete(args):
        if cfg.get("hook_fails"):
            raise RuntimeError("the hook refuses")
        with open(cfg.require("marker"), "a") as f:
            f.write(args.id + " " + args.old_outputs["image"] + "\\n")
    hook = pulumi.ResourceHook("toy-hook", before_delete)
    hooked = docker.Container("hooked", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        envs=["GREETING=" + cfg.get("greeting")], opts=pulumi.ResourceOptions(
            hooks=pulumi.ResourceHookBinding(before_delete=[hook])))
    pulumi.export("hooked", hooked.name)
if mode == "readonly":
    docker.Container("ro", image=img.repo_digest, command=["sleep", "60"], read_only=True,
        uploads=[docker.ContainerUploadArgs(file="/etc/toy/x", content="x")])
pulumi.export("exit_code", job.exit_code)
pulumi.export("logs", job.container_logs)
pulumi.export("network", net.name)
pulumi.export("volume", vol.name)
pulumi.export("password", pw.result)
pulumi.export("count", cfg.get_int("count"))
"""


# --- pure parts -----------------------------------------------------------


def test_durations_parse_like_go():
    assert duration_ns("5s") == 5_000_000_000
    assert duration_ns("1m30s") == 90_000_000_000
    assert duration_ns("250ms") == 250_000_000
    assert duration_ns("0s") == duration_ns(None) == 0
    with pytest.raises(RealizeError, match="not a duration"):
        duration_ns("5 seconds")


def test_unknown_inputs_are_named():
    check_keys("Container", "c", {"image": "x", "wait": None}, {"image"})
    with pytest.raises(RealizeError, match=r"\['gpus'\]"):
        check_keys("Container", "c", {"image": "x", "gpus": "all"}, {"image"})


def test_secrets_are_unwrapped_recursively():
    assert plain({"a": [secret("s"), {"b": secret(secret(1))}]}) == {"a": ["s", {"b": 1}]}


def test_config_layers_like_the_cli(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(TOY_PROJECT)
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  toy:count: 3\n  other:flag: true\n  toy:list: [1, 2]\n")
    project = load_project(str(tmp_path))
    config, secret_keys = stack_config(str(tmp_path), project, "dev", {"greeting": "hi"}, {"token": "t0p"})
    assert config == {
        "toy:greeting": "hi",
        "toy:count": "3",
        "other:flag": "true",
        "toy:list": "[1, 2]",
        "toy:token": "t0p",
    }
    assert secret_keys == ["toy:token"]
    (tmp_path / "Pulumi.enc.yaml").write_text("config:\n  toy:pw:\n    secure: AAAB\n")
    with pytest.raises(SystemExit, match="cannot decrypt"):
        stack_config(str(tmp_path), project, "enc")


# --- on a real engine -------------------------------------------------------


@pytest.fixture
def toy(live_docker, tmp_path):
    repo = tmp_path / "toy"
    (repo / "infra").mkdir(parents=True)
    (repo / "img").mkdir()
    (repo / "Pulumi.yaml").write_text(TOY_PROJECT)
    (repo / "infra" / "__main__.py").write_text(TOY_PROGRAM)
    (repo / "img" / "Dockerfile").write_text(
        textwrap.dedent("""\
        FROM library-base/python:bookworm
        ARG GREETING
        RUN echo "$GREETING" > /greeting
        """)
    )
    run_id = f"toy-{secrets.token_hex(3)}"
    stack = f"s{secrets.token_hex(3)}"
    (repo / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    outputs = []

    def run(**config):
        result = deploy(stack, run_id, config, repo_dir=str(repo), timeout=300)
        outputs.append(result)
        return result

    try:
        yield run, run_id, live_docker
    finally:
        teardown(run_id, remove_volumes=True, client=live_docker)
        try:
            live_docker.images.remove(f"toy-live:{stack}")
        except Exception:  # noqa: BLE001
            pass


@pytest.mark.live
def test_toy_program_is_realized_with_provider_semantics(toy):
    run, run_id, client = toy
    first = run(greeting="bonjour")
    assert first["exit_code"] == 0 and first["logs"].strip() == "bonjour"
    assert first["count"] == 1  # the project default, as an int
    assert first.secret_names == ["password"] and len(first["password"]) == 24
    assert first["network"].startswith("net-") and first["volume"].startswith("data-")  # auto-names
    objects = run_objects(run_id, client)
    assert len(objects["containers"]) == 1 and objects["networks"] == [first["network"]]
    (job,) = client.containers.list(all=True, filters={"label": f"org.library.live-run={run_id}"})
    assert job.labels["org.example.toy"] == "yes"
    assert f"PASSWORD={first['password']}" in job.attrs["Config"]["Env"]

    # A second deployment of the run: same password, network and volume; the
    # container replaced; a non-zero exit of a one-shot is reported, not raised.
    second = run(greeting="bonjour", exit="3")
    assert second["exit_code"] == 3
    assert (second["password"], second["network"], second["volume"]) == (
        first["password"],
        first["network"],
        first["volume"],
    )
    assert run_objects(run_id, client)["containers"] != objects["containers"]

    # Unchanged inputs: no diff, so the container is left as it is (not rerun),
    # and its outputs are those it had.
    (job,) = client.containers.list(all=True, filters={"label": f"org.library.live-run={run_id}"})
    third = run(greeting="bonjour", exit="3")
    assert third["exit_code"] == 3 and third["logs"].strip() == "bonjour"
    (kept,) = client.containers.list(all=True, filters={"label": f"org.library.live-run={run_id}"})
    assert kept.id == job.id and kept.attrs["State"]["StartedAt"] == job.attrs["State"]["StartedAt"]


def _event_times(client, run_id: str, since: float) -> dict[tuple[str, str], int]:
    """(container id, action) -> time (ns) of the first such Docker event since `since`."""
    times: dict[tuple[str, str], int] = {}
    for event in client.events(
        since=int(since),
        until=int(time.time()) + 1,
        decode=True,
        filters={"type": "container", "label": f"org.library.live-run={run_id}"},
    ):
        times.setdefault((event["id"], event["Action"]), event["timeNano"])
    return times


@pytest.mark.live
def test_replacements_follow_the_engine_and_uploads_arrive(toy):
    run, run_id, client = toy
    first = run(mode="serve", greeting="one")
    web1, named1 = client.containers.get(first["web"]), client.containers.get(first["named"])
    assert web1.exec_run(["cat", "/etc/toy/greeting.txt"]).output == b"one"
    since = time.time() - 1
    second = run(mode="serve", greeting="two")
    web2, named2 = client.containers.get(second["web"]), client.containers.get(second["named"])
    assert web2.exec_run(["cat", "/etc/toy/greeting.txt"]).output == b"two"
    events = _event_times(client, run_id, since)

    # Create before delete: the new container was healthy before the old one was stopped and removed.
    assert web2.name != web1.name
    assert events[(web2.id, "health_status: healthy")] < events[(web1.id, "kill")] < events[(web1.id, "destroy")]
    # An explicit name: delete before create (the name must be free first).
    assert named2.name == named1.name and named2.id != named1.id
    assert events[(named1.id, "destroy")] < events[(named2.id, "create")]
    remaining = {c.id for c in client.containers.list(all=True, filters={"label": f"org.library.live-run={run_id}"})}
    assert web1.id not in remaining and named1.id not in remaining


@pytest.mark.live
def test_before_delete_hooks_run_before_the_delete_and_a_failing_one_stops_it(toy, tmp_path):
    run, run_id, client = toy
    marker = tmp_path / "hook-calls"
    first = run(mode="hooked", greeting="one", marker=str(marker))
    old = client.containers.get(first["hooked"])
    assert not marker.exists(), "nothing was deleted yet"

    second = run(mode="hooked", greeting="two", marker=str(marker))
    assert marker.read_text().split() == [old.id, old.image.id]
    assert [(r["hook"], r["container"]) for r in second.result["hookRuns"]] == [("toy-hook", old.name)]
    assert second["hooked"] != old.name

    # As in the engine: a before_delete hook that fails fails the delete.
    current = client.containers.get(second["hooked"])
    with pytest.raises(DeployError, match=r"before_delete hook 'toy-hook' failed: RuntimeError: the hook refuses"):
        run(mode="hooked", greeting="three", marker=str(marker), hook_fails="yes")
    current.reload()
    assert current.status == "running", "the container whose hook failed must not be deleted"


@pytest.mark.live
@pytest.mark.parametrize(
    "mode, message",
    [
        ("exits", r"exited immediately \(exit code 2\), but mustRun is true.*\n.*bye"),
        ("unknown", r"does not handle input\(s\) \['gpus'\]"),
        ("unhealthy", r"did not become healthy within 3s"),
        # As with the real provider: Docker refuses to copy into a read-only root.
        ("readonly", r"unable to upload /etc/toy/x into .*read-only"),
    ],
)
def test_toy_program_failures_are_loud(toy, mode, message):
    run, _, _ = toy
    with pytest.raises(DeployError, match=message) as info:
        run(mode=mode)
    assert info.value.returncode == 1
