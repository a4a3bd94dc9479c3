"""Fixtures shared by every tier."""

import importlib
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def require_docker():
    """A Docker SDK client, or a skip with the reason (a failure when REQUIRE_DOCKER=1)."""
    reason = None
    try:
        import docker

        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except Exception as error:  # noqa: BLE001 - any failure means: no usable engine here
        reason = f"no Docker engine answers ({type(error).__name__}: {error})"
    skip_unless_required(reason)


def skip_unless_required(reason: str):
    """Skip with `reason`, or fail when REQUIRE_DOCKER=1 (CI: every Docker tier must run)."""
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client():
    return require_docker()


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free TCP ports on 127.0.0.1."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        base = rng.randrange(20000, 40000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free loopback ports found")


INFRA = Path(__file__).resolve().parents[1] / "infra"


def load_infra_module(name: str):
    """A module of the Pulumi program (infra/), imported as the program imports
    its siblings: infra/ goes at the end of sys.path, so that it shadows nothing."""
    if str(INFRA) not in sys.path:
        sys.path.append(str(INFRA))
    return importlib.import_module(name)


def wait_for_room_in_the_throttle_window(needed_s: float, period_s: int = 60) -> None:
    """Sleep past the next window boundary if fewer than `needed_s` seconds
    are left in the current one. The throttle counters use fixed windows
    aligned to the clock (app/throttling): a sequence of requests that
    straddles a boundary starts counting over and is never throttled."""
    left = period_s - time.time() % period_s
    if left < needed_s:
        time.sleep(left + 0.5)


def self_signed_certificate(where: Path, common_name: str = "localhost") -> tuple[str, str]:
    """A throwaway self-signed certificate and its key (PEM texts), made with openssl in `where`."""
    cert, key = where / f"{common_name}.crt", where / f"{common_name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={common_name}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert.read_text(), key.read_text()
