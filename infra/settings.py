"""The stack's configuration, validated and frozen before any resource exists.

One table is the source of every config key: the fields of `Settings` carry
their key, default, parser and description, and from them come the defaults,
the parsing, the `config:` block of Pulumi.yaml and the table in
docs/deploy.md (settings_reference.py renders both; a unit test keeps them
equal). docs/deploy.md "Configuration" tells the story.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import parsers
import pulumi
from docker_engine import ENV_FALLBACKS, Engine, resolve_engine
from parsers import Context, Invalid, Parser

#: Project config namespace (the `name:` of Pulumi.yaml).
NAMESPACE = "library"

API_REPLICAS_RANGE = (1, 20)
PORT_RANGE = (1, 65535)
API_MEMORY_MB_RANGE = (64, 262144)
API_CPUS_RANGE = (0.0, 64.0)  # exclusive lower bound, inclusive upper bound
DB_MEMORY_MB_RANGE = (128, 1048576)
GUNICORN_RANGE = (1, 64)


@dataclass(frozen=True)
class Key:
    """One config key of the `library` namespace."""

    name: str
    #: As a stack file would hold it.
    default: str
    parse: Parser
    description: str
    #: Its type in Pulumi.yaml's config block.
    schema_type: str
    #: Its type in the docs table, when it says more than schema_type.
    docs_type: str | None


def key(
    name: str,
    default: str,
    parse: Parser,
    description: str,
    schema_type: str = "string",
    docs_type: str | None = None,
    *,
    repr: bool = True,
) -> Any:
    """A Settings field read from config key `name` (repr=False keeps a value out of reprs and tracebacks)."""
    return field(repr=repr, metadata={"key": Key(name, default, parse, description, schema_type, docs_type)})


def _range(bounds: tuple[int, int]) -> str:
    return f"{bounds[0]}–{bounds[1]}"


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one stack. Field order is the order of
    the documentation; every field but the first two and the last is a key."""

    project: str
    stack: str
    api_replicas: int = key(
        "apiReplicas",
        "2",
        parsers.integer(*API_REPLICAS_RANGE),
        f"Number of API containers behind the reverse proxy, {_range(API_REPLICAS_RANGE)}. They publish no port.",
        "integer",
    )
    host_port: int = key(
        "hostPort",
        "8000",
        parsers.integer(*PORT_RANGE),
        f"Host port the reverse proxy publishes, {_range(PORT_RANGE)}: the service's only port.",
        "integer",
    )
    bind_address: str = key(
        "bindAddress",
        "127.0.0.1",
        parsers.address,
        "IPv4/IPv6 address the proxy's port is published on. `127.0.0.1`: this host only; `0.0.0.0`: every "
        "interface (the `url` output then says `localhost`).",
    )
    python_image: str = key(
        "pythonImage",
        "python:3.11-slim-bookworm",
        parsers.image,
        "Base image of the service image (`BASE_IMAGE` build argument). Without a registry: "
        "`library-base/python:bookworm` from `scripts/build-debian-images.sh`.",
    )
    api_image: str | None = key(
        "apiImage",
        "",
        parsers.optional_image,
        "Run this image instead of building the checkout: an image id (`sha256:...`, e.g. an earlier "
        "deployment's `image` output) or a reference (`library-api:v41`). Empty: build. This is how to roll back "
        "(docs/deploy.md, Rolling back).",
    )
    postgres_image: str = key(
        "postgresImage",
        "postgres:15-bookworm",
        parsers.image,
        "PostgreSQL image (official `postgres` interface). A local image of that name is used as is; otherwise it "
        "is pulled. Never deleted by destroy.",
    )
    nginx_image: str = key(
        "nginxImage",
        "nginx:1.27-bookworm",
        parsers.image,
        "Reverse-proxy image with the official `nginx` interface (`/usr/sbin/nginx`, user `nginx` uid 101, `curl`). "
        "Without a registry: `library-base/nginx:bookworm` from `scripts/build-debian-images.sh nginx`. A local "
        "image of that name is used as is.",
    )
    api_memory_mb: int = key(
        "apiMemoryMb",
        "512",
        parsers.integer(*API_MEMORY_MB_RANGE),
        f"Memory limit of each API container (and of the migration run), MiB, {_range(API_MEMORY_MB_RANGE)}.",
        "integer",
    )
    api_cpus: float = key(
        "apiCpus",
        "1.0",
        parsers.cpus(*API_CPUS_RANGE),
        f"CPU limit of each API container, > {API_CPUS_RANGE[0]:g} and ≤ {API_CPUS_RANGE[1]:g}, e.g. `0.5`.",
        docs_type="string (decimal)",
    )
    db_memory_mb: int = key(
        "dbMemoryMb",
        "1024",
        parsers.integer(*DB_MEMORY_MB_RANGE),
        f"Memory limit of the PostgreSQL container, MiB, {_range(DB_MEMORY_MB_RANGE)}.",
        "integer",
    )
    gunicorn_workers: int = key(
        "gunicornWorkers",
        "2",
        parsers.integer(*GUNICORN_RANGE),
        f"gunicorn worker processes per API container, {_range(GUNICORN_RANGE)}.",
        "integer",
    )
    gunicorn_threads: int = key(
        "gunicornThreads",
        "4",
        parsers.integer(*GUNICORN_RANGE),
        f"Threads per gunicorn worker, {_range(GUNICORN_RANGE)}.",
        "integer",
    )
    retain_database_volume: bool = key(
        "retainDatabaseVolume",
        "true",
        parsers.boolean,
        "Keep the PostgreSQL data volume when the stack is destroyed (or the volume replaced). Set `false` for "
        "throwaway stacks.",
        "boolean",
    )
    allowed_hosts: tuple[str, ...] = key(
        "allowedHosts",
        "localhost,127.0.0.1",
        parsers.hosts,
        "Comma-separated host names the service answers to (Django `ALLOWED_HOSTS`; `.example.com` = subdomains, "
        "`*` = any). No schemes, no ports, no empty entries. CSRF trusted origins are derived from them.",
    )
    https: bool = key(
        "https",
        "false",
        parsers.boolean,
        "TLS is terminated by *another* proxy in front of ours (on 443): enables HTTPS redirects, secure cookies "
        "and HSTS, sends `X-Forwarded-Proto: https` to the app and counts two proxies in `X-Forwarded-For`. Keep "
        "`false` while the service is published as plain HTTP. Not needed with `tlsCertificate`.",
        "boolean",
    )
    tls_certificate: str | None = key(
        "tlsCertificate",
        "",
        parsers.pem_certificate,
        "PEM certificate (chain) for TLS at the proxy. With `tlsKey`, the proxy serves HTTPS on `hostPort` and "
        "the app's HTTPS settings follow. Both or neither.",
        repr=False,
    )
    tls_key: str | None = key(
        "tlsKey",
        "",
        parsers.pem_private_key,
        "Its PEM private key, unencrypted. Must be a secret: `pulumi config set --secret tlsKey < key.pem`.",
        repr=False,
    )
    production: bool = key(
        "production",
        "false",
        parsers.boolean,
        "Production stack: every image key (`pythonImage`, `postgresImage`, `nginxImage`, and `apiImage` when "
        "it is a reference) must be pinned: a tag other than `latest`, or a digest.",
        "boolean",
    )
    throttle_anon: str = key(
        "throttleAnon",
        "600/minute",
        parsers.rate,
        "API requests allowed per anonymous client address: `N/second`, `N/minute`, `N/hour` or `N/day` "
        "(N ≥ 1), or `off`. Counted across all replicas (a counter table in PostgreSQL); beyond it the API "
        "answers 429 with `Retry-After`. Sets the app's `API_THROTTLE_ANON`.",
    )
    throttle_user: str = key(
        "throttleUser",
        "3000/minute",
        parsers.rate,
        "The same per authenticated user (token or session), `off` for none. Sets `API_THROTTLE_USER`.",
    )
    public_origin_key: str | None = key(
        "publicOrigin",
        "",
        parsers.origin,
        "Origin of the absolute links the API writes (pagination): `https://host[:port]`. Empty: the bind "
        "address (bound to every interface: the first allowed host that names one host) on the published port "
        "and scheme; `https://<that host>` behind a TLS proxy.",
    )
    platform: str | None = key(
        "platform",
        "",
        parsers.platform,
        "Platform the service image is built for: empty = the Docker engine's own (asked from the engine the "
        "provider deploys to), or one of " + ", ".join(f"`{p}`" for p in parsers.PLATFORMS) + " (the engine "
        "must be able to run it). docs/deploy.md, Remote Docker hosts.",
    )
    image_repository: str | None = key(
        "imageRepository",
        "",
        parsers.image_repository,
        "Registry repository the service image is pushed to, e.g. `registry.example.com:5000/team/library-api` "
        "(its registry host first, no tag: it is pushed as `<repository>:<stack>`); containers then run its "
        "registry digest. Empty: no registry, the image stays on the Docker host. docs/deploy.md, Pushing to a "
        "registry.",
    )
    registry_username: str | None = key(
        "registryUsername",
        "",
        parsers.optional_text,
        "User that pushes to `imageRepository`, with `registryPassword`. Empty: the credentials of the "
        "deploying machine's Docker config (`docker login`).",
    )
    registry_password: str | None = key(
        "registryPassword",
        "",
        parsers.secret_text,
        "Its password or access token. Must be a secret: `pulumi config set --secret registryPassword`.",
        repr=False,
    )
    #: The provider's `docker:host` (None: DOCKER_HOST or the local socket).
    docker_host: str | None = None
    #: How the provider reaches the engine (docker: keys and their environment fallbacks), resolved.
    engine: Engine = Engine(host="unix:///var/run/docker.sock")

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
        """Clients reach the service over HTTPS: TLS at the proxy, or (`https`) at a proxy in front of it."""
        return self.https or self.tls

    @property
    def tls_in_front(self) -> bool:
        """TLS is terminated by another proxy in front of ours (`https` without TLS here)."""
        return self.https and not self.tls

    @property
    def registry_login(self) -> tuple[str, str] | None:
        """(username, password) for the push, or None: the deploying machine's Docker credentials."""
        if self.registry_username and self.registry_password:
            return self.registry_username, self.registry_password
        return None

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
    def public_origin(self) -> str:
        """Where clients reach the service, for the links the API writes (not the request's Host,
        which a client chooses): `publicOrigin`, else derived as its description says."""
        if self.public_origin_key:
            return self.public_origin_key
        named = [h for h in self.allowed_hosts if h != "*" and not h.startswith(".")]
        # The published address, as the `url` output names it; a name when bound to every interface.
        bound_to_all = ipaddress.ip_address(self.bind_address).is_unspecified
        host = named[0] if named and (bound_to_all or self.tls_in_front) else self.url_host
        if self.tls_in_front:
            return f"https://{host}"
        scheme = "https" if self.tls else "http"
        port = "" if self.host_port == (443 if self.tls else 80) else f":{self.host_port}"
        return f"{scheme}://{host}{port}"

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


