"""The program on a remote Docker host over SSH, live: a nested host (tests/remote/conftest.py)
reached at ssh://deploy@127.0.0.1:PORT with docker:sshOpts, as the provider reaches it.

The base images are shipped to it (`library ship`: it cannot pull), the service image is built
by it (the build context goes over SSH), the stack is deployed, operated, redeployed under
load, and destroyed there; the local engine never gets any of it (docs/deploy.md, "Remote hosts").
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.harness.live import DeployError
from tests.harness.stack import BASE_IMAGES, LiveStack
from tests.live.conftest import NO_THROTTLING, all_books, http, isbn13, live_docker, wait_for
from tests.live.test_operations import LIBRARY
from tests.live.traffic import ContinuousLoad

pytestmark = [pytest.mark.live, pytest.mark.remote]
#: The local engine, with the base images (a fixture of the live tier).
__all__ = ["live_docker"]

TEMPLATE = "app/books/templates/books/book_list.html"
STACK_LABEL = "org.library.stack"


def remote_stack(node, client, workdir: Path, scenario: str, port: int, ssh_opts: list[str] | None = None) -> LiveStack:
    """A LiveStack on the node: its stack file names the node's engine (docker:host, docker:sshOpts)
    and publishes `port` on every interface of the node (the node republishes it on 127.0.0.1 here)."""
    stack = LiveStack(client, workdir, scenario)
    stack.host_port = port
    path = stack.repo / f"Pulumi.{stack.stack}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"].update(
        {
            "docker:host": node.ssh_url,
            "docker:sshOpts": list(node.ssh_opts if ssh_opts is None else ssh_opts),
            "library:bindAddress": "0.0.0.0",
            "library:hostPort": port,
        }
    )
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return stack


def loopback(url: str) -> str:
    """The stack's URL (`localhost`: it is bound to every interface of the node) as the test reaches it."""
    return url.replace("://localhost:", "://127.0.0.1:")


def ship(stack: LiveStack) -> subprocess.CompletedProcess:
    """`library ship` of the stack's base images, from its project directory."""
    return subprocess.run(
        [LIBRARY, "ship", "--stack", stack.stack], capture_output=True, text=True, timeout=600, cwd=stack.repo
    )


def library(stack: LiveStack, outputs: dict, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{stack.stack}-outputs.json"
    path.write_text(json.dumps(dict(outputs)))
    head, sep, tail = list(args), [], []
    if "--" in head:
        index = head.index("--")
        head, sep, tail = head[:index], ["--"], head[index + 1 :]
    command = [LIBRARY, *head, "--stack", stack.stack, "--outputs", str(path), *sep, *tail]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def local_objects(client, stack: LiveStack) -> list[str]:
    """What the LOCAL engine has of the stack: containers, networks, volumes, its image tag."""
    label = {"label": f"{STACK_LABEL}={stack.stack}"}
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
    found += [f"network {n.name}" for n in client.networks.list(filters=label)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=label)]
    found += [f"image {t}" for i in client.images.list() for t in i.tags if t == f"library-api:{stack.stack}"]
    return found


@pytest.fixture(scope="module")
def node(docker_host):
    return docker_host("stacks")


@pytest.fixture(scope="module")
def inner(node):
    with node.client(timeout=300) as client:
        yield client


@pytest.fixture(scope="module")
def shipped(node, inner, tmp_path_factory):
    """The base images on the node, shipped by `library ship` (timed and sized), once."""
    probe = remote_stack(node, inner, tmp_path_factory.mktemp("ship"), "ship", node.ports[0])
    started = time.monotonic()
    done = ship(probe)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"\nlibrary ship of {len(BASE_IMAGES)} base images to a fresh node: {took:.1f} s\n{done.stdout}")
    return done


def test_ship_copies_the_base_images_once(shipped, node, inner, live_docker, tmp_path):
    lines = shipped.stdout.splitlines()
    assert len(lines) == len(BASE_IMAGES), shipped.stdout
    for ref, line in zip(BASE_IMAGES, lines, strict=True):
        assert line.startswith(ref) and "shipped" in line and " MiB in " in line, line
        assert inner.images.get(ref).id == live_docker.images.get(ref).id
    again = ship(remote_stack(node, inner, tmp_path, "again", node.ports[0]))
    assert again.returncode == 0 and again.stdout.count("already on the host") == len(BASE_IMAGES), again.stdout


def test_ssh_needs_no_paramiko():
    # docker-py's own ssh:// transport needs paramiko; the program, the harness and the operator
    # command reach an ssh:// engine through the ssh binary, as the provider does.
    assert importlib.util.find_spec("paramiko") is None


