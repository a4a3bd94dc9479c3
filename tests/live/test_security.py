"""Security properties of the deployed stack, checked on the real containers:
the database is not published on the host, the API runs as a non-root user on
a read-only root file system without capabilities or privilege escalation,
and no generated secret ends up in an image or a label."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.live.conftest import http

pytestmark = pytest.mark.live

APP_UID = "10001"
SECRET_ENV = ("POSTGRES_PASSWORD", "DJANGO_SECRET_KEY", "DATABASE_URL")


@pytest.fixture(scope="module")
def deployed(module_live_stack):
    outputs = module_live_stack.deploy()
    return module_live_stack, outputs


def env_of(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.attrs["Config"]["Env"] or [])


def exec_out(container, cmd) -> tuple[int, str]:
    result = container.exec_run(cmd)
    return result.exit_code, result.output.decode("utf-8", "replace")


def test_database_is_not_published_on_the_host(deployed):
    stack, outputs = deployed
    db = stack.client.containers.get(outputs["db_container_name"])
    assert not db.attrs["HostConfig"].get("PortBindings"), db.attrs["HostConfig"].get("PortBindings")
    assert not db.attrs["HostConfig"].get("PublishAllPorts")
    published = {k: v for k, v in (db.attrs["NetworkSettings"].get("Ports") or {}).items() if v}
    assert published == {}, f"database ports published on the host: {published}"
    assert list(db.attrs["NetworkSettings"]["Networks"]) == [outputs["network_name"]]
    # Only containers on the stack network reach it, by its alias.
    api = stack.client.containers.get(outputs["api_container_names"][0])
    code, out = exec_out(api, ["python", "-c", "import socket; socket.create_connection(('db', 5432), 3).close()"])
    assert code == 0, out
    # The API containers publish nothing: the proxy's one port, on 127.0.0.1, is the way in.
    for name in outputs["api_container_names"]:
        ports = stack.client.containers.get(name).attrs["NetworkSettings"]["Ports"]
        assert not any(ports.values()), ports
    proxy = stack.client.containers.get(outputs["proxy_container_name"])
    published = {k: v for k, v in proxy.attrs["NetworkSettings"]["Ports"].items() if v}
    assert published == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(stack.host_port)}]}


def test_the_proxy_runs_unprivileged(deployed):
    stack, outputs = deployed
    proxy = stack.client.containers.get(outputs["proxy_container_name"])
    host = proxy.attrs["HostConfig"]
    assert proxy.attrs["Config"]["User"] == "101:101"
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert "no-new-privileges:true" in (host.get("SecurityOpt") or [])
    assert host["Privileged"] is False and host["Memory"] > 0
    top = proxy.top(ps_args="-o uid,pid,comm")
    uid_column = top["Titles"].index("UID")
    assert {row[uid_column] for row in top["Processes"]} == {"101"}, top
    code, status = exec_out(proxy, ["cat", "/proc/1/status"])
    assert code == 0 and "CapEff:\t0000000000000000" in status and "NoNewPrivs:\t1" in status


@pytest.mark.parametrize("component", ["api", "migrate"])
def test_service_containers_are_configured_hardened(deployed, component):
    stack, _ = deployed
    containers = stack.containers(component)
    assert containers
    for container in containers:
        host = container.attrs["HostConfig"]
        assert container.attrs["Config"]["User"].split(":")[0] == APP_UID
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
        assert "no-new-privileges:true" in (host.get("SecurityOpt") or [])
        assert host["Privileged"] is False
        assert host["Memory"] > 0


def test_api_processes_run_unprivileged(deployed):
    stack, outputs = deployed
    for name in outputs["api_container_names"]:
        api = stack.client.containers.get(name)
        top = api.top(ps_args="-o uid,pid,comm")
        uid_column = top["Titles"].index("UID")
        assert {row[uid_column] for row in top["Processes"]} == {APP_UID}, top
        assert exec_out(api, ["id", "-u"]) == (0, f"{APP_UID}\n")
        code, out = exec_out(api, ["sh", "-c", "touch /probe-rootfs"])
        assert code != 0 and "Read-only file system" in out
        code, out = exec_out(api, ["sh", "-c", "touch /app/probe-app"])
        assert code != 0
        code, status = exec_out(api, ["cat", "/proc/1/status"])
        assert code == 0
        fields = dict(re.findall(r"^(\w+):\s+(.*)$", status, re.M))
        for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            assert int(fields[cap], 16) == 0, f"{cap}={fields[cap]}"
        assert fields["NoNewPrivs"] == "1"
        assert fields["Uid"].split()[0] == APP_UID


def secret_values(stack, outputs) -> set[str]:
    """The generated secrets: from the secret outputs and the containers' environments."""
    values: set[str] = set()
    for name in outputs.secret_names:
        url = urlsplit(outputs[name]) if str(outputs[name]).startswith("postgres") else None
        values.add(str(outputs[name]))
        if url and url.password:
            values.add(url.password)
    for container in stack.containers():
        env = env_of(container)
        for key in SECRET_ENV:
            if env.get(key):
                values.add(env[key])
                password = urlsplit(env[key]).password if "://" in env[key] else None
                if password:
                    values.add(password)
    values = {v for v in values if len(v) >= 16}
    assert len(values) >= 3, "expected the database password, DATABASE_URL and the Django secret key"
    return values


def test_no_secret_in_images_or_labels(deployed):
    stack, outputs = deployed
    client = stack.client
    values = secret_values(stack, outputs)
    blobs: dict[str, str] = {}
    image_ids = {outputs["image"]} | {c.image.id for c in stack.containers()}
    for image_id in image_ids:
        image = client.images.get(image_id)
        history = client.api.history(image_id)
        steps = (str(h.get("CreatedBy", "")) + str(h.get("Comment", "")) for h in history)
        blobs[f"history of {image_id[:19]}"] = "\n".join(steps)
        config = image.attrs["Config"] or {}
        blobs[f"env of {image_id[:19]}"] = "\n".join(config.get("Env") or [])
        blobs[f"labels of {image_id[:19]}"] = repr(config.get("Labels"))
    for container in stack.containers():
        blobs[f"labels of {container.name}"] = repr(container.labels)
    for network in client.networks.list(names=[outputs["network_name"]]):
        blobs[f"labels of network {network.name}"] = repr(network.attrs.get("Labels"))
    blobs["labels of the volume"] = repr(client.volumes.get(outputs["volume_name"]).attrs.get("Labels"))
    leaks = [where for where, text in blobs.items() for value in values if value in text]
    assert not leaks, f"a generated secret appears in: {sorted(set(leaks))}"


def test_no_secret_in_the_service_image_layers(deployed):
    stack, outputs = deployed
    values = [v.encode() for v in secret_values(stack, outputs)]
    keep = max(len(v) for v in values)
    image = stack.client.images.get(outputs["image"])
    tail, found = b"", []
    for chunk in image.save(chunk_size=1 << 20):
        data = tail + chunk
        found += [v for v in values if v in data]
        tail = data[-keep:]
    assert not found, "a generated secret is inside the service image's layers"


def test_the_api_still_answers(deployed):
    _, outputs = deployed
    assert http("GET", f"{outputs['url']}readyz").status_code == 200
