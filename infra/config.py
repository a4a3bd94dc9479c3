"""Stack configuration: read, validate and freeze it before any resource exists.

Why a separate, pure module: a typo in a stack file must stop `pulumi up`
before anything is declared, with one message that lists *every* problem and
names the key and the accepted values. Parsing (`parse_settings`) is a pure
function of strings, so it is unit-tested without the Pulumi runtime;
`load_settings` is the thin adapter that reads `pulumi.Config`.

The defaults below are the single source of truth for the program; the
`config:` block of Pulumi.yaml repeats them for the CLI and the documentation,
and a unit test keeps the two in step.

This module imports nothing from its sibling modules (the tests load it on
its own).
"""
from __future__ import annotations

import difflib
import ipaddress
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import pulumi
from pulumi.runtime.config import is_config_secret

#: Project config namespace (the `name:` of Pulumi.yaml).
NAMESPACE = "library"

#: Every key of the `library` namespace, with its default (as the string a
#: stack file would hold). Order = order of documentation.
DEFAULTS: dict[str, str] = {
    "apiReplicas": "2",
    "hostPort": "8000",
    "bindAddress": "127.0.0.1",
    "pythonImage": "python:3.11-slim-bookworm",
    "apiImage": "",
    "postgresImage": "postgres:15-bookworm",
    "nginxImage": "nginx:1.27-bookworm",
    "apiMemoryMb": "512",
    "apiCpus": "1.0",
    "dbMemoryMb": "1024",
    "gunicornWorkers": "2",
    "gunicornThreads": "4",
    "retainDatabaseVolume": "true",
    "allowedHosts": "localhost,127.0.0.1",
    "https": "false",
    "tlsCertificate": "",
    "tlsKey": "",
    "production": "false",
    "throttleAnon": "600/minute",
    "throttleUser": "3000/minute",
}

# Bounds, named so that messages and docs say the same thing.
API_REPLICAS_RANGE = (1, 20)
PORT_RANGE = (1, 65535)
API_MEMORY_MB_RANGE = (64, 262144)
API_CPUS_RANGE = (0.0, 64.0)  # exclusive lower bound, inclusive upper bound
DB_MEMORY_MB_RANGE = (128, 1048576)
GUNICORN_RANGE = (1, 64)
DOCKER_HOST_SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")
# API throttle rates, DRF's form (the app's API_THROTTLE_ANON/USER): N/period or off.
THROTTLE_PERIODS = ("second", "minute", "hour", "day")
THROTTLE_OFF = "off"

