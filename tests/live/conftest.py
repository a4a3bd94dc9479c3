"""Fixtures of the live tier: the Pulumi program realized on a real Docker engine.

Each scenario gets a LiveStack (tests/harness/stack.py): its own run id, stack,
copy of the repository and loopback ports. Whatever happens, the fixture removes
every container, network and volume of its run, and the image tag it built.
See docs/testing.md.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import require_docker
from tests.harness.stack import BASE_IMAGES, LiveStack

#: For stacks whose scenario is not throttling: all test traffic comes from one
#: address (the proxy sees the Docker gateway), and a 429 would not be the fault
#: under test.
NO_THROTTLING = {"library:throttleAnon": "off", "library:throttleUser": "off"}
HTTP_TIMEOUT = 10


@pytest.fixture(scope="session")
def live_docker():
    """A Docker client, once the engine answers and the Debian-made base images exist."""
    client = require_docker()
    missing = [ref for ref in BASE_IMAGES if not client.images.list(name=ref)]
    if missing:
        reason = (
            f"base image(s) {missing} not on the engine; build them with "
            f"`bash scripts/build-debian-images.sh all` (as root)"
        )
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return client


@pytest.fixture
def live_stack(live_docker, tmp_path, request):
    """A LiveStack for one test, removed afterwards even when the test fails."""
    scenario = re.sub(r"[^a-z0-9]+", "", request.node.name.lower().replace("test_", ""))[:10] or "live"
    stack = LiveStack(live_docker, tmp_path, scenario)
    try:
        yield stack
    finally:
        stack.cleanup()


@pytest.fixture(scope="module")
def module_live_stack(live_docker, tmp_path_factory, request):
    """A LiveStack shared by the tests of one module (one deployment, many checks)."""
    scenario = re.sub(r"[^a-z0-9]+", "", request.module.__name__.rsplit(".", 1)[-1].replace("test_", ""))[:10]
    stack = LiveStack(live_docker, tmp_path_factory.mktemp(scenario), scenario)
    try:
        yield stack
    finally:
        stack.cleanup()


# --- HTTP helpers (127.0.0.1 only: the published ports) ----------------------


#: The published ports are on the loopback interface (a stack may serve HTTPS, or bind ::1).
LOOPBACK_PREFIXES = ("http://127.0.0.1:", "https://127.0.0.1:", "http://[::1]:", "https://[::1]:")


def http(method: str, url: str, token: str | None = None, **kwargs) -> requests.Response:
    """One request to a published loopback port. HTTPS is not verified: the live stacks
    use throwaway self-signed certificates."""
    assert url.startswith(LOOPBACK_PREFIXES), f"live tests talk to the loopback only, not {url}"
    kwargs.setdefault("verify", False)
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Token {token}"
    return requests.request(method, url, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)


def results(body: Any) -> list:
    """The items of a (possibly paginated) list response."""
    return body["results"] if isinstance(body, dict) and "results" in body else body


def all_books(base_url: str, token: str | None = None) -> list[dict]:
    books, url = [], f"{base_url}api/books/?page_size=100"
    for _ in range(100):
        response = http("GET", url, token)
        assert response.status_code == 200, response.text
        body = response.json()
        books += results(body)
        url = body.get("next") if isinstance(body, dict) else None
        if not url:
            return books
        # Follow "next" on the same published port (it may name another host).
        url = re.sub(r"^https?://[^/]+/", base_url, url)
    raise AssertionError("more than 100 pages of books")


def isbn13(prefix12: str) -> str:
    """A valid ISBN-13 from 12 digits (adds the check digit)."""
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(prefix12))
    return prefix12 + str((10 - total % 10) % 10)


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> float:
    """Seconds until `condition()` holds; fails after `timeout`."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except (requests.RequestException, OSError):
            pass
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)
