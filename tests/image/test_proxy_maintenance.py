"""Maintenance mode, on a real nginx running the rendered config in front of a fake upstream.

The proxy container is hardened as the program makes it (uid 101, no capability,
no-new-privileges, its health check); infra/maintenance.py switches the flag as
the operator command does, with no reload. docs/deploy.md, "Topology: the
reverse proxy", tells the story.
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from tests.conftest import free_port_block, load_infra_module

from .test_nginx_config import NGINX_IMAGE, proxy_in_front, upload

pytestmark = pytest.mark.docker

PYTHON_IMAGE = "library-base/python:bookworm"
#: Answers every request 200 with what it got, and says it was there.
FAKE_UPSTREAM = """
import http.server, json
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"method": self.command, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "fake")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""
PATHS = ["/api/books/", "/", "/admin/login/", "/static/admin/css/base.css", "/api/books/9780000000001/"]
METHODS = ["GET", "POST", "PUT", "DELETE"]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


@pytest.fixture(scope="module")
def maintenance():
    return load_infra_module("maintenance")


@pytest.fixture(scope="module")
def proxy(docker_client):
    """The proxy container (docker-py) and its (host, port); `api` is the fake upstream."""
    for needed in (NGINX_IMAGE, PYTHON_IMAGE):
        if not docker_client.images.list(name=needed):
            pytest.fail(f"{needed} is missing: bash scripts/build-debian-images.sh", pytrace=False)
    parts = load_infra_module("container_parts")
    nginx = load_infra_module("nginx_config")
    upstream = {"image": PYTHON_IMAGE, "command": ["python3", "-c", FAKE_UPSTREAM], "user": "65534:65534"}
    upstream["cap_drop"] = ["ALL"]
    conf = nginx.nginx_config(upstream_host="api", upstream_port=8000, tls=False, forwarded_proto="$scheme")
    files = {nginx.CONFIG_FILE: conf, nginx.MAINTENANCE_PAGE_FILE: nginx.MAINTENANCE_PAGE.read_text()}
    with proxy_in_front(
        docker_client,
        "maint",
        upstream,
        files,
        # A fixed host port: a restart keeps it (a random one would change).
        host_port=free_port_block(1),
        security_opt=list(parts.NO_NEW_PRIVILEGES),
        healthcheck={"test": load_infra_module("proxy").HEALTHCHECK, "interval": 500_000_000, "retries": 2},
    ) as container:
        container.start()
        yield container, wait_until_serving(container, nginx.PROXY_PORT)


def wait_until_serving(container, port: int) -> tuple[str, int]:
    """(host, port) of the started proxy once it is healthy and reaches the upstream."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        container.reload()
        bound = container.ports.get(f"{port}/tcp")
        if bound and health(container) == "healthy":
            address = ("127.0.0.1", int(bound[0]["HostPort"]))
            if request(address, "GET", "/healthz")[0] == 200:
                return address
        time.sleep(0.3)
    pytest.fail(f"the proxy did not serve:\n{container.logs().decode()[-2000:]}")


def health(container) -> str:
    container.reload()
    return container.attrs["State"].get("Health", {}).get("Status", "")


def request(address, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None):
    """(status, headers, body) of one request; status 0 when it failed."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    except (OSError, http.client.HTTPException):
        return 0, None, b""
    finally:
        connection.close()


def proxied(address, method: str, path: str) -> bool:
    status, headers, body = request(address, method, path, body=b"{}" if method in ("POST", "PUT") else None)
    return status == 200 and headers["X-Upstream"] == "fake" and json.loads(body)["method"] == method


@pytest.fixture
def switched_off(proxy, maintenance):
    """Every test starts and ends with maintenance mode off."""
    container, _ = proxy
    maintenance.turn_off(container)
    yield
    maintenance.turn_off(container)


def assert_maintenance_answer(headers, status: int, retry_after_s: int) -> None:
    assert status == 503
    assert headers.get_all("Retry-After") == [str(retry_after_s)]
    assert headers.get_all("Cache-Control") == ["no-store"]
    assert headers["X-Upstream"] is None
    for name, value in SECURITY_HEADERS.items():
        assert headers.get_all(name) == [value], (name, headers)


def test_without_the_flag_every_request_is_proxied(proxy, maintenance, switched_off):
    container, address = proxy
    assert maintenance.state(container) is None
    for method in METHODS:
        for path in PATHS:
            assert proxied(address, method, path), (method, path)


