"""How the program reaches the Docker engine (infra/docker_engine.py): as the provider does.

The drain hook and the platform probe must talk to the engine the provider
deploys to, with the provider's settings: docker:host, docker:context,
docker:sshOpts, docker:caMaterial/certMaterial/keyMaterial, docker:certPath,
and their environment fallbacks. In-process, no engine needed.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import load_infra_module

CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEkeyZq9Zq9\n-----END PRIVATE KEY-----\n"
MATERIAL = {"caMaterial": CA, "certMaterial": CERT, "keyMaterial": KEY}
SECRET = ["docker:keyMaterial"]


@pytest.fixture(scope="module")
def de():
    return load_infra_module("docker_engine")


@pytest.fixture(scope="module")
def settings_mod():
    return load_infra_module("settings")


def resolve(de, raw=None, environ=None, **kwargs):
    problems: list[str] = []
    engine = de.resolve_engine(raw or {}, environ or {}, problems=problems, **kwargs)
    return engine, problems


def engine_of(de, raw=None, environ=None, **kwargs):
    engine, problems = resolve(de, raw, environ, **kwargs)
    assert problems == []
    return engine


@pytest.fixture
def cert_dir(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    return str(tmp_path)


# --- which transport, from which settings --------------------------------------------


def test_nothing_set_is_the_local_socket_without_tls(de):
    engine = engine_of(de)
    assert engine.host == "unix:///var/run/docker.sock"
    assert engine.transport == "direct"
    assert de.client_arguments(engine, None) == {"base_url": "unix:///var/run/docker.sock", "version": "auto"}


def test_ssh_host_with_ssh_opts_runs_the_providers_ssh_command(de):
    opts = ["-o", "UserKnownHostsFile=/k/known_hosts", "-i", "/k/id_ed25519"]
    engine = engine_of(de, {"host": "ssh://deploy@example.net:2222", "sshOpts": json.dumps(opts)})
    assert engine.transport == "ssh" and engine.ssh_opts == tuple(opts)
    assert de.ssh_command(engine.host, engine.ssh_opts) == [
        "ssh",
        "-l",
        "deploy",
        "-p",
        "2222",
        *opts,
        "-o ConnectTimeout=30",
        "-T",
        "--",
        "example.net",
        "docker system dial-stdio",
    ]


def test_ssh_command_keeps_a_given_connect_timeout_and_t_and_names_a_socket_path(de):
    argv = de.ssh_command("ssh://h/run/user/1000/docker.sock", ["-o", "ConnectTimeout=5", "-T"])
    assert argv == [
        "ssh",
        "-o",
        "ConnectTimeout=5",
        "-T",
        "--",
        "h",
        "docker --host=unix:///run/user/1000/docker.sock system dial-stdio",
    ]


@pytest.mark.parametrize("host", ["ssh://u:pw@h", "ssh://h?x=1", "ssh://h#f", "ssh://"])
def test_ssh_urls_the_cli_refuses_are_refused(de, host):
    with pytest.raises(ValueError):
        de.ssh_command(host, [])


def test_ssh_opts_fall_back_to_docker_ssh_opts_split_on_blanks(de):
    engine = engine_of(de, {"host": "ssh://h"}, {"DOCKER_SSH_OPTS": "-o  StrictHostKeyChecking=yes -4"})
    assert engine.ssh_opts == ("-o", "StrictHostKeyChecking=yes", "-4")


def test_tcp_with_tls_material_verifies_the_server_with_the_ca_and_shows_the_client_cert(de, cert_dir):
    engine = engine_of(de, {"host": "tcp://10.0.0.5:2376", **MATERIAL}, secret_keys=SECRET)
    assert engine.transport == "tls-material"
    args = de.client_arguments(engine, cert_dir)  # where engine_client writes the material
    assert args["base_url"] == "tcp://10.0.0.5:2376" and args["version"] == "auto"
    assert args["tls"].cert == (f"{cert_dir}/cert.pem", f"{cert_dir}/key.pem")
    assert args["tls"].ca_cert == f"{cert_dir}/ca.pem" and args["tls"].verify is True


def test_tls_material_reaches_docker_py_as_private_files_removed_afterwards(de, monkeypatch):
    engine = engine_of(de, {"host": "tcp://10.0.0.5:2376", **MATERIAL}, secret_keys=SECRET)
    seen = {}

    class FakeClient:
        def __init__(self, **kwargs):
            tls = kwargs["tls"]
            seen["dir"] = os.path.dirname(tls.ca_cert)
            for path in (tls.ca_cert, *tls.cert):
                seen[os.path.basename(path)] = (open(path).read(), stat.S_IMODE(os.stat(path).st_mode))

            self.api = self

        def merge_environment_settings(self, *args):
            return {}

        def _retrieve_server_version(self):
            return "1.41"

        def close(self):
            seen["closed"] = True

    import docker

    monkeypatch.setattr(docker, "DockerClient", FakeClient)
    with de.engine_client(engine, 5):
        pass
    assert seen["ca.pem"] == (CA, 0o600) and seen["cert.pem"] == (CERT, 0o600) and seen["key.pem"] == (KEY, 0o600)
    assert seen["closed"] and not os.path.exists(seen["dir"])


def test_the_engines_ca_is_not_replaced_by_requests_ca_bundle(de, cert_dir, monkeypatch):
    # requests would let REQUESTS_CA_BUNDLE replace the session's CA file; the provider trusts the CA only.
    import docker

    engine = engine_of(de, {"host": "tcp://127.0.0.1:9", "certPath": cert_dir})
    arguments = {**de.client_arguments(engine, None), "version": "1.41"}
    client = de._pin_verification(docker.DockerClient(**arguments))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    merged = client.api.merge_environment_settings("https://127.0.0.1:9/version", {}, False, None, None)
    assert merged["verify"] == f"{cert_dir}/ca.pem"


def test_tcp_with_cert_path_verifies_whatever_docker_tls_verify_says(de, cert_dir):
    engine = engine_of(de, {"host": "tcp://h:2376", "certPath": cert_dir}, {"DOCKER_TLS_VERIFY": ""})
    assert engine.transport == "tls-cert-path"
    tls = de.client_arguments(engine, None)["tls"]
    assert tls.cert == (f"{cert_dir}/cert.pem", f"{cert_dir}/key.pem")
    assert tls.ca_cert == f"{cert_dir}/ca.pem" and tls.verify is True


def test_environment_fallbacks_when_the_keys_are_unset(de, cert_dir):
    engine = engine_of(de, {}, {"DOCKER_HOST": "tcp://env:2376", "DOCKER_CERT_PATH": cert_dir})
    assert (engine.host, engine.cert_path, engine.transport) == ("tcp://env:2376", cert_dir, "tls-cert-path")
    env_material = {"DOCKER_CA_MATERIAL": CA, "DOCKER_CERT_MATERIAL": CERT, "DOCKER_KEY_MATERIAL": KEY}
    engine = engine_of(de, {}, {"DOCKER_HOST": "tcp://env:2376", **env_material})
    assert engine.transport == "tls-material" and engine.key_material == KEY


def test_config_keys_win_over_the_environment_and_empty_variables_count_as_unset(de):
    environ = {"DOCKER_HOST": "tcp://env:2375", "DOCKER_CERT_PATH": ""}
    engine = engine_of(de, {"host": "unix:///run/docker.sock"}, environ)
    assert (engine.host, engine.transport) == ("unix:///run/docker.sock", "direct")


def test_a_context_overrides_the_host(de, tmp_path):
    meta = tmp_path / ".docker" / "contexts" / "meta" / "abc123"
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "remote", "Endpoints": {"docker": {"Host": "ssh://ctx"}}}))
    engine = engine_of(de, {"host": "unix:///x.sock"}, {"DOCKER_CONTEXT": "remote"}, home=str(tmp_path))
    assert engine.host == "ssh://ctx" and engine.transport == "ssh"
    _, problems = resolve(de, {"context": "elsewhere"}, home=str(tmp_path))
    assert problems == [
        "docker:context: no Docker context named 'elsewhere' in ~/.docker/contexts/meta (the provider reads only "
        "the contexts stored there, not `default`); unset it or `docker context create` it"
    ]


# --- what the provider would refuse, refused before anything is deployed ---------------


@pytest.mark.parametrize(
    ("raw", "environ", "problem"),
    [
        (
            {"host": "tcp://h:2376", "caMaterial": CA, "certMaterial": CERT},
            {},
            "docker:caMaterial: TLS material needs all of docker:caMaterial, docker:certMaterial and "
            "docker:keyMaterial (PEM contents); missing: docker:keyMaterial",
        ),
        (
            {"host": "tcp://h:2376", **MATERIAL, "certPath": "/certs"},
            {},
            "docker:certPath: must not be set together with TLS material (docker:caMaterial, docker:certMaterial, "
            "docker:keyMaterial): the provider refuses both",
        ),
        (
            {"host": "tcp://h:2376", **MATERIAL, "caMaterial": "not pem"},
            {},
            "docker:caMaterial: must be PEM certificate contents (-----BEGIN CERTIFICATE----- ...)",
        ),
        (
            {"host": "tcp://h:2376", **MATERIAL, "keyMaterial": KEY.replace("PRIVATE", "ENCRYPTED PRIVATE")},
            {},
            "docker:keyMaterial: must not be passphrase-protected (the provider cannot ask for it)",
        ),
        (
            {"host": "ssh://h", **MATERIAL},
            {},
            "docker:caMaterial: TLS settings need a tcp:// Docker host (the provider then speaks HTTPS to it), but "
            "the host is 'ssh://h' (docker:host); unset the TLS settings or point docker:host at tcp://HOST:2376",
        ),
        (
            {"host": "ssh://h"},
            {"DOCKER_CERT_PATH": "/certs"},
            "DOCKER_CERT_PATH (environment): TLS settings need a tcp:// Docker host (the provider then speaks "
            "HTTPS to it), but the host is 'ssh://h' (docker:host); unset the TLS settings or point docker:host "
            "at tcp://HOST:2376",
        ),
        (
            {"host": "ssh://h", "sshOpts": '"-i key"'},
            {},
            'docker:sshOpts: must be a list of ssh(1) arguments, e.g. ["-o", "ServerAliveInterval=30"], '
            "got '\"-i key\"'",
        ),
        (
            {"host": "tcp://h:2375", "sshOpts": '["-i", "key"]'},
            {},
            "docker:sshOpts: only used with an ssh:// Docker host, and the host is 'tcp://h:2375'",
        ),
        (
            {},
            {"DOCKER_HOST": "http://h:2375"},
            "DOCKER_HOST (environment): must start with one of unix://, tcp://, ssh://, npipe://, got 'http://h:2375'",
        ),
    ],
)
def test_settings_the_provider_refuses_are_reported_with_their_key(de, raw, environ, problem):
    engine, problems = resolve(de, raw, environ, secret_keys=SECRET)
    assert engine is None and problem in problems


def test_cert_path_must_hold_the_three_files(de, tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    _, problems = resolve(de, {"host": "tcp://h:2376", "certPath": str(tmp_path)})
    assert problems == [
        f"docker:certPath: {str(tmp_path)!r} must be a directory holding ca.pem, cert.pem, key.pem (the "
        "provider's TLS files); missing: cert.pem, key.pem"
    ]


def test_key_material_in_plain_text_in_the_stack_file_is_refused(de):
    _, problems = resolve(de, {"host": "tcp://h:2376", **MATERIAL}, secret_keys=[])
    assert problems == [
        "docker:keyMaterial: must be a secret, or the private key sits in plain text in the stack file: "
        "`pulumi config set --secret docker:keyMaterial < key.pem`"
    ]
    # From the environment it is no stack file's business.
    env = {"DOCKER_CA_MATERIAL": CA, "DOCKER_CERT_MATERIAL": CERT, "DOCKER_KEY_MATERIAL": KEY}
    assert resolve(de, {"host": "tcp://h:2376"}, env, secret_keys=[])[1] == []


# --- through the typed config ----------------------------------------------------------


def test_the_settings_carry_the_engine_and_keep_the_key_out_of_reprs(settings_mod):
    settings = settings_mod.parse_settings(
        {},
        project="library",
        stack="prod",
        docker_host="tcp://10.0.0.5:2376",
        docker_config=MATERIAL,
        secret_keys=SECRET,
    )
    assert settings.engine.host == "tcp://10.0.0.5:2376" and settings.engine.transport == "tls-material"
    assert "MIIEkey" not in repr(settings) and "MIIEkey" not in repr(settings.engine)


def test_engine_problems_come_with_the_others(settings_mod):
    with pytest.raises(settings_mod.ConfigError) as caught:
        settings_mod.parse_settings(
            {"apiReplicas": "0"},
            project="library",
            stack="dev",
            docker_host="ssh://h",
            docker_config={"certMaterial": CERT},
        )
    assert [p.split(":", 2)[1] for p in caught.value.problems][:1] == ["apiReplicas"]
    assert any(p.startswith("docker:certMaterial: TLS material needs all of") for p in caught.value.problems)


def test_the_program_reads_the_docker_namespace_and_the_environment(settings_mod, monkeypatch, cert_dir):
    import pulumi
    import pulumi.runtime

    monkeypatch.setattr(pulumi, "get_project", lambda: "library")
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    monkeypatch.setenv("DOCKER_CERT_PATH", cert_dir)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    pulumi.runtime.set_all_config({"docker:host": "tcp://10.0.0.5:2376", "docker:caMaterial": CA}, [])
    try:
        with pytest.raises(settings_mod.ConfigError) as caught:
            settings_mod.load_settings(lambda name: None)
        assert "docker:certPath" not in str(caught.value)  # the key is unset: the variable is named
        assert "DOCKER_CERT_PATH (environment): must not be set together with TLS material" in str(caught.value)
        pulumi.runtime.set_all_config({"docker:host": "tcp://10.0.0.5:2376"}, [])
        settings = settings_mod.load_settings(lambda name: None)
        assert (settings.engine.host, settings.engine.cert_path) == ("tcp://10.0.0.5:2376", cert_dir)
    finally:
        pulumi.runtime.set_all_config({}, [])


# --- the drain hook uses it ------------------------------------------------------------


def test_the_drain_hook_connects_with_the_whole_engine_config(infra_drain_hook, monkeypatch):
    de = load_infra_module("docker_engine")
    engine = de.Engine(host="ssh://deploy@h:2222", ssh_opts=("-i", "/k/id"))
    used = []

    class NoReplica:
        class containers:  # noqa: N801 - docker-py's attribute
            @staticmethod
            def list(filters):
                return []

    import contextlib

    @contextlib.contextmanager
    def fake_client(got, timeout):
        used.append((got, timeout))
        yield NoReplica()

    monkeypatch.setattr(infra_drain_hook, "engine_client", fake_client)
    hook = infra_drain_hook.make_drain_hook(engine=engine, port=8000, labels={})

    class Args:
        id = "abc"
        old_outputs = {"image": "sha256:x", "name": "api-0"}

    hook(Args())
    assert used == [(engine, infra_drain_hook.HELPER_TIMEOUT_SECONDS)]


@pytest.mark.parametrize(
    ("said", "advice"),
    [
        ("Host key verification failed.", "ssh-keyscan -p 2222 h.example >> the UserKnownHostsFile"),
        ("deploy@h.example: Permission denied (publickey).", "deploy@h.example refused the key"),
        ("ssh: connect to host h.example port 2222: Connection refused", "is sshd running there"),
        ("ssh: connect to host h.example port 2222: Connection timed out", "does a firewall drop the ssh port"),
        ("kex_exchange_identification: read: Connection reset by peer", "is sshd running behind that port"),
        (
            "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
            "usermod -aG docker deploy",
        ),
        ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
         "start it there"),
        ("bash: line 1: docker: command not found", "install docker.io there"),
        (
            "failed to open the raw stream connection: dial unix /var/run/docker.sock: connect: permission denied",
            "usermod -aG docker deploy",
        ),
        (
            "failed to open the raw stream connection: dial unix /var/run/docker.sock: connect: no such file",
            "start it there",
        ),
    ],
)  # fmt: skip
def test_a_remote_engine_that_cannot_be_reached_gets_advice(de, said, advice):
    assert advice in de.connection_advice("ssh://deploy@h.example:2222", said)


def test_no_advice_for_other_hosts_or_other_messages(de):
    assert de.connection_advice("tcp://h.example:2376", "Connection refused") == ""
    assert de.connection_advice("ssh://deploy@h.example", "something else") == ""
