"""The harness itself: its pure parts without Docker, and the provider
semantics it promises on a tiny program of its own (base images only)."""

from __future__ import annotations

import json
import secrets
import textwrap
import time

import pytest

from tests.harness.live import DeployError, deploy, destroy
from tests.harness.program import load_project, stack_config
from tests.harness.state import RunState
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
import json, pulumi, pulumi.dynamic, pulumi_docker as docker, pulumi_random as random
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
    # Runs on its first start (the provider's read sees it running); exits at once on later starts.
    docker.Container("dies", image=img.repo_digest, cpu_shares=cfg.get_int("shares", 512),
        command=["sh", "-c", "test -e /tmp/ran && exit 2; touch /tmp/ran; sleep 600"], destroy_grace_seconds=1)
if mode == "unknown":
    docker.Container("gpu", image=img.repo_digest, gpus="all")
if mode == "unhealthy":
    # Never healthy; it exits at once when sick_cmd=exit. An on_error hook records its calls
    # (to the `marker` file) and asks for `retries` retries.
    def on_error(args):
        with open(cfg.require("marker"), "a") as f:
            f.write(json.dumps({"id": args.id, "op": args.failed_operation, "errors": args.errors,
                                "name": args.new_inputs.get("name"), "type": args.type}) + "\\n")
        with open(cfg.require("marker")) as f:
            return len(f.readlines()) <= cfg.get_int("retries", 0)
    error_hook = pulumi.ErrorHook("toy-on-error", on_error)
    sick_cmd = ["sh", "-c", "exit 3"] if cfg.get("sick_cmd") == "exit" else ["sleep", "60"]
    sick = docker.Container("sick", image=img.repo_digest, command=sick_cmd, wait=True, wait_timeout=3,
        envs=["GREETING=" + cfg.get("greeting")], destroy_grace_seconds=1,
        healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "false"], interval="1s", retries=1),
        opts=pulumi.ResourceOptions(hooks=pulumi.ResourceHookBinding(on_error=[error_hook])
                                    if cfg.get("marker") else None))
    pulumi.export("sick", sick.name)
if mode == "tuned":
    # Updated in place (memory, restart); state-only (healthcheck interval, destroy grace).
    tuned = docker.Container("tuned", image=img.repo_digest, command=["sleep", "600"],
        memory=cfg.get_int("memory", 64), restart=cfg.get("restart", "no"),
        destroy_grace_seconds=cfg.get_int("grace", 1),
        healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "true"], interval=cfg.get("interval", "5s")))
    pulumi.export("tuned", tuned.name)
if mode == "clash":
    # A fixed name and create-before-delete: a replacement must fail with Docker's 409.
    clash = docker.Container("clash", name="toy-clash-" + pulumi.get_stack(), image=img.repo_digest,
        command=["sleep", "600"], envs=["GREETING=" + cfg.get("greeting")], destroy_grace_seconds=1,
        opts=pulumi.ResourceOptions(delete_before_replace=False))
    pulumi.export("clash", clash.name)
if mode == "opts":
    ignoring = docker.Container("ignoring", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        envs=["NOTE=" + cfg.get("note", "one")], opts=pulumi.ResourceOptions(ignore_changes=["envs"]))
    replacing = docker.Container("replacing", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        restart=cfg.get("restart", "no"), opts=pulumi.ResourceOptions(replace_on_changes=["restart"]))
    guarded = docker.Container("guarded", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        envs=["NOTE=" + cfg.get("guarded", "same")], opts=pulumi.ResourceOptions(protect=cfg.get_bool("protect")))
    pulumi.export("ignoring", ignoring.name)
    pulumi.export("replacing", replacing.name)
    pulumi.export("guarded", guarded.name)
    if cfg.get_bool("keep", True):
        kept = docker.Volume("kept", opts=pulumi.ResourceOptions(retain_on_delete=True))
        pulumi.export("kept", kept.name)