# Docker image reference grammar (github.com/distribution/reference), enough to
# reject typos before Docker does it half-way through a deployment.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE_REF = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
# A host name or Django ALLOWED_HOSTS pattern: "*", ".example.com", "a.b", "[::1]".
_ALLOWED_HOST = re.compile(r"^(?:\*|\.?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$")
_TRUE, _FALSE = "true", "false"


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; lists every problem found.

    A `pulumi.RunError`, so the CLI prints the message without a traceback.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"invalid stack configuration ({len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}):\n{lines}\n"
            "Fix with `pulumi config set <key> <value>` (or edit Pulumi.<stack>.yaml); "
            "docs/deploy.md lists every key."
        )


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one stack. Immutable."""

    project: str
    stack: str
    api_replicas: int
    host_port: int
    bind_address: str
    python_image: str
    postgres_image: str
    api_memory_mb: int
    api_cpus: float
    db_memory_mb: int
    gunicorn_workers: int
    gunicorn_threads: int
    retain_database_volume: bool
    allowed_hosts: tuple[str, ...]
    https: bool
    production: bool
    #: Image (reference or id) the API runs instead of a build of the checkout: a rollback.
    api_image: Optional[str] = None
    nginx_image: str = DEFAULTS["nginxImage"]
    #: PEM certificate chain and key of the proxy's TLS listener (None: plain HTTP).
    tls_certificate: Optional[str] = field(default=None, repr=False)
    tls_key: Optional[str] = field(default=None, repr=False)
    throttle_anon: str = DEFAULTS["throttleAnon"]
    throttle_user: str = DEFAULTS["throttleUser"]
    docker_host: Optional[str] = None

    @property
    def prefix(self) -> str:
        """Prefix of every Docker object name: several stacks can share a host."""
        return f"{self.project}-{self.stack}"

    @property
    def tls(self) -> bool:
        """The proxy terminates TLS itself (tlsCertificate and tlsKey set)."""
        return self.tls_certificate is not None

    @property
    def serves_https(self) -> bool:
        """Clients reach the service over HTTPS: TLS at the proxy, or (`https`)
        at a proxy in front of it."""
        return self.https or self.tls

    @property
    def url_host(self) -> str:
        """The host part of the service URLs: the bind address, or localhost
        when bound to every interface; IPv6 in brackets."""
        addr = ipaddress.ip_address(self.bind_address)
        if addr.is_unspecified:
            return "localhost"
        return f"[{addr.compressed}]" if addr.version == 6 else addr.compressed

    @property
    def url(self) -> str:
        """The service's URL: the reverse proxy's published port."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.url_host}:{self.host_port}/"

    @property
    def csrf_trusted_origins(self) -> tuple[str, ...]:
        """Origins Django accepts for unsafe requests (forms, session auth).

        Plain HTTP: every allowed host on the proxy's published port. TLS at
        the proxy: https://host:hostPort (https://host on 443). `https`
        without TLS (a TLS proxy in front, on 443): https://host. "*" cannot
        be expressed and is skipped; ".example.com" becomes "*.example.com".
        """
        origins: list[str] = []
        for host in self.allowed_hosts:
            if host == "*":
                continue
            pattern = f"*{host}" if host.startswith(".") else host
            if self.tls:
                candidate = f"https://{pattern}" + ("" if self.host_port == 443 else f":{self.host_port}")
            elif self.https:
                candidate = f"https://{pattern}"
            else:
                candidate = f"http://{pattern}:{self.host_port}"
            if candidate not in origins:
                origins.append(candidate)
        return tuple(origins)


# --------------------------------------------------------------------------
# Parsing helpers: each returns a value, or None after recording a problem.
# --------------------------------------------------------------------------


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


def _int(raw: str, name: str, lo: int, hi: int, problems: list[str]) -> Optional[int]:
    text = raw.strip()
    try:
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError
        value = int(text)
    except ValueError:
        problems.append(f"{_key(name)}: must be an integer from {lo} to {hi}, got {raw!r}")
        return None
    if not lo <= value <= hi:
        problems.append(f"{_key(name)}: must be an integer from {lo} to {hi}, got {value}")
        return None
    return value


def _bool(raw: str, name: str, problems: list[str]) -> Optional[bool]:
    text = raw.strip().lower()
    if text == _TRUE:
        return True
    if text == _FALSE:
        return False
    problems.append(f"{_key(name)}: must be true or false, got {raw!r}")
    return None


def _cpus(raw: str, name: str, problems: list[str]) -> Optional[float]:
    lo, hi = API_CPUS_RANGE
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not lo < value <= hi:
        problems.append(
            f"{_key(name)}: must be a number greater than {lo:g} and at most {hi:g} "
            f"(e.g. 0.5, 1, 2.5), got {raw!r}"
        )
        return None
    return value


def _address(raw: str, name: str, problems: list[str]) -> Optional[str]:
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        problems.append(
            f"{_key(name)}: must be an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0, ::1 "
            f"(not a host name), got {raw!r}"
        )
        return None


def parse_image_reference(ref: str) -> Optional[tuple[str, Optional[str], Optional[str]]]:
    """(name, tag, digest) of a Docker image reference, or None if malformed."""
    match = _IMAGE_REF.match(ref)
    if not match or len(match.group("name")) > 255:
        return None
    return match.group("name"), match.group("tag"), match.group("digest")


def _image(raw: str, name: str, production: Optional[bool], problems: list[str]) -> Optional[str]:
    text = raw.strip()
    parsed = parse_image_reference(text)
    if parsed is None:
        problems.append(
            f"{_key(name)}: must be a Docker image reference like name:tag, "
            f"registry.example.com/team/name:tag or name@sha256:<digest>, got {raw!r}"
        )
        return None
    _, tag, digest = parsed
    if production and digest is None and (tag is None or tag == "latest"):
        problems.append(
            f"{_key(name)}: production stacks need a pinned image (an explicit tag other "
            f"than 'latest', or a @sha256 digest), got {raw!r}"
        )
        return None
    return text


