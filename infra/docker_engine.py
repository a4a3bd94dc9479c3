"""How the program reaches the Docker engine: exactly as the pulumi-docker provider does.

The drain hook (drain_hook.py) and the platform probe (app_image.py) talk to
the engine with the Docker SDK for Python; they must reach the engine the
provider deploys to, with the same settings. `resolve_engine` turns the
`docker:` config namespace and the environment into an `Engine` (validated,
every problem reported with its key), and `engine_client` opens a docker-py
client from it. Each rule cites the provider source it copies, at the commits
pulumi-docker 5.2.0 builds: pulumi/pulumi-docker@237b7899 (PD) and its
`upstream` submodule kreuzwerker/terraform-provider-docker@5074970c (TF),
which manages the containers; docker/cli@v28.5.2 (CLI) for the ssh helper.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import socket
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests.adapters
import urllib3
from parsers import DOCKER_HOST_SCHEMES

#: The provider's default host on Linux: TF internal/provider/provider.go:55, PD provider/resources.go:48.
DEFAULT_HOST = "unix:///var/run/docker.sock"
#: The files the provider reads in a certPath directory: TF internal/provider/config.go:153-157.
CERT_PATH_FILES = ("ca.pem", "cert.pem", "key.pem")
#: config key (docker: namespace) -> environment variable the provider falls back to when the key is unset:
#: TF internal/provider/provider.go:48-101 (DefaultFunc of host, context, ssh_opts, *_material, cert_path).
ENV_FALLBACKS = {
    "host": "DOCKER_HOST",
    "context": "DOCKER_CONTEXT",
    "sshOpts": "DOCKER_SSH_OPTS",
    "caMaterial": "DOCKER_CA_MATERIAL",
    "certMaterial": "DOCKER_CERT_MATERIAL",
    "keyMaterial": "DOCKER_KEY_MATERIAL",
    "certPath": "DOCKER_CERT_PATH",
}
#: The URL a command connection's adapter is mounted at (the CLI names one "http://docker.example.com":
#: cli/connhelper/connhelper.go:62). Not "http+docker://ssh": docker-py takes that for its paramiko
#: transport when it needs a stream's socket (docker/api/client.py: _get_raw_response_socket), which
#: `docker logs --follow`, attach and exec of the operator command do.
_SSH_BASE_URL = "http+docker://dial-stdio"


@dataclass(frozen=True)
class Engine:
    """The resolved connection to the Docker engine (what the provider uses)."""

    #: unix://, tcp://, ssh:// or npipe:// URL.
    host: str
    #: Extra ssh(1) options, for ssh:// hosts.
    ssh_opts: tuple[str, ...] = ()
    #: PEM contents (all three, or none).
    ca_material: str | None = None
    cert_material: str | None = None
    key_material: str | None = field(default=None, repr=False)
    #: A directory with ca.pem, cert.pem and key.pem.
    cert_path: str | None = None

    @property
    def transport(self) -> str:
        """How the provider connects, in its order of precedence (TF internal/provider/config.go:128-190):
        `tls-material`, `tls-cert-path`, `ssh`, or `direct`."""
        if self.cert_material or self.key_material or self.ca_material:
            return "tls-material"
        if self.cert_path:
            return "tls-cert-path"
        if self.host.startswith("ssh://"):
            return "ssh"
        return "direct"


def _from(raw: Mapping[str, str | None], environ: Mapping[str, str], name: str) -> tuple[str | None, str]:
    """A docker: key's value and where it came from: the config key when set, else its environment
    variable when non-empty (TF's schema.EnvDefaultFunc treats an empty variable as unset)."""
    value = raw.get(name)
    if value is not None:
        return value, f"docker:{name}"
    env = ENV_FALLBACKS[name]
    value = environ.get(env) or None
    return value, f"{env} (environment)"


def resolve_engine(
    raw: Mapping[str, str | None],
    environ: Mapping[str, str],
    *,
    secret_keys: Sequence[str] | None = None,
    home: str | None = None,
    problems: list[str],
) -> Engine | None:
    """The engine the provider reaches with docker: config `raw` (keys without the namespace, values as
    the CLI passes them: lists as JSON) and environment `environ`. Appends each problem to `problems`
    (with the key or variable it comes from) and returns None when there is any."""
    before = len(problems)
    host, host_from = _from(raw, environ, "host")
    host = (host or "").strip() or DEFAULT_HOST  # TF provider.go:48-56
    context, context_from = _from(raw, environ, "context")
    if context:
        # A context overrides the host: TF internal/provider/provider.go:204-214 (getContextHost).
        found = context_host(context, home or pwd.getpwuid(os.getuid()).pw_dir)
        if found is None:
            problems.append(
                f"{context_from}: no Docker context named {context!r} in ~/.docker/contexts/meta (the provider "
                "reads only the contexts stored there, not `default`); unset it or `docker context create` it"
            )
        host, host_from = found or host, f"{context_from} (the context's docker endpoint)"
    # docker:host itself is checked by parsers.docker_host (settings.py); the other sources here.
    if host_from != "docker:host" and not any(host.startswith(s) and len(host) > len(s) for s in DOCKER_HOST_SCHEMES):
        problems.append(f"{host_from}: must start with one of {', '.join(DOCKER_HOST_SCHEMES)}, got {host!r}")
    ssh_opts = _ssh_opts(raw, environ, host, problems)
    materials = {name: _from(raw, environ, name) for name in ("caMaterial", "certMaterial", "keyMaterial")}
    cert_path, cert_path_from = _from(raw, environ, "certPath")
    _check_materials(materials, cert_path, cert_path_from, secret_keys, problems)
    if cert_path and not any(value for value, _ in materials.values()):
        missing = [f for f in CERT_PATH_FILES if not (Path(cert_path) / f).is_file()]
        if missing:
            problems.append(
                f"{cert_path_from}: {cert_path!r} must be a directory holding {', '.join(CERT_PATH_FILES)} "
                f"(the provider's TLS files); missing: {', '.join(missing)}"
            )
    tls_from = next((src for value, src in materials.values() if value), cert_path_from if cert_path else None)
    if tls_from and not host.startswith("tcp://"):
        problems.append(
            f"{tls_from}: TLS settings need a tcp:// Docker host (the provider then speaks HTTPS to it), but the "
            f"host is {host!r} ({host_from}); unset the TLS settings or point docker:host at tcp://HOST:2376"
        )
    if len(problems) > before:
        return None
    return Engine(
        host=host,
        ssh_opts=ssh_opts,
        ca_material=_pem(materials["caMaterial"][0]),
        cert_material=_pem(materials["certMaterial"][0]),
        key_material=_pem(materials["keyMaterial"][0]),
        cert_path=cert_path or None,
    )


def _pem(text: str | None) -> str | None:
    return text.strip() + "\n" if text and text.strip() else None


def _ssh_opts(raw: Mapping[str, str | None], environ: Mapping[str, str], host: str, problems: list[str]) -> tuple:
    text, source = _from(raw, environ, "sshOpts")
    if text is None:
        return ()
    if source.startswith("docker:"):
        # A list in the stack file reaches the program as JSON (PD provider/image.go:1053-1058 parses it so).
        try:
            opts = json.loads(text)
        except ValueError:
            opts = None
        if not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
            problems.append(
                f'{source}: must be a list of ssh(1) arguments, e.g. ["-o", "ServerAliveInterval=30"], got {text!r}'
            )
            return ()
        if opts and not host.startswith("ssh://"):
            problems.append(f"{source}: only used with an ssh:// Docker host, and the host is {host!r}")
            return ()
        return tuple(opts)
    return tuple(text.split())  # TF internal/provider/provider.go:69-73: strings.Fields(DOCKER_SSH_OPTS)


def _check_materials(materials, cert_path, cert_path_from, secret_keys, problems: list[str]) -> None:
    given = {name: bool(value and value.strip()) for name, (value, _) in materials.items()}
    if any(given.values()):
        # PD provider/image.go:1014-1020 (its Configure fails otherwise); TF config.go:128-135 asks for less.
        missing = [f"docker:{name}" for name, ok in given.items() if not ok]
        if missing:
            present = next(src for (value, src) in materials.values() if value and value.strip())
            problems.append(
                f"{present}: TLS material needs all of docker:caMaterial, docker:certMaterial and "
                f"docker:keyMaterial (PEM contents); missing: {', '.join(missing)}"
            )
        if cert_path:
            problems.append(
                f"{cert_path_from}: must not be set together with TLS material (docker:caMaterial, "
                "docker:certMaterial, docker:keyMaterial): the provider refuses both"
            )
    for name in ("caMaterial", "certMaterial"):
        value, source = materials[name]
        if given[name] and ("-----BEGIN CERTIFICATE-----" not in value or "-----END CERTIFICATE-----" not in value):
            problems.append(f"{source}: must be PEM certificate contents (-----BEGIN CERTIFICATE----- ...)")
    value, source = materials["keyMaterial"]
    if given["keyMaterial"]:
        if "PRIVATE KEY-----" not in value or "-----BEGIN" not in value:
            problems.append(f"{source}: must be PEM private key contents (-----BEGIN PRIVATE KEY----- ...)")
        elif "ENCRYPTED" in value:
            problems.append(f"{source}: must not be passphrase-protected (the provider cannot ask for it)")
        if source == "docker:keyMaterial" and secret_keys is not None and source not in secret_keys:
            problems.append(
                f"{source}: must be a secret, or the private key sits in plain text in the stack file: "
                "`pulumi config set --secret docker:keyMaterial < key.pem`"
            )


def context_host(name: str, home: str) -> str | None:
    """The docker endpoint of context `name`, as TF internal/provider/provider.go:255-292 finds it:
    every ~/.docker/contexts/meta/*/meta.json, the one whose Name matches (None when none does)."""
    meta_dir = Path(home) / ".docker" / "contexts" / "meta"
    for meta_file in sorted(meta_dir.glob("*/meta.json")) if meta_dir.is_dir() else []:
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            continue  # the provider skips unreadable files too
        if isinstance(meta, dict) and meta.get("Name") == name:
            host = ((meta.get("Endpoints") or {}).get("docker") or {}).get("Host")
            return host if isinstance(host, str) else None
    return None


# --- ssh: the docker CLI's connection helper ------------------------------------------


def ssh_command(host: str, ssh_opts: Sequence[str]) -> list[str]:
    """The ssh command line the provider runs for an ssh:// host (CLI cli/connhelper/connhelper.go:40-63
    and cli/connhelper/ssh/ssh.go): `ssh [-l USER] [-p PORT] OPTS... -- HOST docker system dial-stdio`,
    OPTS being sshOpts plus `-o ConnectTimeout=30` (unless they mention ConnectTimeout) and `-T`."""
    url = urllib.parse.urlsplit(host)
    if url.scheme != "ssh" or not url.hostname:
        raise ValueError(f"not an ssh:// URL with a host name: {host!r}")  # CLI ssh.go:46-58
    if url.password is not None or url.query or url.fragment:
        raise ValueError("an ssh:// Docker host takes no password, query or fragment")  # CLI ssh.go:50-66
    flags = list(ssh_opts)
    if "ConnectTimeout" not in "".join(flags):
        flags.append("-o ConnectTimeout=30")  # CLI connhelper.go:76-81 (one argument, as there)
    if "-T" not in flags:
        flags.append("-T")  # CLI connhelper.go:85-92: no pseudo-terminal
    remote = ["docker", "system", "dial-stdio"]
    if url.path.strip("/"):
        remote = ["docker", f"--host=unix://{url.path}", "system", "dial-stdio"]  # CLI connhelper.go:52-56
    args = ["ssh"]
    if url.username:
        args += ["-l", shlex.quote(url.username)]
    if url.port is not None:
        args += ["-p", str(url.port)]
    return [*args, *flags, "--", shlex.quote(url.hostname), " ".join(shlex.quote(a) for a in remote)]


class _CommandConnection(urllib3.connection.HTTPConnection):
    """One HTTP connection over a new `argv` process (ssh ... dial-stdio), like the CLI's commandconn
    (cli/connhelper/commandconn/commandconn.go:34-71: stdin/stdout are the stream, a new session so
    that ssh cannot prompt). The process's end is a socketpair, so timeouts work."""

    def __init__(self, *args: Any, argv: Sequence[str], timeout: float, errors: list[str], **kwargs: Any):
        super().__init__("localhost", timeout=timeout)
        self.argv, self.command_timeout, self.errors = list(argv), timeout, errors
        self.process: subprocess.Popen | None = None

    def connect(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                self.argv, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE, start_new_session=True
            )
        ours.settimeout(self.command_timeout)
        self.sock = ours

    def close(self) -> None:
        super().close()
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.wait(timeout=3)  # our end closed: ssh sees the end of its input and exits
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=3)
        stderr = process.stderr.read().decode("utf-8", "replace").strip() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        if process.returncode not in (0, -15) and stderr:
            self.errors.append(stderr)