if mode == "cascade":
    # base is replaced delete-before-replace (named); `fed` takes a property from it, `ordered`
    # only depends_on it. An after_create hook records every create.
    def after_create(args):
        with open(cfg.require("marker"), "a") as f:
            f.write("created " + args.name + "\\n")
    created = pulumi.ResourceHook("toy-after-create", after_create)
    hooks = pulumi.ResourceHookBinding(after_create=[created])
    base = docker.Container("base", name="toy-base-" + pulumi.get_stack(), image=img.repo_digest,
        command=["sleep", "600"], envs=["NOTE=" + cfg.get("note", "one")], destroy_grace_seconds=1,
        opts=pulumi.ResourceOptions(hooks=hooks))
    fed = docker.Container("fed", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        envs=[base.name.apply(lambda n: "BASE=" + n)], opts=pulumi.ResourceOptions(hooks=hooks))
    ordered = docker.Container("ordered", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        opts=pulumi.ResourceOptions(depends_on=[base], hooks=hooks))
    pulumi.export("base", base.id)
    pulumi.export("fed", fed.id)
    pulumi.export("ordered", ordered.id)
if mode == "dyn":
    marker = cfg.require("marker")
    class Check(pulumi.dynamic.ResourceProvider):
        def create(self, props):
            with open(marker, "a") as f:
                f.write("create " + props["step"] + "\\n")
            if props["step"] == "broken":
                raise RuntimeError("migration 0042 failed")
            return pulumi.dynamic.CreateResult("check-" + props["step"], {"step": props["step"], "ok": True})
        def update(self, id, olds, news):
            with open(marker, "a") as f:
                f.write("update " + id + " " + olds["step"] + " -> " + news["step"] + "\\n")
            return pulumi.dynamic.UpdateResult({"step": news["step"], "ok": True})
        def delete(self, id, props):
            with open(marker, "a") as f:
                f.write("delete " + id + "\\n")
    class Migration(pulumi.dynamic.Resource):
        ok: pulumi.Output[bool]
    if cfg.get("step"):
        check = Migration(Check(), "check", {"step": cfg.get("step"), "ok": None})
        pulumi.export("check_id", check.id)
        pulumi.export("check_ok", check.ok)
if mode == "serve":
    # Create-before-delete (delete_before_replace=False) with a health gate; the health
    # check passes once the uploaded file is there.
    web = docker.Container("web", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
        uploads=[docker.ContainerUploadArgs(file="/etc/toy/greeting.txt", content=cfg.get("greeting"))],
        healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "test", "-s", "/etc/toy/greeting.txt"],
                                                    interval="1s", retries=3),
        wait=True, wait_timeout=30, opts=pulumi.ResourceOptions(delete_before_replace=False))
    # No option: pulumi-docker asks for delete-before-replace for every container, named or not.
    named = docker.Container("named", name="toy-named-" + pulumi.get_stack(), image=img.repo_digest,
        command=["sleep", "600"], envs=["GREETING=" + cfg.get("greeting")], destroy_grace_seconds=1)
    anon = docker.Container("anon", image=img.repo_digest,
        command=["sleep", "600"], envs=["GREETING=" + cfg.get("greeting")], destroy_grace_seconds=1)
    pulumi.export("web", web.name)
    pulumi.export("named", named.name)
    pulumi.export("anon", anon.name)
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
if mode == "renamed":
    # A container whose logical name comes from the config; `alias` names its old one. `twin`
    # (registered once the first exists: it takes its name) claims the same alias.
    alias_opts = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=cfg.get("alias"))] if cfg.get("alias") else None)
    moved = docker.Container(cfg.get("name") or "old", image=img.repo_digest, command=["sleep", "600"],
        destroy_grace_seconds=1, opts=alias_opts)
    if cfg.get("twin"):
        docker.Container("twin", image=img.repo_digest, command=["sleep", "600"], destroy_grace_seconds=1,
            envs=[moved.name.apply(lambda n: "AFTER=" + n)], opts=alias_opts)
    pulumi.export("moved", moved.id)
    pulumi.export("moved_name", moved.name)
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

    def destroy_(run_program: bool = False, **config):
        return destroy(stack, run_id, config, repo_dir=str(repo), run_program=run_program, timeout=300)

    run.destroy = destroy_  # type: ignore[attr-defined]

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
    anon1 = client.containers.get(first["anon"])
    assert web1.exec_run(["cat", "/etc/toy/greeting.txt"]).output == b"one"
    since = time.time() - 1
    second = run(mode="serve", greeting="two")
    web2, named2 = client.containers.get(second["web"]), client.containers.get(second["named"])
    anon2 = client.containers.get(second["anon"])
    assert web2.exec_run(["cat", "/etc/toy/greeting.txt"]).output == b"two"
    events = _event_times(client, run_id, since)

    # Create before delete: the new container was healthy before the old one was stopped and removed.
    assert web2.name != web1.name
    assert events[(web2.id, "health_status: healthy")] < events[(web1.id, "kill")] < events[(web1.id, "destroy")]
    # No option: delete before create, named (the name must be free first) or auto-named alike
    # (pulumi-docker's DeleteBeforeReplace; the old harness tied it to `name`).
    assert named2.name == named1.name and named2.id != named1.id
    assert events[(named1.id, "destroy")] < events[(named2.id, "create")]
    assert anon2.name != anon1.name
    assert events[(anon1.id, "destroy")] < events[(anon2.id, "create")]
    remaining = {c.id for c in client.containers.list(all=True, filters={"label": f"org.library.live-run={run_id}"})}
    assert web1.id not in remaining and named1.id not in remaining and anon1.id not in remaining


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
        ("unknown", r"does not handle input\(s\) \['gpus'\]"),
        ("unhealthy", r"container failed to be in healthy state: .* not healthy within 3s"),
        # As with the real provider: Docker refuses to copy into a read-only root.
        ("readonly", r"unable to upload /etc/toy/x into .*read-only"),
    ],
)
def test_toy_program_failures_are_loud(toy, mode, message):
    run, _, _ = toy
    with pytest.raises(DeployError, match=message) as info:
        run(mode=mode)
    assert info.value.returncode == 1