@pytest.fixture(scope="module")
def deployed(shipped, node, inner, live_docker, tmp_path_factory):
    stack = remote_stack(node, inner, tmp_path_factory.mktemp("remote"), "remote", node.ports[0])
    try:
        started = time.monotonic()
        outputs = stack.deploy(**NO_THROTTLING)
        print(f"\nfirst deployment over ssh: {time.monotonic() - started:.1f} s")
        yield stack, outputs
    finally:
        stack.cleanup()


def test_the_stack_runs_on_the_remote_engine_only(deployed, node, inner, live_docker):
    stack, outputs = deployed
    url = loopback(outputs["url"])
    assert http("GET", url).status_code == 200
    assert http("GET", f"{url}api/books/").status_code == 200
    assert outputs["engine"] == {"host": node.ssh_url, "ssh_opts": node.ssh_opts}
    remote = {c.name for c in inner.containers.list(all=True, filters={"label": f"{STACK_LABEL}={stack.stack}"})}
    assert {outputs["proxy_container_name"], outputs["db_container_name"], *outputs["api_container_names"]} <= remote
    assert local_objects(live_docker, stack) == []


def test_the_operator_command_works_on_the_remote_stack(deployed, tmp_path):
    stack, outputs = deployed
    done = library(stack, outputs, tmp_path, "status", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["healthy"], done.stdout + done.stderr
    assert report["engine"].startswith("ssh://")
    user = f"remote{secrets.token_hex(2)}"
    done = library(stack, outputs, tmp_path, "manage", "--", "createsuperuser", "--noinput", "--username", user,
                   "--email", f"{user}@example.com")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = library(stack, outputs, tmp_path, "psql", "-c", f"select count(*) from auth_user where username = '{user}'")
    assert done.returncode == 0 and " 1\n" in done.stdout, done.stdout + done.stderr
    url = loopback(outputs["url"])
    http("GET", f"{url}api/books/", headers={"User-Agent": f"remote-{user}"})
    done = library(stack, outputs, tmp_path, "logs", "api", "--since", "5m")
    assert done.returncode == 0 and f"remote-{user}" in done.stdout, done.stdout[-2000:] + done.stderr
    assert library(stack, outputs, tmp_path, "maintenance", "on").returncode == 0
    assert http("GET", f"{url}api/books/").status_code == 503
    assert library(stack, outputs, tmp_path, "maintenance", "off").returncode == 0
    assert http("GET", f"{url}api/books/").status_code == 200


def test_a_code_redeploy_over_ssh_fails_no_request_and_keeps_the_data(deployed, inner):
    stack, first = deployed
    url = loopback(first["url"])
    token = stack.api_token(first["api_container_names"][0])
    book = {"title": "Remote", "author": "Host", "isbn": isbn13(f"979{secrets.randbelow(10**9):09d}")}
    assert http("POST", f"{url}api/books/", token, json=book).status_code == 201
    before = {b["id"] for b in all_books(url, token)}
    template = stack.repo / TEMPLATE
    marker = f"remote-marker-{secrets.token_hex(3)}"
    head, _, tail = template.read_text().rpartition("{% endblock %}")
    template.write_text(f"{head}<!-- {marker} -->\n{{% endblock %}}{tail}")

    load = ContinuousLoad(url, token, seed=11).start()
    started = time.monotonic()
    second = stack.deploy(**NO_THROTTLING)
    took = time.monotonic() - started
    result = load.stop()
    failed = len(result.failures)
    print(f"\ncode redeployment over ssh: {took:.1f} s, {result.requests} requests during it, {failed} failed")
    assert result.failures == [], result.failures[:5]
    assert second["image"] != first["image"]
    assert marker in http("GET", url).text
    assert before <= {b["id"] for b in all_books(url, token)}
    # The drain hook reached the remote engine: its drain containers ran there, on the stack's labels.
    assert not set(first["api_container_names"]) & {c.name for c in inner.containers.list(all=True)}


def test_two_stacks_share_a_host_and_destroying_one_leaves_the_other(shipped, node, inner, live_docker, tmp_path):
    staging = remote_stack(node, inner, tmp_path / "staging", "staging", node.ports[1])
    prod = remote_stack(node, inner, tmp_path / "prod", "prod", node.ports[2])
    try:
        outputs = {s.stack: s.deploy(**NO_THROTTLING) for s in (staging, prod)}
        a, b = outputs[staging.stack], outputs[prod.stack]
        for key in ("network_name", "volume_name", "db_container_name", "proxy_container_name", "url"):
            assert a[key] != b[key], key
        assert loopback(a["url"]).endswith(f":{node.ports[1]}/") and loopback(b["url"]).endswith(f":{node.ports[2]}/")
        for out in (a, b):
            assert http("GET", f"{loopback(out['url'])}readyz").status_code == 200

        staging.destroy()
        of_staging = {"label": f"{STACK_LABEL}={staging.stack}"}
        assert inner.containers.list(all=True, filters=of_staging) == []
        assert [v.name for v in inner.volumes.list(filters=of_staging)] == [a["volume_name"]], (
            "only the retained volume is left of the destroyed stack"
        )
        assert http("GET", f"{loopback(b['url'])}api/books/").status_code == 200
        assert local_objects(live_docker, staging) == [] and local_objects(live_docker, prod) == []
    finally:
        staging.cleanup()
        prod.cleanup()


@pytest.mark.parametrize(
    ("fault", "expected", "advice"),
    [
        ("unknown host key", "Host key verification failed", "ssh-keyscan -p"),
        ("another key", "Permission denied (publickey)", "refused the key"),
        # The node's port is forwarded by docker-proxy, which accepts and resets (a host without
        # a forwarder refuses: "Connection refused", with its own advice: tests/unit/test_infra_engine.py).
        ("sshd down", "kex_exchange_identification", "is sshd running behind that port"),
        ("not in the docker group", "docker.sock: connect: permission denied", "add it to the docker group"),
        ("engine down", "failed to open the raw stream connection", "start it there"),
    ],
)  # fmt: skip
def test_a_host_that_cannot_be_used_fails_up_with_what_to_do(shipped, node, inner, tmp_path, fault, expected, advice):
    ssh_opts = list(node.ssh_opts)
    undo = None
    if fault == "unknown host key":
        empty = tmp_path / "known_hosts"
        empty.write_text("")
        ssh_opts = [o.replace(str(node.known_hosts), str(empty)) for o in ssh_opts]
    elif fault == "another key":
        from tests.remote.conftest import make_key

        ssh_opts = [str(make_key(tmp_path / "stranger")) if o == str(node.key) else o for o in ssh_opts]
    elif fault == "sshd down":
        node.container.exec_run(["pkill", "-x", "sshd"])
        undo = ["/usr/sbin/sshd", "-E", "/var/log/sshd.log"]
    elif fault == "not in the docker group":
        assert node.container.exec_run(["gpasswd", "-d", "deploy", "docker"]).exit_code == 0
        undo = ["adduser", "deploy", "docker"]
    elif fault == "engine down":
        assert node.container.exec_run(["mv", "/var/run/docker.sock", "/var/run/docker.sock.away"]).exit_code == 0
        undo = ["mv", "/var/run/docker.sock.away", "/var/run/docker.sock"]
    stack = remote_stack(node, inner, tmp_path, "fault", node.ports[3], ssh_opts=ssh_opts)
    try:
        started = time.monotonic()
        error = stack.deploy_expecting_failure()
        took = time.monotonic() - started
        print(f"\n{fault}: failed after {took:.1f} s: {str(error).splitlines()[-1][:300]}")
        assert node.ssh_url in str(error) and expected in str(error) and advice in str(error), str(error)[-3000:]
        assert took < 90
    finally:
        if undo:
            assert node.container.exec_run(undo).exit_code == 0
    wait_for(lambda: node.ssh("docker", "version").returncode == 0, timeout=30, what="the node usable again")
    assert not any(stack.objects().values()), f"nothing half-created: {stack.objects()}"


def test_a_connection_dropped_during_up_then_up_again_converges(shipped, node, inner, tmp_path):
    stack = remote_stack(node, inner, tmp_path, "dropped", node.ports[3])
    try:
        failed: list[BaseException] = []

        def first() -> None:
            try:
                stack.deploy(**NO_THROTTLING)
            except DeployError as error:
                failed.append(error)

        thread = threading.Thread(target=first)
        thread.start()
        # Once the database exists, every ssh connection drops and the host is unreachable for 3 s.
        wait_for(lambda: bool(stack.containers("db")), timeout=120, what="the database container")
        node.container.exec_run(["pkill", "-x", "sshd"])
        time.sleep(3)
        assert node.container.exec_run(["/usr/sbin/sshd", "-E", "/var/log/sshd.log"]).exit_code == 0
        thread.join(timeout=600)
        assert failed, "the first up must fail when its connection drops"
        print(f"\ndropped connection: {str(failed[0]).splitlines()[-1][:300]}")
        second = stack.deploy(**NO_THROTTLING)
        assert http("GET", f"{loopback(second['url'])}readyz").status_code == 200
        names = {c.name for c in stack.containers() if c.labels.get("org.library.component") in ("api", "db", "proxy")}
        assert names == {second["proxy_container_name"], second["db_container_name"], *second["api_container_names"]}
    finally:
        stack.cleanup()