def test_maintenance_answers_every_request_but_healthz_with_a_503(proxy, maintenance, switched_off):
    container, address = proxy
    nginx = load_infra_module("nginx_config")
    note = json.dumps({"by": "test", "at": "2026-01-01T00:00:00Z"})
    maintenance.turn_on(container, note)
    assert maintenance.state(container) == note
    for method in METHODS:
        for path in PATHS:
            body = b'{"title": "x"}' if method in ("POST", "PUT") else None
            status, headers, text = request(address, method, path, {"Content-Type": "application/json"}, body)
            assert_maintenance_answer(headers, status, maintenance.RETRY_AFTER_S)
            assert headers["Content-Type"] == "application/json", (method, path)
            assert json.loads(text) == {"detail": "The service is down for maintenance: try again later."}
            # A browser gets the page instead, whatever the method.
            status, headers, text = request(address, method, path, {"Accept": BROWSER_ACCEPT}, body)
            assert_maintenance_answer(headers, status, maintenance.RETRY_AFTER_S)
            assert headers["Content-Type"].startswith("text/html"), (method, path)
            assert text.decode() == nginx.MAINTENANCE_PAGE.read_text()
    status, headers, text = request(address, "HEAD", "/api/books/")
    assert_maintenance_answer(headers, status, maintenance.RETRY_AFTER_S)
    assert text == b""
    # The app's health endpoint still reaches the app (through the internal URIs' names, too).
    assert proxied(address, "GET", "/healthz")
    status, headers, _ = request(address, "GET", "/__maintenance/json")
    assert status == 404 and headers["X-Upstream"] is None
    # nginx's own refusals keep their status and JSON: no redirection loop in the error pages.
    status, headers, text = request(address, "POST", "/api/books/", body=b"x" * (65 * 1024))
    assert status == 413 and json.loads(text)["detail"].startswith("Request body too large")
    status, headers, text = request(address, "TRACE", "/")
    assert status == 405 and json.loads(text) == {"detail": "Method not allowed."}
    logs = container.logs(stdout=False, stderr=True).decode()
    assert "cycle" not in logs and "uninitialized" not in logs, logs[-2000:]
    # The proxy's own health check is another server: the container stays healthy.
    time.sleep(1.5)
    assert health(container) == "healthy"


def test_maintenance_mode_survives_a_restart_of_the_container(proxy, maintenance, switched_off):
    container, address = proxy
    nginx = load_infra_module("nginx_config")
    maintenance.turn_on(container, "restart test")
    container.restart(timeout=10)
    assert wait_until_serving(container, nginx.PROXY_PORT) == address
    assert maintenance.state(container) == "restart test"
    assert request(address, "GET", "/api/books/")[0] == 503
    maintenance.turn_off(container)
    assert maintenance.state(container) is None
    assert proxied(address, "GET", "/api/books/")


def test_switching_on_and_off_loses_no_request(proxy, maintenance, switched_off):
    """Requests under way while the flag changes get the app or the 503, nothing else."""
    container, address = proxy
    answers: list[tuple[float, int, bool]] = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            status, headers, _ = request(address, "POST", "/api/books/", {"Content-Type": "application/json"}, b"{}")
            answers.append((time.monotonic(), status, status == 200 and headers["X-Upstream"] == "fake"))

    client = threading.Thread(target=traffic)
    client.start()
    try:
        time.sleep(0.5)
        maintenance.turn_on(container, "switch test")
        time.sleep(0.5)
        on_until = time.monotonic()
        maintenance.turn_off(container)
        off_from = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        client.join()
    assert {status for _, status, _ in answers} == {200, 503}, answers
    assert all(from_app for _, status, from_app in answers if status == 200)
    assert any(at < on_until and status == 503 for at, status, _ in answers)
    after = [status for at, status, _ in answers if at > off_from + 0.05]
    assert after and set(after) == {200}, after


def test_turn_off_is_a_no_op_when_off_and_says_why_it_fails(proxy, maintenance, docker_client, switched_off):
    container, _ = proxy
    maintenance.turn_off(container)
    assert maintenance.state(container) is None
    # A directory where the flag should be: `rm -f` cannot remove it.
    upload(container, {f"{maintenance.FLAG}/stray": "x"})
    try:
        with pytest.raises(maintenance.MaintenanceError, match=r"exit code 1.*Is a directory"):
            maintenance.turn_off(container)
    finally:
        container.exec_run(["rm", "-rf", maintenance.FLAG], user="0")