# --- the rules, one test each (docs/testing.md, the live tier, "The rules") ------------------


def _containers(client, run_id: str) -> dict[str, object]:
    return {c.name: c for c in client.containers.list(all=True, filters={"label": f"org.library.live-run={run_id}"})}


@pytest.mark.live
def test_a_container_that_exits_is_no_failure_and_the_next_up_starts_it(toy):
    """terraform-provider-docker v4: resourceDockerContainerRead sets mustRun false for a stopped
    container (no error); the next `up` sees mustRun change and Update starts it again."""
    run, run_id, client = toy
    run(mode="exits")
    (dies,) = [c for name, c in _containers(client, run_id).items() if name.startswith("dies-")]
    dies.kill()
    assert dies.wait(timeout=10)["StatusCode"] != 0
    # No refresh: the next read is an update's (an in-place change), which finds it stopped and
    # records mustRun false. (A container that exits before the create's own read does the same,
    # but whether it has exited by then is a race, in the provider as here.)
    run(mode="exits", shares=256)
    dies.reload()
    assert dies.status == "exited"
    started = dies.attrs["State"]["StartedAt"]
    run(mode="exits", shares=256)  # mustRun false (state) -> true (program): started again, not replaced
    dies.reload()
    assert dies.attrs["State"]["StartedAt"] != started
    assert [n for n in _containers(client, run_id) if n.startswith("dies-")] == [dies.name]


@pytest.mark.live
def test_in_place_updates_and_state_only_changes_keep_the_container(toy):
    run, run_id, client = toy
    first = run(mode="tuned")
    tuned = client.containers.get(first["tuned"])
    started = tuned.attrs["State"]["StartedAt"]
    assert tuned.attrs["HostConfig"]["MemorySwap"] == 2 * tuned.attrs["HostConfig"]["Memory"]

    # restart is updated in place (docker update): same container, not restarted.
    run(mode="tuned", restart="unless-stopped")
    tuned.reload()
    assert tuned.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # healthcheck and destroyGraceSeconds are only recorded in the state.
    run(mode="tuned", restart="unless-stopped", interval="7s", grace=2)
    tuned.reload()
    assert tuned.attrs["Config"]["Healthcheck"]["Interval"] == 5_000_000_000
    assert tuned.attrs["State"]["StartedAt"] == started
    assert [n for n in _containers(client, run_id) if n.startswith("tuned")] == [tuned.name]

    # memory above the swap limit Docker set at creation (2 x memory): Docker refuses the update.
    with pytest.raises(
        DeployError, match=r"Unable to update a container: .*Memory limit should be smaller than already"
    ):
        run(mode="tuned", restart="unless-stopped", interval="7s", grace=2, memory=256)
    tuned.reload()
    assert tuned.status == "running" and tuned.attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024


@pytest.mark.live
def test_a_taken_name_fails_with_dockers_409_and_the_old_container_stays(toy):
    run, run_id, client = toy
    first = run(mode="clash", greeting="one")
    old = client.containers.get(first["clash"])
    with pytest.raises(
        DeployError,
        match=r"Unable to create container: Error response from daemon: Conflict\. The container name "
        r'"/toy-clash-\w+" is already in use',
    ):
        run(mode="clash", greeting="two")  # create-before-delete of a fixed name
    old.reload()
    assert old.status == "running" and [n for n in _containers(client, run_id) if "clash" in n] == [old.name]


