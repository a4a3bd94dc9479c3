"""The reverse proxy's nginx.conf, rendered from nginx.conf.template.

A plain configuration file with `{{ name }}` placeholders, filled by a pure
function (unit-tested as text, checked with `nginx -t` by the image tests);
docs/deploy.md, "Topology: the reverse proxy", says why each setting is there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from app_env import GUNICORN_TIMEOUT
from maintenance import FLAG as MAINTENANCE_FLAG
from maintenance import RETRY_AFTER_S as MAINTENANCE_RETRY_AFTER_S

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx.conf.template"
TLS_TEMPLATE = HERE / "nginx-tls.conf.template"
#: What a browser gets in maintenance mode (infra/maintenance.py), uploaded as MAINTENANCE_PAGE_FILE.
MAINTENANCE_PAGE = HERE / "maintenance.html"

PROXY_PORT = 8080
HEALTH_PORT = 8081
HEALTH_PATH = "/nginx-health"
CONFIG_DIR = "/etc/nginx/library"
CONFIG_FILE = f"{CONFIG_DIR}/nginx.conf"
TLS_CERTIFICATE_FILE = f"{CONFIG_DIR}/tls.crt"
TLS_KEY_FILE = f"{CONFIG_DIR}/tls.key"
MAINTENANCE_PAGE_FILE = f"{CONFIG_DIR}/maintenance.html"
#: Docker's embedded DNS server, on every user-defined network.
DOCKER_DNS = "127.0.0.11"
#: The app's DJANGO_REQUEST_BODY_MAX_BYTES default (64 KiB).
BODY_MAX_KIB = 64
#: Longer than gunicorn's worker timeout, so that the app's own timeout answers first.
UPSTREAM_READ_TIMEOUT_S = GUNICORN_TIMEOUT + 5
#: Admin login attempts per client address: a burst of ADMIN_LOGIN_BURST + 1,
#: then one every 60 / ADMIN_LOGIN_PER_MINUTE seconds; each costs the app
#: about a second of password hashing (docs/deploy.md, "Topology: the reverse proxy").
ADMIN_LOGIN_PER_MINUTE = 5
ADMIN_LOGIN_BURST = 5

_PLACEHOLDER = re.compile(r"\{\{ *([a-z_]+) *\}\}")


def render(template: str, values: Mapping[str, object]) -> str:
    """The template with its `##` lines dropped and every `{{ name }}` replaced.
    Raises KeyError for a placeholder without a value, ValueError for a value
    without a placeholder (a typo on either side)."""
    text = "".join(line for line in template.splitlines(keepends=True) if not line.startswith("##"))
    used = set(_PLACEHOLDER.findall(text))
    missing, unused = used - set(values), set(values) - used
    if missing:
        raise KeyError(f"no value for placeholder(s) {sorted(missing)}")
    if unused:
        raise ValueError(f"no placeholder for value(s) {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def nginx_config(*, upstream_host: str, upstream_port: int, tls: bool, forwarded_proto: str) -> str:
    """The complete nginx.conf of the proxy.

    forwarded_proto: "$scheme", or "https" when TLS is terminated by another
    proxy in front of this one.
    """
    tls_directives = hsts_header = ""
    if tls:
        files = {"certificate_file": TLS_CERTIFICATE_FILE, "key_file": TLS_KEY_FILE}
        tls_text = render(TLS_TEMPLATE.read_text(), files)
        tls_directives = "\n" + tls_text.rstrip("\n")
        # HSTS over TLS only; the value is the app's own (its SECURE_HSTS_* defaults with HTTPS).
        hsts_header = "\n        add_header Strict-Transport-Security $edge_hsts always;"
    return render(
        TEMPLATE.read_text(),
        {
            "proxy_port": PROXY_PORT,
            "listen_ssl": " ssl" if tls else "",
            "tls_directives": tls_directives,
            "hsts_header": hsts_header,
            "admin_login_per_minute": ADMIN_LOGIN_PER_MINUTE,
            "admin_login_burst": ADMIN_LOGIN_BURST,
            "admin_login_retry_after_s": 60 // ADMIN_LOGIN_PER_MINUTE,
            "docker_dns": DOCKER_DNS,
            "body_max_kib": BODY_MAX_KIB,
            "body_max_bytes": BODY_MAX_KIB * 1024,
            "upstream_host": upstream_host,
            "upstream_port": upstream_port,
            "forwarded_proto": forwarded_proto,
            "upstream_read_timeout_s": UPSTREAM_READ_TIMEOUT_S,
            "health_port": HEALTH_PORT,
            "health_path": HEALTH_PATH,
            "maintenance_flag": MAINTENANCE_FLAG,
            "maintenance_retry_after_s": MAINTENANCE_RETRY_AFTER_S,
            "maintenance_page_file": MAINTENANCE_PAGE_FILE,
        },
    )