#: (Settings field name, Key) of every config key, in the order of the documentation.
KEYS: tuple[tuple[str, Key], ...] = tuple(
    (f.name, f.metadata["key"]) for f in dataclasses.fields(Settings) if "key" in f.metadata
)
#: Every key with its default, as the string a stack file would hold.
DEFAULTS: dict[str, str] = {k.name: k.default for _, k in KEYS}


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


def full_key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


def parse_settings(
    raw: Mapping[str, str | None],
    *,
    project: str,
    stack: str,
    docker_host: str | None = None,
    all_keys: Sequence[str] | None = None,
    secret_keys: Sequence[str] | None = None,
    docker_config: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    home: str | None = None,
) -> Settings:
    """Validate raw config strings (missing keys take their defaults).

    `all_keys`: every key of the namespace present in the stack's config, to
    catch misspelt keys that would otherwise be silently ignored.
    `secret_keys`: the keys whose value is a secret (encrypted in the stack file; docker: keys
    with their namespace). `docker_config`: the other docker: keys (sshOpts, caMaterial, ...,
    without the namespace) and `environ` the environment the provider falls back to
    (docker_engine.py). Raises ConfigError listing every problem.
    """
    problems: list[str] = []
    for name in all_keys or []:
        if name not in DEFAULTS:
            close = difflib.get_close_matches(name, list(DEFAULTS), n=1)
            hint = f"; did you mean {full_key(close[0])}?" if close else ""
            problems.append(f"{full_key(name)}: unknown key{hint} Known keys: {', '.join(DEFAULTS)}")

    def parse(name: str, parser: Parser, text: str, production: bool | None) -> Any:
        try:
            return parser(text, Context(name, production, secret_keys))
        except Invalid as problem:
            problems.append(f"{name if ':' in name else full_key(name)}: {problem}")
            return None

    def text(k: Key) -> str:
        value = raw.get(k.name)
        return k.default if value is None else value

    # Whether images must be pinned depends on `production`: it is read first.
    production_key = dict(KEYS)["production"]
    production = parse(production_key.name, production_key.parse, text(production_key), None)
    values = {
        name: production if k is production_key else parse(k.name, k.parse, text(k), production) for name, k in KEYS
    }
    _check_pair(
        raw,
        ("tlsCertificate", "tlsKey"),
        "TLS at the proxy takes both a PEM certificate (chain) and its PEM private key, or neither",
        problems,
    )
    _check_pair(
        raw,
        ("registryUsername", "registryPassword"),
        "a registry login takes both a username and its password (or token), or neither (then the deploying "
        "machine's Docker credentials are used)",
        problems,
    )
    _check_registry_login_has_a_repository(raw, problems)
    host = parse("docker:host", parsers.docker_host, docker_host, None) if docker_host is not None else None
    engine = resolve_engine(
        {**(docker_config or {}), "host": host if docker_host is not None else None},
        environ or {},
        secret_keys=secret_keys,
        home=home,
        problems=problems,
    )
    if problems or engine is None:
        raise ConfigError(problems)
    return Settings(project=project, stack=stack, docker_host=host, engine=engine, **values)


