"""Draining a replica before it stops resets no connection (app/core/draining.py).

The property a zero-downtime deploy needs from a replica that is about to be
stopped: every connection it already has is served, and every new one fails
*before* a request is sent on it (connect timeout or refused), so the proxy
can send that request, even a POST, to another replica. Without draining, a
stop resets the connections still queued, which the first gunicorn test
shows, so that the draining one cannot pass by accident.

Attaching the socket filter needs CAP_NET_ADMIN, and borrowing gunicorn's
socket needs to see and trace its process: these tests run the drain the way
the deployment's helper does, as root in the same network and PID namespace
(here: the test machine's). They skip, with the reason, without root.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from core.draining import accept_queue_length, refuse_new_connections, wait_until_drained

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="socket filters and pidfd_getfd are Linux's"),
    pytest.mark.skipif(os.geteuid() != 0, reason="draining needs CAP_NET_ADMIN and CAP_SYS_PTRACE: run as root"),
]


def post(port: int, body: bytes, path: str = "/") -> socket.socket:
    """Connect and send a whole POST; the response is read later."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    return conn


def response_of(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    conn.close()
    return b"".join(chunks)


def test_a_refusing_listener_still_serves_the_connections_it_has():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        queued = socket.create_connection(("127.0.0.1", port), timeout=5)
        queued.sendall(b"made before")
        time.sleep(0.05)
        assert accept_queue_length(listener) == 1

        refuse_new_connections(listener)
        started = time.monotonic()
        with pytest.raises(TimeoutError):  # the SYN is dropped: no connection, nothing sent
            socket.create_connection(("127.0.0.1", port), timeout=0.5)
        assert time.monotonic() - started >= 0.45
        assert accept_queue_length(listener) == 1, "the refused attempt must not be queued"
        assert wait_until_drained([listener], limit_seconds=0.3) is False

        served, _ = listener.accept()
        assert served.recv(100) == b"made before"
        served.sendall(b"answered")
        assert queued.recv(100) == b"answered"
        served.close()
        queued.close()
        assert accept_queue_length(listener) == 0
        assert wait_until_drained([listener], quiet_seconds=0.1, limit_seconds=2) is True
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_without_cap_net_admin_refusing_says_what_is_missing():
    # What a replica itself would get: it runs with every capability dropped.
    # The unprivileged process gets the module's source on stdin and runs from
    # "/": the checkout may sit in a directory only root can read (CI clones
    # into a private temporary directory). The module needs only the stdlib.
    with open(os.path.join(REPO, "app", "core", "draining.py"), encoding="utf-8") as f:
        source = f.read()
    code = (
        "import socket, sys, types\n"
        "draining = types.ModuleType('draining'); exec(sys.stdin.read(), vars(draining))\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "try: draining.refuse_new_connections(s)\nexcept draining.DrainError as e: print(e)"
    )
    # The interpreter itself, not a virtualenv's link to it (which may be in the checkout).
    interpreter = os.path.realpath(sys.executable)
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            interpreter,
            "-I",
            "-c",
            code,
        ],
        input=source,
        cwd="/",
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and "setpriv" in result.stderr:
        pytest.skip(f"setpriv unavailable: {result.stderr.strip()}")
    assert result.stdout.strip() == "attaching a socket filter needs CAP_NET_ADMIN", result.stderr


@pytest.fixture(params=[1, 2], ids=["sync", "gthread"])
def gunicorn_one_worker(request):
    """Our gunicorn config serving slow_wsgi with one worker: sync (one thread:
    later connections wait in the kernel's accept queue) or gthread (the
    default class; it accepts eagerly and queues in its thread pool)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PORT": str(port),
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": str(request.param),
        "GUNICORN_LOG_LEVEL": "warning",
        "PYTHONPATH": os.path.join(REPO, "app"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            os.path.join(REPO, "app", "gunicorn.conf.py"),
            "--chdir",
            HERE,
            "--access-logfile",
            "/dev/null",
            "slow_wsgi:application",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            assert response_of(post(port, b"ping")).endswith(b"ok:ping")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"gunicorn did not start:\n{proc.communicate()[0]}")
            time.sleep(0.1)
    try:
        yield proc, port, request.param
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def busy_and_queued(port: int) -> tuple[socket.socket, list[socket.socket]]:
    busy = post(port, b"in flight", "/?sleep=1.5")  # takes a worker thread
    time.sleep(0.3)
    queued = [post(port, f"queued {n}".encode()) for n in range(3)]  # sync: wait in the accept queue
    time.sleep(0.3)
    return busy, queued


# sync only: gthread accepts eagerly, so nothing waits in the kernel's queue to be reset.
@pytest.mark.parametrize("gunicorn_one_worker", [1], ids=["sync"], indirect=True)
def test_without_draining_a_stop_resets_queued_connections(gunicorn_one_worker):
    proc, port, _ = gunicorn_one_worker
    busy, queued = busy_and_queued(port)
    proc.send_signal(signal.SIGTERM)
    assert response_of(busy).endswith(b"ok:in flight")
    with pytest.raises(ConnectionResetError):
        for conn in queued:
            response_of(conn)


def test_draining_then_stopping_serves_every_connection(gunicorn_one_worker):
    proc, port, _ = gunicorn_one_worker
    busy, queued = busy_and_queued(port)
    drain = subprocess.Popen(
        [sys.executable, "-m", "core.draining", "--port", str(port)],
        cwd=os.path.join(REPO, "app"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.2)
    late_outcomes = []

    def connect_late():
        started = time.monotonic()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            late_outcomes.append("connected")
        except OSError as e:  # dropped SYN (timeout) or, once closed, refused
            late_outcomes.append(f"{type(e).__name__} after {time.monotonic() - started:.1f}s")

    late = threading.Thread(target=connect_late)
    late.start()
    out, err = drain.communicate(timeout=30)
    assert drain.returncode == 0, (out, err)
    report = json.loads(out)
    assert report["drained"] is True and report["port"] == port

    proc.send_signal(signal.SIGTERM)  # what `docker stop` sends once the hook has drained
    assert response_of(busy).endswith(b"ok:in flight")
    for n, conn in enumerate(queued):
        assert response_of(conn).endswith(f"ok:queued {n}".encode())
    late.join()
    assert late_outcomes and late_outcomes[0] != "connected", late_outcomes
    assert proc.wait(timeout=15) == 0, proc.communicate()[0]


def test_draining_a_port_nobody_listens_on_is_a_clear_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "core.draining", "--port", str(port)],
        cwd=os.path.join(REPO, "app"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"port": port, "error": f"nothing listens on TCP port {port} here"}
