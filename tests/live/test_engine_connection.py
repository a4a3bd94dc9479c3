"""The program's own connection to the Docker engine (infra/docker_engine.py), against a real engine.

The drain hook and the platform probe reach the engine as the provider does.
Here they reach this machine's engine two ways the provider supports:

- tcp:// + TLS material (docker:caMaterial/certMaterial/keyMaterial): the
  engine behind a TLS endpoint on 127.0.0.1 that requires a client
  certificate from the test's own CA (an in-process terminator in front of
  the engine's Unix socket: what dockerd --tlsverify does, without a second
  engine);
- ssh:// + docker:sshOpts: the provider's ssh command line run by an `ssh` on
  PATH that records its arguments and runs `docker system dial-stdio` here
  (no sshd on these machines: the transport is real, the ssh hop is not).

Only 127.0.0.1 is contacted. Containers carry org.library.test, unique names,
and are removed.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import load_infra_module

pytestmark = pytest.mark.docker

TEST_LABEL = "org.library.test"
HELPER_IMAGE = "library-base/python:bookworm"


@pytest.fixture(scope="module")
def de():
    return load_infra_module("docker_engine")


@pytest.fixture(scope="module")
def settings_mod():
    return load_infra_module("settings")


@pytest.fixture(scope="module")
def engine_socket(docker_client):
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip(f"the engine is not on a Unix socket here ({host})")
    return host[len("unix://") :]


@pytest.fixture(scope="module")
def helper_image(docker_client):
    if not docker_client.images.list(name=HELPER_IMAGE):
        pytest.skip(f"{HELPER_IMAGE} not on the engine (scripts/build-debian-images.sh)")
    return HELPER_IMAGE


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def issue(cwd: Path, ca: str, name: str, cn: str, ext: str) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
            "-subj", f"/CN={cn}", cwd=cwd)  # fmt: skip
    (cwd / f"{name}.ext").write_text(ext)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext", cwd=cwd)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1, a client certificate; and a second, unrelated CA."""
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem",
                "-days", "1", "-subj", f"/CN=library test {ca}", cwd=d)  # fmt: skip
    issue(d, "ca", "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    issue(d, "ca", "client", "library-deployer", "extendedKeyUsage=clientAuth\n")
    issue(d, "other-ca", "stranger", "stranger", "extendedKeyUsage=clientAuth\n")
    return d


class TlsEngineEndpoint:
    """127.0.0.1:<port>, TLS with a required client certificate, forwarded to the engine's socket."""

    def __init__(self, pki: Path, engine_socket: str):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki / "server.pem", pki / "server-key.pem")
        self.context.load_verify_locations(pki / "ca.pem")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.engine_socket = engine_socket
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.clients: list[str] = []  # subject CN of each accepted client
        self.refused: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as error:
            self.refused.append(str(error))
            conn.close()
            return
        subject = dict(item[0] for item in tls.getpeercert()["subject"])
        self.clients.append(subject.get("commonName", "?"))
        with tls, socket.socket(socket.AF_UNIX) as up:
            up.connect(self.engine_socket)
            self._pump(tls, up)

    @staticmethod
    def _pump(tls: ssl.SSLSocket, up: socket.socket) -> None:
        while True:
            readable, _, _ = select.select([tls, up], [], [], 60)
            if not readable:
                return
            if tls in readable or tls.pending():
                try:
                    data = tls.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                if not data:
                    return
                up.sendall(data)
            if up in readable:
                data = up.recv(65536)
                if not data:
                    return
                tls.sendall(data)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def tls_endpoint(pki, engine_socket):
    endpoint = TlsEngineEndpoint(pki, engine_socket)
    yield endpoint
    endpoint.close()


def run_labeled(client, image: str, scenario: str) -> str:
    """What the drain hook does with its helper (run, wait, logs, remove), through `client`."""
    name = f"library-test-{scenario}-{secrets.token_hex(4)}"
    helper = client.containers.run(
        image=image,
        command=["sh", "-c", "echo reached"],
        labels={TEST_LABEL: scenario},
        name=name,
        detach=True,
    )
    try:
        assert helper.wait(timeout=60)["StatusCode"] == 0
        return helper.logs().decode().strip()
    finally:
        helper.remove(force=True)