def _hosts(raw: str, name: str, problems: list[str]) -> Optional[tuple[str, ...]]:
    entries = [entry.strip() for entry in raw.split(",")]
    bad = [entry for entry in entries if not entry or not _ALLOWED_HOST.match(entry)]
    if bad or not entries:
        shown = ", ".join(repr(b) for b in bad) if bad else repr(raw)
        problems.append(
            f"{_key(name)}: must be a comma-separated list of host names "
            f"(e.g. localhost,127.0.0.1,.example.com or *), with no empty entries, "
            f"schemes or ports; invalid: {shown}"
        )
        return None
    return tuple(dict.fromkeys(entries))  # de-duplicated, order kept


def _throttle_rate(raw: str, name: str, problems: list[str]) -> Optional[str]:
    """A request rate as the app takes it: "N/second|minute|hour|day" (N >= 1) or "off"."""
    text = raw.strip()
    if text.lower() == THROTTLE_OFF:
        return THROTTLE_OFF
    match = re.fullmatch(rf"([0-9]+)/({'|'.join(THROTTLE_PERIODS)})", text)
    if not match or int(match.group(1)) < 1:
        problems.append(
            f"{_key(name)}: must be a request rate N/{'|'.join(THROTTLE_PERIODS)} with N >= 1 "
            f"(e.g. 600/minute) or {THROTTLE_OFF}, got {raw!r}"
        )
        return None
    return f"{int(match.group(1))}/{match.group(2)}"


#: An image id as `docker images --no-trunc` and the `image` output show it.
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


def _api_image(raw: str, production: Optional[bool], problems: list[str]) -> Optional[str]:
    """Empty (build the checkout), an image id, or a pinned-if-production reference."""
    text = raw.strip()
    if not text:
        return None
    if _IMAGE_ID.match(text):
        return text
    return _image(text, "apiImage", production, problems)


_PEM_KEY = re.compile(r"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+-----END \1-----", re.S)


def _tls(certificate: str, key: str, secret_keys: Optional[list[str]], problems: list[str]):
    """(certificate, key) PEM texts, both or neither; the key must be a secret."""
    certificate, key = certificate.strip(), key.strip()
    if not certificate and not key:
        return None, None
    if not certificate or not key:
        missing, given = ("tlsCertificate", "tlsKey") if not certificate else ("tlsKey", "tlsCertificate")
        problems.append(
            f"{_key(missing)}: {_key(given)} is set, so {_key(missing)} is needed too: TLS at the "
            f"proxy takes both a PEM certificate (chain) and its PEM private key, or neither"
        )
        return None, None
    ok = True
    if "-----BEGIN CERTIFICATE-----" not in certificate or "-----END CERTIFICATE-----" not in certificate:
        problems.append(
            f"{_key('tlsCertificate')}: must be a PEM certificate (chain) with "
            f"-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----"
        )
        ok = False
    if not _PEM_KEY.search(key):
        problems.append(f"{_key('tlsKey')}: must be a PEM private key (-----BEGIN PRIVATE KEY----- ...)")
        ok = False
    elif "ENCRYPTED" in key:
        problems.append(f"{_key('tlsKey')}: must not be passphrase-protected (nginx would ask for the passphrase)")
        ok = False
    if secret_keys is not None and "tlsKey" not in secret_keys:
        problems.append(
            f"{_key('tlsKey')}: must be a secret, or the private key sits in plain text in the "
            f"stack file: `pulumi config set --secret tlsKey < key.pem`"
        )
        ok = False
    return (certificate + "\n", key + "\n") if ok else (None, None)


def _docker_host(raw: str, problems: list[str]) -> Optional[str]:
    text = raw.strip()
    scheme = next((s for s in DOCKER_HOST_SCHEMES if text.startswith(s)), None)
    if scheme is None or len(text) == len(scheme):
        problems.append(
            f"docker:host: must start with one of {', '.join(DOCKER_HOST_SCHEMES)} and name "
            f"a socket or host (e.g. unix:///var/run/docker.sock, ssh://deploy@host), got {raw!r}"
        )
        return None
    return text


