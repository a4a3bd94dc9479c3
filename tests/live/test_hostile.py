"""Hostile input against the deployed service (`outputs["url"]`): schema-driven
fuzzing, throttling as deployed, oversized bodies, header floods, slow
clients; and nothing a client or the logs see gives away a stack trace, a
debug page or a generated secret.

Figures are printed as `FIGURE hostile=...` lines (run with -s); scripts/fuzz
runs the fuzzer for longer.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import wait_for_room_in_the_throttle_window
from tests.live.conftest import HTTP_TIMEOUT, NO_THROTTLING, http
from tests.live.test_security import secret_values

pytestmark = pytest.mark.live

REQUEST_BODY_LIMIT = 64 * 1024  # DJANGO_REQUEST_BODY_MAX_BYTES' default
FUZZ_EXAMPLES = int(os.environ.get("LIBRARY_FUZZ_EXAMPLES", "20"))
SLOW_SOCKETS = int(os.environ.get("LIBRARY_SLOWLORIS_SOCKETS", "60"))
SLOW_SECONDS = float(os.environ.get("LIBRARY_SLOWLORIS_SECONDS", "20"))
# A normal request while slow clients hang on must be answered within this.
SLOW_CLIENT_LATENCY_BOUND = 3.0
# The schemathesis checks (schemathesis.readthedocs.io, "Checks"): every one
# that states a property of this API. Left out:
# - positive_data_acceptance: the API rightly refuses some schema-valid
#   bodies: an ISBN's check digit, an ISBN already taken, whitespace-only or
#   NUL-containing strings - rules JSON Schema cannot express;
# - object_level_authorization: any authenticated user may edit any book,
#   by design (the fuzzer has one user anyway).
FUZZ_EXCLUDED_CHECKS = "positive_data_acceptance,object_level_authorization"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def hostile(module_live_stack):
    """A stack without throttling (the fuzzer sends hundreds of requests), a
    token, and the list of every response body the tests saw."""
    outputs = module_live_stack.deploy(**NO_THROTTLING)
    token = module_live_stack.api_token(outputs["api_container_names"][0])
    return module_live_stack, outputs, token, []


def port_of(url: str) -> int:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", url
    return parts.port


def raw_exchange(url: str, payload: bytes, timeout: float = HTTP_TIMEOUT) -> tuple[int, bytes]:
    """Send raw bytes to the service, return (status, whole answer)."""
    with socket.create_connection(("127.0.0.1", port_of(url)), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
        except OSError:
            pass  # the server may refuse and close before reading everything
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) >= 2 and status_line[1].isdigit() else 0), answer


def assert_service_answers(url: str) -> None:
    assert http("GET", f"{url}readyz").status_code == 200
    assert http("GET", f"{url}api/books/").status_code == 200


def test_fuzzing_from_the_openapi_schema_finds_no_server_error_or_contract_breach(hostile, tmp_path):
    stack, outputs, token, seen = hostile
    url = outputs["url"]
    assert SCHEMATHESIS.exists(), f"{SCHEMATHESIS} missing: pip install -r requirements-dev.txt"
    har = tmp_path / "fuzz.har"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{url}api/schema/",
        "--url",
        url.rstrip("/"),
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        "all",
        "--exclude-checks",
        FUZZ_EXCLUDED_CHECKS,
        "--max-examples",
        str(FUZZ_EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        str(HTTP_TIMEOUT),
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "har",
        "--report-har-path",
        str(har),
    ]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    elapsed = time.monotonic() - started
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    statuses: dict[int, int] = {}
    for entry in entries:
        status = entry["response"]["status"]
        statuses[status] = statuses.get(status, 0) + 1
        seen.append(entry["response"].get("content", {}).get("text") or "")
    summary = [
        line
        for line in result.stdout.splitlines()
        if "generated" in line or "passed" in line or "failure" in line.lower()
    ][-3:]
    print(
        f"\nFIGURE hostile=fuzz examples_per_operation={FUZZ_EXAMPLES} requests={len(entries)} "
        f"statuses={dict(sorted(statuses.items()))} elapsed_s={elapsed:.0f} exit={result.returncode} "
        f"summary={' | '.join(s.strip() for s in summary)!r}"
    )
    assert result.returncode == 0, f"schemathesis found problems:\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    assert entries, "the fuzzer made no requests"
    assert not [s for s in statuses if s >= 500], statuses
    assert_service_answers(url)


def test_oversized_bodies_get_a_413_in_json_and_the_service_stays_up(hostile):
    stack, outputs, token, seen = hostile
    url = outputs["url"]
    big = json.dumps({"title": "x" * (REQUEST_BODY_LIMIT + 1024), "author": "a", "isbn": "9780306406157"})
    declared = http("POST", f"{url}api/books/", token, data=big, headers={"Content-Type": "application/json"})
    # Without Content-Length (chunked): the app's parser enforces the limit itself.
    chunked = http(
        "POST",
        f"{url}api/books/",
        token,
        headers={"Content-Type": "application/json"},
        data=(big[i : i + 8192].encode() for i in range(0, len(big), 8192)),
    )
    for response in (declared, chunked):
        seen.append(response.text)
        assert response.status_code == 413, (response.status_code, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/json"), response.headers
        assert "too large" in response.json()["detail"].lower()
    assert_service_answers(url)


def test_header_floods_and_overlong_request_lines_get_a_4xx(hostile):
    stack, outputs, _, seen = hostile
    url = outputs["url"]
    host = f"Host: 127.0.0.1:{port_of(url)}\r\n".encode()
    cases = {
        "200 headers": b"GET /api/books/ HTTP/1.1\r\n"
        + host
        + b"".join(b"X-Flood-%d: %d\r\n" % (i, i) for i in range(200))
        + b"Connection: close\r\n\r\n",
        "a 16 KiB header": b"GET /api/books/ HTTP/1.1\r\n"
        + host
        + b"X-Big: "
        + b"a" * 16384
        + b"\r\nConnection: close\r\n\r\n",
        "a 16 KiB request line": b"GET /api/books/?q="
        + b"a" * 16384
        + b" HTTP/1.1\r\n"
        + host
        + b"Connection: close\r\n\r\n",
        "a 64 KiB header block": b"GET / HTTP/1.1\r\n"
        + host
        + b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 4000) for i in range(16))
        + b"Connection: close\r\n\r\n",
    }
    answers = {}
    for name, payload in cases.items():
        status, answer = raw_exchange(url, payload)
        seen.append(answer.decode("latin-1"))
        answers[name] = status
    print(f"\nFIGURE hostile=headers statuses={answers}")
    for name, status in answers.items():
        assert 400 <= status < 500, f"{name}: status {status}"
    assert_service_answers(url)


def test_slow_clients_do_not_take_the_service_down(hostile):
    """Slowloris: many sockets each dripping one header byte a second. While
    they hang on, normal requests must still be answered quickly."""
    stack, outputs, _, seen = hostile
    url = outputs["url"]
    port = port_of(url)
    sockets = []
    for _ in range(SLOW_SOCKETS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"GET /api/books/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
        sockets.append(sock)
    latencies, failures, dropped_by_server = [], [], 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < SLOW_SECONDS:
            for sock in list(sockets):
                try:
                    sock.sendall(b"X")  # one byte of a header line that never ends
                except OSError:
                    sockets.remove(sock)
                    dropped_by_server += 1
            before = time.monotonic()
            try:
                response = http("GET", f"{url}api/books/")
                latencies.append(time.monotonic() - before)
                if response.status_code != 200:
                    failures.append(response.status_code)
            except Exception as error:  # noqa: BLE001 - a timeout is the failure being measured
                latencies.append(time.monotonic() - before)
                failures.append(type(error).__name__)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - before)))
    finally:
        for sock in sockets:
            sock.close()
    print(
        f"\nFIGURE hostile=slowloris sockets={SLOW_SOCKETS} seconds={SLOW_SECONDS:.0f} "
        f"probe_requests={len(latencies)} probe_failures={len(failures)} "
        f"probe_latency_max_s={max(latencies):.2f} probe_latency_mean_s={sum(latencies) / len(latencies):.3f} "
        f"slow_sockets_dropped_by_server={dropped_by_server}"
    )
    assert not failures, failures
    assert max(latencies) < SLOW_CLIENT_LATENCY_BOUND, latencies
    assert_service_answers(url)


def test_errors_are_json_or_plain_pages_without_debug_output(hostile):
    stack, outputs, token, seen = hostile
    url = outputs["url"]
    checks = [
        http("GET", f"{url}no-such-page/"),
        http("GET", f"{url}api/no-such-endpoint/"),
        http("GET", f"{url}api/books/999999999/"),
        http("POST", f"{url}api/books/", token, data="{not json", headers={"Content-Type": "application/json"}),
        http("POST", f"{url}api/books/", token, data="<x/>", headers={"Content-Type": "application/xml"}),
        http("GET", f"{url}api/books/?ordering=password"),
        http("GET", f"{url}api/books/", headers={"Host": "evil.example.com"}),
        http("DELETE", f"{url}api/books/"),
    ]
    debug_markers = (
        "Traceback",
        "DEBUG = True",
        "Django tried these URL patterns",
        "technical_500",
        "Request Method:",
        "django.core",
        "/opt/venv/",
        'File "',
    )
    for response in checks:
        seen.append(response.text)
        assert 400 <= response.status_code < 500, (response.request.method, response.url, response.status_code)
        leaked = [marker for marker in debug_markers if marker in response.text]
        assert not leaked, (response.url, response.status_code, leaked)
        if urlsplit(response.url).path.startswith("/api/"):
            assert response.headers["Content-Type"].startswith("application/json"), (
                response.url,
                response.status_code,
                response.headers["Content-Type"],
            )
    assert checks[0].status_code == 404 and checks[1].status_code == 404
    assert checks[1].json() == {"detail": "Not found."}


def test_no_generated_secret_in_responses_or_logs(hostile):
    """Runs last in this module: every response body collected above, and the
    logs of every container of the run (API, proxy, migration, database)."""
    stack, outputs, _, seen = hostile
    secrets_ = secret_values(stack, outputs)
    assert len(seen) > 50, "the hostile tests above should have collected responses"
    logs = {container.name: container.logs().decode("utf-8", "replace") for container in stack.containers()}
    assert any(outputs["api_container_names"][0] in name for name in logs)
    leaks = [f"response #{i}" for i, body in enumerate(seen) for value in secrets_ if value in body]
    leaks += [f"log of {name}" for name, text in logs.items() for value in secrets_ if value in text]
    print(
        f"\nFIGURE hostile=secrets responses_checked={len(seen)} logs_checked={len(logs)} "
        f"log_bytes={sum(len(t) for t in logs.values())} secrets={len(secrets_)} leaks={len(leaks)}"
    )
    assert not leaks, f"a generated secret appears in: {sorted(set(leaks))}"
    assert not [body for body in seen if "Traceback" in body], "a response carried a stack trace"


def test_throttling_as_deployed(live_stack):
    """throttleAnon=5/minute: the sixth anonymous request in a minute is a 429
    with Retry-After; an authenticated client has its own budget."""
    outputs = live_stack.deploy(**{"library:throttleAnon": "5/minute", "library:throttleUser": "8/minute"})
    token = live_stack.api_token(outputs["api_container_names"][0])
    url = f"{outputs['url']}api/books/"
    wait_for_room_in_the_throttle_window(needed_s=20)  # the 16 requests below count in one window
    anonymous = [http("GET", url) for _ in range(6)]
    assert [r.status_code for r in anonymous] == [200] * 5 + [429], [r.status_code for r in anonymous]
    throttled = anonymous[-1]
    assert throttled.headers["Content-Type"].startswith("application/json")
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"].lower()
    # The anonymous budget is spent; the user's is not, and is its own.
    authenticated = [http("GET", url, token) for _ in range(9)]
    assert [r.status_code for r in authenticated] == [200] * 8 + [429], [r.status_code for r in authenticated]
    assert int(authenticated[-1].headers["Retry-After"]) > 0
    assert http("GET", url).status_code == 429  # still throttled anonymously
    print(
        f"\nFIGURE hostile=throttle anon_budget=5/minute user_budget=8/minute "
        f"anon_429_after=5 user_429_after=8 retry_after_s={throttled.headers['Retry-After']}"
    )