def _given(raw: Mapping[str, str | None], name: str) -> bool:
    return bool((raw.get(name) or "").strip())


def _check_pair(raw: Mapping[str, str | None], pair: tuple[str, str], why: str, problems: list[str]) -> None:
    """Two keys that go together (a certificate and its key, a username and its password), or neither."""
    first, second = pair
    if _given(raw, first) != _given(raw, second):
        missing, present = (second, first) if _given(raw, first) else (first, second)
        problems.append(f"{full_key(missing)}: {full_key(present)} is set, so {full_key(missing)} is needed too: {why}")


def _check_registry_login_has_a_repository(raw: Mapping[str, str | None], problems: list[str]) -> None:
    """Registry credentials without `imageRepository` would be ignored: likely a half-made configuration."""
    if _given(raw, "imageRepository"):
        return
    for name in ("registryUsername", "registryPassword"):
        if _given(raw, name):
            problems.append(
                f"{full_key(name)}: is set but {full_key('imageRepository')} is empty: nothing is pushed, so "
                "there is nothing to log in to"
            )


def _namespace_keys() -> list[str]:
    """Keys of our namespace present in this run's config (to spot typos)."""
    from pulumi.runtime import config as runtime_config

    names: set[str] = set()
    for source in (runtime_config.CONFIG.get(), runtime_config.get_config_env()):
        for name in source or {}:
            namespace, _, k = str(name).partition(":")
            if namespace == NAMESPACE and k:
                names.add(k)
    return sorted(names)


def load_settings(get: Callable[[str], str | None] | None = None) -> Settings:
    """Read and validate this stack's configuration (raises ConfigError)."""
    import os

    from pulumi.runtime.config import is_config_secret

    get = get or pulumi.Config(NAMESPACE).get
    docker = pulumi.Config("docker")
    docker_keys = [name for name in ENV_FALLBACKS if name != "host"]
    return parse_settings(
        {name: get(name) for name in DEFAULTS},
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        docker_host=docker.get("host"),
        all_keys=_namespace_keys(),
        secret_keys=[name for name in DEFAULTS if is_config_secret(full_key(name))]
        + [f"docker:{name}" for name in docker_keys if is_config_secret(f"docker:{name}")],
        # The key material is read as the provider reads it; it lives on in the drain hook only (never
        # in a resource input, an output or a log), and reprs leave it out.
        docker_config={name: docker.get(name) for name in docker_keys},
        environ=os.environ,
    )