def parse_settings(
    raw: Mapping[str, Optional[str]],
    *,
    project: str,
    stack: str,
    docker_host: Optional[str] = None,
    all_keys: Optional[list[str]] = None,
    secret_keys: Optional[list[str]] = None,
) -> Settings:
    """Validate raw config strings (missing keys take DEFAULTS).

    `all_keys`: every key of the namespace present in the stack's config, to
    catch misspelt keys that would otherwise be silently ignored.
    `secret_keys`: the keys whose value is a secret (encrypted in the stack file).
    Raises ConfigError listing every problem.
    """
    problems: list[str] = []
    value = {key: (raw.get(key) if raw.get(key) is not None else default) for key, default in DEFAULTS.items()}

    for key in all_keys or []:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(key, list(DEFAULTS), n=1)
            hint = f"; did you mean {_key(close[0])}?" if close else ""
            problems.append(
                f"{_key(key)}: unknown key{hint} Known keys: {', '.join(DEFAULTS)}"
            )

    replicas = _int(value["apiReplicas"], "apiReplicas", *API_REPLICAS_RANGE, problems)
    host_port = _int(value["hostPort"], "hostPort", *PORT_RANGE, problems)
    bind_address = _address(value["bindAddress"], "bindAddress", problems)
    production = _bool(value["production"], "production", problems)
    python_image = _image(value["pythonImage"], "pythonImage", production, problems)
    postgres_image = _image(value["postgresImage"], "postgresImage", production, problems)
    nginx_image = _image(value["nginxImage"], "nginxImage", production, problems)
    api_image = _api_image(value["apiImage"], production, problems)
    tls_certificate, tls_key = _tls(value["tlsCertificate"], value["tlsKey"], secret_keys, problems)
    api_memory = _int(value["apiMemoryMb"], "apiMemoryMb", *API_MEMORY_MB_RANGE, problems)
    api_cpus = _cpus(value["apiCpus"], "apiCpus", problems)
    db_memory = _int(value["dbMemoryMb"], "dbMemoryMb", *DB_MEMORY_MB_RANGE, problems)
    workers = _int(value["gunicornWorkers"], "gunicornWorkers", *GUNICORN_RANGE, problems)
    threads = _int(value["gunicornThreads"], "gunicornThreads", *GUNICORN_RANGE, problems)
    retain = _bool(value["retainDatabaseVolume"], "retainDatabaseVolume", problems)
    hosts = _hosts(value["allowedHosts"], "allowedHosts", problems)
    https = _bool(value["https"], "https", problems)
    throttle_anon = _throttle_rate(value["throttleAnon"], "throttleAnon", problems)
    throttle_user = _throttle_rate(value["throttleUser"], "throttleUser", problems)
    host = _docker_host(docker_host, problems) if docker_host is not None else None

    if problems:
        raise ConfigError(problems)
    return Settings(
        project=project,
        stack=stack,
        api_replicas=replicas,
        host_port=host_port,
        bind_address=bind_address,
        python_image=python_image,
        postgres_image=postgres_image,
        api_memory_mb=api_memory,
        api_cpus=api_cpus,
        db_memory_mb=db_memory,
        gunicorn_workers=workers,
        gunicorn_threads=threads,
        retain_database_volume=retain,
        allowed_hosts=hosts,
        https=https,
        production=production,
        throttle_anon=throttle_anon,
        throttle_user=throttle_user,
        api_image=api_image,
        nginx_image=nginx_image,
        tls_certificate=tls_certificate,
        tls_key=tls_key,
        docker_host=host,
    )


def _namespace_keys() -> list[str]:
    """Keys of our namespace present in this run's config (to spot typos)."""
    from pulumi.runtime import config as runtime_config

    names: set[str] = set()
    for source in (runtime_config.CONFIG.get(), runtime_config.get_config_env()):
        for full_key in source or {}:
            namespace, _, key = str(full_key).partition(":")
            if namespace == NAMESPACE and key:
                names.add(key)
    return sorted(names)


def load_settings(get: Optional[Callable[[str], Optional[str]]] = None) -> Settings:
    """Read and validate this stack's configuration (raises ConfigError)."""
    library = pulumi.Config(NAMESPACE)
    get = get or library.get
    return parse_settings(
        {key: get(key) for key in DEFAULTS},
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        docker_host=pulumi.Config("docker").get("host"),
        all_keys=_namespace_keys(),
        secret_keys=[key for key in DEFAULTS if is_config_secret(_key(key))],
    )