@pytest.mark.live
def test_a_failed_wait_polls_to_the_timeout_is_kept_with_its_init_error_and_then_updated(toy, tmp_path):
    run, run_id, client = toy
    started = time.monotonic()
    with pytest.raises(DeployError, match=r"container failed to be in healthy state"):
        run(mode="unhealthy", sick_cmd="exit", greeting="one")
    # The provider polls through an exited container until waitTimeout (3 s).
    assert time.monotonic() - started >= 3
    (sick,) = [c for name, c in _containers(client, run_id).items() if name.startswith("sick-")]
    entry = next(e for urn, e in RunState(run_id).resources().items() if urn.endswith("::sick"))
    assert entry["id"] == sick.id and "container failed to be in healthy state" in entry["initErrors"][0]

    # Unchanged inputs: the engine's update step for init errors; the provider's Update has
    # nothing to do, the container is kept and the deployment succeeds.
    second = run(mode="unhealthy", sick_cmd="exit", greeting="one")
    assert second["sick"] == sick.name and set(_containers(client, run_id)) == {sick.name, *_job(client, run_id)}
    assert not next(e for urn, e in RunState(run_id).resources().items() if urn.endswith("::sick"))["initErrors"]

    # A ForceNew change: replaced (delete before create), and the new one fails again.
    with pytest.raises(DeployError, match=r"container failed to be in healthy state"):
        run(mode="unhealthy", sick_cmd="exit", greeting="two")
    assert sick.id not in {c.id for c in _containers(client, run_id).values()}


def _job(client, run_id: str) -> list[str]:
    return [n for n in _containers(client, run_id) if n.startswith("job-")]


@pytest.mark.live
def test_on_error_hooks_see_the_failed_create_and_a_retry_meets_the_name_it_took(toy, tmp_path):
    run, run_id, client = toy
    marker = tmp_path / "errors"
    with pytest.raises(DeployError, match=r"Conflict\. The container name \"/sick-\w+\" is already in use"):
        run(mode="unhealthy", marker=str(marker), retries=1)
    first, second = [json.loads(line) for line in marker.read_text().splitlines()]
    # CreateStep passes s.new.ID, not yet set: ""; the errors so far, newest first.
    assert first["id"] == "" and first["op"] == "create" and first["type"] == "docker:index/container:Container"
    assert len(first["errors"]) == 1 and "container failed to be in healthy state" in first["errors"][0]
    assert second["errors"][1:] == first["errors"] and "Conflict" in second["errors"][0]
    # The retry used the same (auto-)name, which the first, partly created container holds.
    assert second["name"] == first["name"] and first["name"] in _containers(client, run_id)


@pytest.mark.live
def test_ignore_changes_replace_on_changes_protect_and_retain_on_delete(toy):
    run, run_id, client = toy
    first = run(mode="opts", note="one", protect=True)
    second = run(mode="opts", note="two", restart="always", protect=True)
    assert second["ignoring"] == first["ignoring"]  # envs ignored: no change at all
    assert client.containers.get(second["ignoring"]).attrs["Config"]["Env"][0] == "NOTE=one"
    assert second["replacing"] != first["replacing"]  # restart (in place for the provider) replaced
    with pytest.raises(DeployError, match=r"(?s)unable to replace resource .*::guarded.*marked for protection"):
        run(mode="opts", note="two", restart="always", protect=True, guarded="other")
    # retain_on_delete: no longer declared, it leaves the state but stays on the engine.
    run(mode="opts", note="two", restart="always", protect=True, keep=False)
    assert client.volumes.get(first["kept"])
    assert not [urn for urn in RunState(run_id).resources() if urn.endswith("::kept")]
    client.volumes.get(first["kept"]).remove()
    # A protected resource cannot be deleted.
    with pytest.raises(DeployError, match=r"cannot be deleted\nbecause it is protected"):
        run.destroy()
    assert client.containers.get(second["guarded"]).status == "running"


