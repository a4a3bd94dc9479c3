"""The proxy's public edge, on a real nginx serving the rendered TLS config in front of the service image.

testssl.sh judges the TLS set-up (Mozilla's "intermediate" profile); the security
headers are checked on nginx's own answers and on /healthz, which the app answers
before its security middleware; admin login attempts are limited per address.
docs/deploy.md, "TLS at the proxy" and "Topology: the reverse proxy", tell the story.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.conftest import load_infra_module, self_signed_certificate
from tests.tls_scan import assert_intermediate_tls_profile, run_testssl

from .conftest import HARDENED
from .test_nginx_config import NGINX_IMAGE, proxy_in_front

pytestmark = pytest.mark.docker

UNVERIFIED = ssl.create_default_context()
UNVERIFIED.check_hostname = False
UNVERIFIED.verify_mode = ssl.CERT_NONE

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture(scope="module")
def edge(docker_client, image, tmp_path_factory):
    """https://127.0.0.1:<port>: nginx with the TLS config, the service image (as `api`) behind it."""
    if not docker_client.images.list(name=NGINX_IMAGE):
        pytest.fail(f"{NGINX_IMAGE} is missing: bash scripts/build-debian-images.sh nginx", pytrace=False)
    nginx = load_infra_module("nginx_config")
    upstream = {
        "image": image,
        # /healthz and the admin's CSRF refusal need no database: none runs.
        "environment": {
            "DATABASE_URL": "postgres://library:unused@nowhere.invalid:5432/library",
            "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_HTTPS": "false",
            "API_NUM_PROXIES": "1",
        },
        **HARDENED,
    }
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("edge-tls"))
    conf = nginx.nginx_config(upstream_host="api", upstream_port=8000, tls=True, forwarded_proto="$scheme")
    files = {nginx.CONFIG_FILE: conf, nginx.TLS_CERTIFICATE_FILE: cert, nginx.TLS_KEY_FILE: key}
    with proxy_in_front(docker_client, "edge", upstream, files) as container:
        container.start()
        container.reload()
        port = int(container.ports[f"{nginx.PROXY_PORT}/tcp"][0]["HostPort"])
        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if request(f"{base}/healthz")[0] == 200:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the service did not answer through the proxy:\n{container.logs().decode()[-2000:]}")
        yield base


def request(url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None):
    """(status, headers, body) of one request; an error status is an answer, not an exception."""
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10, context=UNVERIFIED) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
    except OSError:
        return 0, None, b""


def test_testssl_finds_no_suite_without_forward_secrecy_and_no_tls_1_0_or_1_1(edge, tmp_path):
    findings = run_testssl(edge.removeprefix("https://"), tmp_path)
    assert_intermediate_tls_profile(findings)


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("GET", "/healthz", None, 200),  # answered by the app before its security middleware
        ("TRACE", "/", None, 405),  # refused by nginx itself
        ("POST", "/api/books/", b"x" * (65 * 1024), 413),  # too large for nginx
    ],
)
def test_security_headers_on_nginx_answers_and_healthz(edge, method, path, body, status):
    got, headers, _ = request(f"{edge}{path}", method=method, data=body)
    assert got == status
    for name, value in SECURITY_HEADERS.items():
        assert headers.get_all(name) == [value], (name, headers)
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_apps_own_security_headers_are_kept_not_doubled(edge):
    status, headers, _ = request(f"{edge}/admin/login/")
    assert status == 200
    assert headers.get_all("X-Content-Type-Options") == ["nosniff"]
    assert headers.get_all("X-Frame-Options") == ["DENY"]
    assert headers.get_all("Referrer-Policy") == ["same-origin"]
    [policy] = headers.get_all("Content-Security-Policy")
    assert "script-src 'self'" in policy  # the app's page policy (core/csp.py), not nginx's 'none'


def test_admin_login_attempts_are_limited_per_address(edge):
    nginx = load_infra_module("nginx_config")
    allowed = nginx.ADMIN_LOGIN_BURST + 1
    login = f"{edge}/admin/login/"
    form = b"username=admin&password=wrong"
    answers = [request(login, "POST", form)[0] for _ in range(allowed + 4)]
    # The app answers the first ones itself (403: no CSRF token), then the proxy refuses.
    assert all(status not in (0, 429) for status in answers[:allowed]), answers
    assert answers[allowed:] == [429] * 4, answers
    status, headers, body = request(login, "POST", form)
    assert status == 429
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"detail": "Too many login attempts from this address: try again later."}
    assert headers["Retry-After"] == str(60 // nginx.ADMIN_LOGIN_PER_MINUTE)
    assert headers["X-Content-Type-Options"] == "nosniff"
    # The same path spelled otherwise is the same $uri; other requests are not counted.
    assert request(f"{edge}/admin//login/?next=/admin/", "POST", form)[0] == 429
    assert request(login)[0] == 200
    assert request(f"{edge}/api/books/", "POST", b"{}", {"Content-Type": "application/json"})[0] != 429
    # After the window, attempts are let through again.
    time.sleep(int(headers["Retry-After"]) + 1)
    assert request(login, "POST", form)[0] not in (0, 429)
