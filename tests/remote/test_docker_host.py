"""The test Docker host itself: what the remote tier relies on, proven on one node.

Its engine answers over ssh with the tier's key and known_hosts only; it is not
the outer engine; it runs images shipped to it (it cannot pull) and its published
ports are reachable on loopback; sshd refuses other keys, passwords and a host
key that does not match. docs/testing.md, "The remote tier".
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.remote.conftest import TEST_LABEL, make_key, ssh_options

pytestmark = [pytest.mark.docker, pytest.mark.remote]

PYTHON_IMAGE = "library-base/python:bookworm"


@pytest.fixture(scope="module")
def node(docker_host):
    return docker_host("node1")


@pytest.fixture(scope="module")
def node_with_python(node, docker_client):
    """The node with the Python base image, shipped as `docker save | docker load` (it cannot pull)."""
    if not docker_client.images.list(name=PYTHON_IMAGE):
        pytest.skip(f"{PYTHON_IMAGE} is not on the engine (bash scripts/build-debian-images.sh python)")
    sent = 0

    def counted(chunks):
        nonlocal sent
        for chunk in chunks:
            sent += len(chunk)
            yield chunk

    started = time.monotonic()
    with node.client() as inner:
        loaded = inner.images.load(counted(docker_client.images.get(PYTHON_IMAGE).save(named=True)))
    took = time.monotonic() - started
    print(f"\n{PYTHON_IMAGE}: {sent / 1e6:.1f} MB saved and loaded into {node.name!r} in {took:.1f} s")
    assert PYTHON_IMAGE in {tag for image in loaded for tag in image.tags}
    return node


def test_the_inner_engine_answers_over_ssh_and_is_not_the_outer_one(node, docker_client):
    with node.client() as inner:
        info = inner.info()
        assert inner.version()["Os"] == "linux"
    # The node's own engine: named after the node's hostname, another engine id than the outer one.
    assert info["Name"] == node.container.name
    assert info["ID"] != docker_client.info()["ID"]
    assert node.ssh_url == f"ssh://deploy@127.0.0.1:{node.ssh_port}"
    # Only loopback: sshd and the service ports are published on 127.0.0.1 and nowhere else.
    published = node.container.attrs["HostConfig"]["PortBindings"]
    assert {binding["HostIp"] for bindings in published.values() for binding in bindings} == {"127.0.0.1"}
    assert published["22/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(node.ssh_port)}]


def test_a_port_the_inner_engine_publishes_answers_on_loopback(node_with_python, docker_client):
    node = node_with_python
    port = node.ports[0]
    with node.client() as inner:
        served = inner.containers.run(
            PYTHON_IMAGE,
            ["python3", "-m", "http.server", "80"],
            detach=True,
            name=f"web-{uuid.uuid4().hex[:6]}",
            ports={"80/tcp": port},
            labels={TEST_LABEL: "remote-inner"},
        )
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, f"nothing answered on 127.0.0.1:{port}"
        assert "Directory listing" in answer.text
        # The container lives on the node's engine only.
        assert inner.containers.get(served.id).status == "running"
    assert docker_client.containers.list(all=True, filters={"id": served.id}) == []
    assert docker_client.containers.list(all=True, filters={"name": served.name}) == []


def test_another_key_is_refused(node, tmp_path):
    stranger = ssh_options(make_key(tmp_path / "stranger"), node.known_hosts)
    refused = node.ssh("true", ssh_opts=stranger)
    assert refused.returncode == 255
    assert "Permission denied (publickey)." in refused.stderr
    with pytest.raises(ConnectionError, match=r"Permission denied \(publickey\)"):
        with node.client(timeout=30, ssh_opts=stranger):
            pass


def test_password_login_is_refused(node):
    """The server lists the methods it accepts in its refusal: only publickey (with password login
    on, the same command says `Permission denied (publickey,password).`)."""
    refused = node.ssh("true", ssh_opts=[*node.ssh_opts, "-o", "PreferredAuthentications=password"])
    assert refused.returncode == 255
    assert refused.stderr.strip().endswith("Permission denied (publickey)."), refused.stderr
    # root cannot log in either, even with the deploy user's key.
    assert "Permission denied (publickey)." in node.ssh("true", user="root").stderr


@pytest.mark.parametrize("known", ["another key", "no key"])
def test_a_host_key_that_does_not_match_is_refused(node, tmp_path, known):
    known_hosts = tmp_path / "known_hosts"
    if known == "another key":
        impostor = make_key(tmp_path / "impostor")
        key_type, key = (tmp_path / "impostor.pub").read_text().split()[:2]
        known_hosts.write_text(f"[127.0.0.1]:{node.ssh_port} {key_type} {key}\n")
        expected = r"REMOTE HOST IDENTIFICATION HAS CHANGED(.|\n)*Host key verification failed"
        assert impostor.exists()
    else:
        known_hosts.write_text("")
        expected = r"No ED25519 host key is known for \[127\.0\.0\.1\]:\d+(.|\n)*Host key verification failed"
    opts = ssh_options(node.key, known_hosts)
    with pytest.raises(ConnectionError, match=expected) as refused:
        with node.client(timeout=30, ssh_opts=opts):
            pass
    assert node.ssh_url in str(refused.value)