@pytest.mark.live
def test_destroy_needs_run_program_for_hooks_runs_them_and_deletes_everything(toy, tmp_path):
    run, run_id, client = toy
    marker = tmp_path / "hook-calls"
    first = run(mode="hooked", greeting="one", marker=str(marker))
    with pytest.raises(DeployError, match=r"You must run with the `--run-program` flag to use delete hooks"):
        run.destroy()
    assert first["hooked"] in _containers(client, run_id)
    result = run.destroy(run_program=True, mode="hooked", greeting="one", marker=str(marker))
    assert [(h["hook"], h["container"]) for h in result.result["hookRuns"]] == [("toy-hook", first["hooked"])]
    assert _containers(client, run_id) == {}
    assert client.networks.list(names=[first["network"]]) == []
    assert RunState(run_id).resources() == {}


@pytest.mark.live
def test_dynamic_resources_create_update_and_delete_through_their_provider(toy, tmp_path):
    run, run_id, client = toy
    marker = tmp_path / "dyn"
    with pytest.raises(DeployError, match=r"create failed: RuntimeError: migration 0042 failed"):
        run(mode="dyn", marker=str(marker), step="broken")
    assert not [urn for urn in RunState(run_id).resources() if "dynamic" in urn]  # not in the state
    first = run(mode="dyn", marker=str(marker), step="one")
    assert (first["check_id"], first["check_ok"]) == ("check-one", True)
    run(mode="dyn", marker=str(marker), step="one")  # no change
    run(mode="dyn", marker=str(marker), step="two")  # no diff method: the engine's diff, an update
    run(mode="dyn", marker=str(marker))  # no longer declared: deleted
    assert marker.read_text().splitlines() == [
        "create broken",
        "create one",
        "update check-one one -> two",
        "delete check-one",
    ]


@pytest.mark.live
def test_a_delete_before_replace_deletes_the_dependents_it_would_replace_first(toy, tmp_path):
    # step_generator.go: calculateDependentReplacements; step.go: after_create hooks.
    run, run_id, client = toy
    marker = tmp_path / "created.txt"
    first = run(mode="cascade", note="one", marker=str(marker))
    assert sorted(marker.read_text().split()) == sorted(["created"] * 3 + ["base", "fed", "ordered"])
    marker.write_text("")
    second = run(mode="cascade", note="two", marker=str(marker))
    assert second["base"] != first["base"]
    # `fed` takes base's name: deleted before base and created again, although its own
    # inputs end up equal; `ordered` (depends_on only) is left alone.
    assert second["fed"] != first["fed"]
    assert second["ordered"] == first["ordered"]
    assert marker.read_text().split() == ["created", "base", "created", "fed"]
    assert {c.id for c in client.containers.list(all=True) if c.id in (first["base"], first["fed"])} == set()


def _urn_names(run_id: str) -> list[str]:
    return sorted(urn.rsplit("::", 1)[-1] for urn in RunState(run_id).resources())


@pytest.mark.live
def test_a_resource_renamed_with_an_alias_is_kept_and_without_one_replaced(toy):
    # step_generator.go: getOldResource; the bridge keeps the old auto-name (schema.go: applyDefaults).
    run, run_id, client = toy
    first = run(mode="renamed")
    assert first["moved_name"].startswith("old-")
    started = client.containers.get(first["moved"]).attrs["State"]["StartedAt"]

    second = run(mode="renamed", name="new", alias="old")
    # The same container, untouched, now under the new URN; nothing deleted, no old URN left.
    assert (second["moved"], second["moved_name"]) == (first["moved"], first["moved_name"])
    assert client.containers.get(first["moved"]).attrs["State"]["StartedAt"] == started
    assert second.result["deleted"] == [] and second.result["created"] == []
    assert "new" in _urn_names(run_id) and "old" not in _urn_names(run_id)

    # Renamed without an alias: another resource, so a create and a delete of the old one.
    third = run(mode="renamed", name="newer")
    assert third["moved"] != first["moved"] and third["moved_name"].startswith("newer-")
    assert third.result["deleted"] == [first["moved_name"]]
    assert first["moved"] not in {c.id for c in client.containers.list(all=True)}
    assert "newer" in _urn_names(run_id) and "new" not in _urn_names(run_id)


@pytest.mark.live
def test_two_resources_claiming_one_alias_fail_the_deployment(toy):
    # step_generator.go: getOldResource, diag 2008 (GetDuplicateResourceAliasError).
    run, run_id, client = toy
    first = run(mode="renamed")
    with pytest.raises(DeployError, match=r"Duplicate resource alias '[^']+::old' applied to resource with URN"):
        run(mode="renamed", name="new", alias="old", twin="yes")
    assert client.containers.get(first["moved"]).status == "running"