class _CommandAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose connections are `_CommandConnection`s (docker-py's own ssh adapter
    has no way to pass ssh options, and needs paramiko even when it shells out)."""

    def __init__(self, argv: Sequence[str], timeout: float):
        #: What the command said on stderr when it failed (ssh's reasons).
        self.errors: list[str] = []
        self.pool = urllib3.HTTPConnectionPool("localhost", timeout=timeout, maxsize=4, argv=argv, errors=self.errors)
        self.pool.ConnectionCls = _CommandConnection
        super().__init__()

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):  # noqa: ANN001
        return self.pool

    def get_connection(self, url, proxies=None):  # noqa: ANN001
        return self.pool

    def request_url(self, request, proxies):  # noqa: ANN001
        return request.path_url

    def close(self) -> None:
        self.pool.close()
        super().close()


def engine_record(engine: Engine) -> dict[str, Any]:
    """`engine` as a plain mapping (a stack output the operator command reads back: docs/operations.md)."""
    record: dict[str, Any] = {"host": engine.host, "ssh_opts": list(engine.ssh_opts)}
    for key in ("ca_material", "cert_material", "key_material", "cert_path"):
        if getattr(engine, key):
            record[key] = getattr(engine, key)
    return record


def engine_from_record(record: Mapping[str, Any]) -> Engine:
    """The inverse of engine_record; ValueError names what is wrong with the mapping."""
    host = record.get("host")
    if not isinstance(host, str) or not any(host.startswith(s) and len(host) > len(s) for s in DOCKER_HOST_SCHEMES):
        raise ValueError(f"host must start with one of {', '.join(DOCKER_HOST_SCHEMES)}, got {host!r}")
    ssh_opts = record.get("ssh_opts") or []
    if not isinstance(ssh_opts, list) or not all(isinstance(o, str) for o in ssh_opts):
        raise ValueError(f"ssh_opts must be a list of strings, got {ssh_opts!r}")
    optional = {k: record.get(k) for k in ("ca_material", "cert_material", "key_material", "cert_path")}
    for key, value in optional.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string, got {type(value).__name__}")
    return Engine(host=host, ssh_opts=tuple(ssh_opts), **optional)


# --- the client -------------------------------------------------------------------------


def client_arguments(engine: Engine, tls_dir: str | None) -> dict[str, Any]:
    """docker.DockerClient arguments for `engine`'s TLS and direct transports (ssh: see engine_client).
    `tls_dir` holds the TLS material written as files (docker-py reads files only)."""
    import docker.tls

    # API version negotiated, as the provider does (client.WithAPIVersionNegotiation, TF config.go:147-187).
    args: dict[str, Any] = {"base_url": engine.host, "version": "auto"}
    if engine.transport == "tls-material":
        assert tls_dir is not None
        # Client certificate, and the server verified against caMaterial: TF config.go:63-82, PD image.go:1092-1112.
        args["tls"] = docker.tls.TLSConfig(
            client_cert=(os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")),
            ca_cert=os.path.join(tls_dir, "ca.pem"),
            verify=True,
        )
    elif engine.transport == "tls-cert-path":
        assert engine.cert_path is not None
        # client.WithTLSClientConfig(ca.pem, cert.pem, key.pem): TF config.go:150-160; it always verifies
        # the server against ca.pem, whatever DOCKER_TLS_VERIFY says (the provider never reads it).
        ca, cert, key = (os.path.join(engine.cert_path, f) for f in CERT_PATH_FILES)
        args["tls"] = docker.tls.TLSConfig(client_cert=(cert, key), ca_cert=ca, verify=True)
    return args


@contextlib.contextmanager
def engine_client(engine: Engine, timeout: float) -> Iterator[Any]:
    """A docker.DockerClient connected as the provider connects to `engine`; closed (and TLS material
    files removed) on exit."""
    import docker

    with contextlib.ExitStack() as stack:
        tls_dir = None
        if engine.transport == "tls-material":
            tls_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="library-docker-tls-"))
            for name, text in zip(
                CERT_PATH_FILES, (engine.ca_material, engine.cert_material, engine.key_material), strict=True
            ):
                path = os.path.join(tls_dir, name)
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                    f.write(text or "")
        # A client with a fixed API version makes no request; the transport is completed first, and
        # then the version negotiated, as the provider does (client.WithAPIVersionNegotiation).
        arguments = client_arguments(engine, tls_dir)
        arguments["version"] = docker.constants.MINIMUM_DOCKER_API_VERSION
        adapter = None
        if engine.transport == "ssh":
            adapter = _CommandAdapter(ssh_command(engine.host, engine.ssh_opts), timeout)
            arguments["base_url"] = "tcp://127.0.0.1:9"  # replaced below; never contacted
        client = docker.DockerClient(timeout=timeout, **arguments)
        stack.callback(client.close)
        if adapter is not None:
            client.api.mount(_SSH_BASE_URL, adapter)
            client.api.base_url = _SSH_BASE_URL
        _pin_verification(client)
        try:
            client.api._version = client.api._retrieve_server_version()
        except Exception as error:
            said = adapter.errors[-1] if adapter is not None and adapter.errors else ""
            raise ConnectionError(
                f"cannot reach the Docker engine at {engine.host}: {error}"
                + (f"; ssh said: {said}" if said else "")
                + (f". {advice}" if (advice := connection_advice(engine.host, f"{said} {error}")) else "")
            ) from error
        yield client


#: What ssh or the remote docker CLI says when a remote engine cannot be reached, and what to do.
_ADVICE = (
    # The remote `docker system dial-stdio` (docker CLI cli/command/system/dial_stdio.go) could not open the socket.
    (
        "docker.sock: connect: permission denied",
        "{user} may not use Docker on {host}: add it to the docker group "
        "there (usermod -aG docker {user}), then log in again",
    ),
    (
        "permission denied while trying to connect to the Docker daemon socket",
        "{user} may not use Docker on "
        "{host}: add it to the docker group there (usermod -aG docker {user}), then log in again",
    ),
    (
        "failed to open the raw stream connection",
        "sshd answers but the Docker engine on {host} does not: start it there (systemctl start docker)",
    ),
    (
        "Cannot connect to the Docker daemon",
        "sshd answers but the Docker engine on {host} does not: start it there (systemctl start docker)",
    ),
    (
        "docker: command not found",
        "the host has no docker CLI, which the ssh connection runs "
        "(`docker system dial-stdio`): install docker.io there",
    ),
    # ssh itself.
    (
        "Host key verification failed",
        "the host's key is not the one known_hosts holds for {where} (or none is "
        "there): check it, then add it (ssh-keyscan -p {port} {host} >> the UserKnownHostsFile of docker:sshOpts, "
        "or ~/.ssh/known_hosts)",
    ),
    (
        "Permission denied (publickey",
        "{user}@{host} refused the key: check `-i KEY` in docker:sshOpts and the "
        "user's ~/.ssh/authorized_keys on the host",
    ),
    ("Connection refused", "nothing accepts ssh connections at {where}: is sshd running there, is the port right?"),
    # Behind a port forward (docker-proxy, a NAT) the forwarder accepts and resets instead.
    (
        "kex_exchange_identification",
        "{where} accepted the connection and closed it before ssh began: is sshd "
        "running behind that port (or does it refuse: MaxStartups, a firewall)?",
    ),
    ("timed out", "no answer from {where}: is the host up, does a firewall drop the ssh port?"),
    ("Could not resolve hostname", "{host} is not a known host name"),
    (
        "Connection closed by",
        "{where} closed the connection: sshd refused it (MaxStartups, AllowUsers?) or the network dropped it",
    ),
)


def connection_advice(host: str, said: str) -> str:
    """What to do when `host` cannot be reached and ssh (or the engine) said `said`; "" for other hosts."""
    url = urllib.parse.urlsplit(host)
    if url.scheme != "ssh":
        return ""
    port = url.port or 22
    fields = {"host": url.hostname, "port": port, "user": url.username or "the user", "where": f"{url.hostname}:{port}"}
    return next((advice.format(**fields) for pattern, advice in _ADVICE if pattern in said), "")


def _pin_verification(client: Any) -> Any:
    """Verify the engine against the CA of its settings only. requests lets REQUESTS_CA_BUNDLE and
    CURL_CA_BUNDLE replace a session's CA file (Session.merge_environment_settings); the provider's
    TLS client trusts only that CA (TF config.go:75-80, docker's WithTLSClientConfig). Proxies from
    the environment still apply, as in the provider (http.ProxyFromEnvironment, TF config.go:101)."""
    api = client.api
    merge = api.merge_environment_settings

    def merged(url, proxies, stream, verify, cert):  # noqa: ANN001 - requests' signature
        settings = merge(url, proxies, stream, verify, cert)
        settings["verify"] = api.verify
        return settings

    api.merge_environment_settings = merged
    return client


def engine_platform(client: Any) -> str:
    """The engine's own platform as os/arch[/variant] (`linux/amd64`, `linux/arm64`, `linux/arm/v7`):
    Os and Arch of its /version (Go's names, what images are tagged with), the arm variant from
    /info's Architecture (uname -m: armv7l)."""
    version = client.version()
    os_name, arch = str(version.get("Os") or "").lower(), str(version.get("Arch") or "").lower()
    if not os_name or not arch:
        raise ValueError(f"the engine did not say its Os and Arch: {version!r}")
    platform = f"{os_name}/{arch}"
    if arch == "arm":
        machine = str(client.info().get("Architecture") or "")
        if machine.startswith("armv") and machine[4:5].isdigit():
            platform += f"/v{machine[4]}"
    return platform