def test_tls_material_reaches_the_engine_with_the_client_certificate(
    de, settings_mod, pki, tls_endpoint, docker_client, helper_image
):
    material = {
        "caMaterial": (pki / "ca.pem").read_text(),
        "certMaterial": (pki / "client.pem").read_text(),
        "keyMaterial": (pki / "client-key.pem").read_text(),
    }
    settings = settings_mod.parse_settings(
        {},
        project="library",
        stack="tlstest",
        docker_host=f"tcp://127.0.0.1:{tls_endpoint.port}",
        docker_config=material,
        secret_keys=["docker:keyMaterial"],
    )
    assert settings.engine.transport == "tls-material"
    with de.engine_client(settings.engine, 60) as client:
        local = docker_client.version()
        assert de.engine_platform(client) == f"{local['Os']}/{local['Arch']}"
        assert run_labeled(client, helper_image, "engine-tls") == "reached"
    assert tls_endpoint.clients and set(tls_endpoint.clients) == {"library-deployer"}
    assert docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}=engine-tls"}) == []


def test_tls_is_refused_with_a_foreign_ca_or_client_certificate(de, pki, tls_endpoint):
    port = tls_endpoint.port
    ours = (pki / "ca.pem").read_text(), (pki / "client.pem").read_text(), (pki / "client-key.pem").read_text()
    stranger = (pki / "stranger.pem").read_text(), (pki / "stranger-key.pem").read_text()
    foreign_ca = (pki / "other-ca.pem").read_text()
    for ca, cert, key in [(foreign_ca, ours[1], ours[2]), (ours[0], *stranger)]:
        engine = de.Engine(host=f"tcp://127.0.0.1:{port}", ca_material=ca, cert_material=cert, key_material=key)
        with pytest.raises(Exception) as caught, de.engine_client(engine, 10) as client:
            client.version()
        assert "SSL" in repr(caught.value) or "ssl" in repr(caught.value).lower() or "Connection" in repr(caught.value)
    assert tls_endpoint.clients == []  # no request reached the engine


@pytest.fixture
def recording_ssh(tmp_path, monkeypatch):
    """An `ssh` first on PATH: records its argv, then runs `docker system dial-stdio` on this machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ssh-argv.jsonl"
    script = bin_dir / "ssh"
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\0" "$@" >> {log}\nprintf \'\\n\' >> {log}\nexec docker system dial-stdio\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    def calls() -> list[list[str]]:
        return [line.rstrip("\0").split("\0") for line in log.read_text().splitlines() if line]

    return calls


def test_ssh_with_ssh_opts_runs_the_providers_command_and_reaches_the_engine(
    de, settings_mod, recording_ssh, tmp_path, docker_client, helper_image
):
    opts = ["-o", f"UserKnownHostsFile={tmp_path}/known_hosts", "-i", f"{tmp_path}/id_ed25519"]
    settings = settings_mod.parse_settings(
        {},
        project="library",
        stack="sshtest",
        docker_host="ssh://deploy@127.0.0.1:2222",
        docker_config={"sshOpts": json.dumps(opts)},
    )
    with de.engine_client(settings.engine, 60) as client:
        local = docker_client.version()
        assert de.engine_platform(client) == f"{local['Os']}/{local['Arch']}"
        assert run_labeled(client, helper_image, "engine-ssh") == "reached"
    calls = recording_ssh()
    assert calls, "the client did not run ssh"
    expected = ["-l", "deploy", "-p", "2222", *opts, "-o ConnectTimeout=30", "-T", "--", "127.0.0.1"]
    assert all(call == [*expected, "docker system dial-stdio"] for call in calls), calls
    assert docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}=engine-ssh"}) == []


def test_the_engines_platform_is_what_it_builds_for(de, engine_socket, docker_client, helper_image):
    """The probe's answer (infra/app_image.py) names the platform of images this engine made natively."""
    with de.engine_client(de.Engine(host=f"unix://{engine_socket}"), 30) as client:
        platform = de.engine_platform(client)
    image = docker_client.images.get(helper_image)
    assert platform == f"{image.attrs['Os']}/{image.attrs['Architecture']}"
