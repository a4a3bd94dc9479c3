"""What the deployed service survives: crashes, a stopped or killed database,
a redeploy while the database is down, and a graceful stop under load.

One deployment of the CI stack serves every scenario (module_live_stack);
after each scenario, whatever happened, `service.restore()` starts what was
stopped and waits until every container is healthy and the service is ready
again, so the scenarios do not depend on each other's outcome. The scenario
that changes the code (the redeploy) runs last.

Traffic goes to outputs["url"] only (a replica's published port today, the
reverse proxy once there is one); containers are found by their labels
(org.library.component=api|db), not by ports, so the scenarios hold for
either topology.

A crash is a SIGKILL sent to the container's main process from the host, as
the kernel's OOM killer or a segfault would end it. `docker kill` is not a
crash to Docker: it counts as a manual stop, and the restart policy then
(rightly) leaves the container stopped.

Each scenario prints one line of figures (run with -s), e.g.
    FIGURE fault=api-sigkill exit_code=137 restart_s=0.61 healthy_s=5.83
Reproduce one with
    REQUIRE_DOCKER=1 .venv/bin/python -m pytest tests/live/test_faults.py -s -k sigkill
"""

from __future__ import annotations

import collections
import itertools
import os
import re
import secrets
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from tests.harness.state import RUN_LABEL
from tests.live.conftest import NO_THROTTLING, LiveStack, http, isbn13, wait_for

pytestmark = pytest.mark.live

#: What the app answers for any request that needs the database while it is down.
UNAVAILABLE = "Service temporarily unavailable: the database does not answer."
#: A request while the database is down must be answered within this. A
#: refused connection is immediate, a silent host costs DATABASE_CONNECT_TIMEOUT
#: (5 s); the name lookup of a stopped container ("db") is outside that timeout
#: and has been seen to take up to ~5 s when Docker's DNS asks the host's
#: resolver. Far below gunicorn's 30 s worker timeout: no hung workers.
QUICK_503_SECONDS = 8.0
RECOVERY_BOUND_SECONDS = 60
#: A template edit: a code change, hence a new image and a new migration run.
TEMPLATE = "app/books/templates/books/book_list.html"


# --- measuring and reporting --------------------------------------------------


def figure(fault: str, **values) -> None:
    """One line per scenario: FIGURE fault=<name> key=value ..."""
    text = " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    print(f"FIGURE fault={fault} {text}", flush=True)


def health(container) -> str | None:
    container.reload()
    return (container.attrs["State"].get("Health") or {}).get("Status")


def crash(container) -> None:
    """SIGKILL the container's main process from the host: a crash, not a `docker kill`."""
    container.reload()
    pid = container.attrs["State"]["Pid"]
    assert pid > 0, f"{container.name} is not running"
    try:
        os.kill(pid, signal.SIGKILL)
    except PermissionError:
        pytest.fail("killing a container's process needs root on the Docker host (as in CI)", pytrace=False)


def exit_codes_since(client, container, since: float) -> list[int]:
    """Exit codes of the container's `die` events since `since` (epoch seconds)."""
    events = client.events(
        since=int(since) - 1,
        until=int(time.time()) + 1,
        decode=True,
        filters={"container": container.id, "event": "die"},
    )
    return [int(e["Actor"]["Attributes"]["exitCode"]) for e in events]


def is_json_503(response: requests.Response) -> bool:
    return (
        response.status_code == 503
        and response.headers.get("Content-Type") == "application/json"
        and response.json() == {"detail": UNAVAILABLE}
        and response.headers.get("Retry-After") is not None
    )


# --- the shared deployment ----------------------------------------------------


@dataclass
class Service:
    stack: LiveStack
    outputs: dict
    token: str

    @property
    def url(self) -> str:
        return self.outputs["url"]

    def db(self):
        (db,) = self.stack.containers("db")
        return db

    def api(self) -> list:
        return sorted(self.stack.containers("api"), key=lambda c: c.name)

    def ready(self) -> bool:
        return http("GET", f"{self.url}readyz").status_code == 200

    def restore(self) -> None:
        """Start whatever is stopped, then wait until all is healthy and ready."""
        for container in [self.db(), *self.api()]:
            container.reload()
            if container.status != "running":
                container.start()
        for container in [self.db(), *self.api()]:
            wait_for(lambda c=container: health(c) == "healthy", 120, f"restore: {container.name} healthy")
        wait_for(self.ready, 60, "restore: the service ready")

    def new_book(self, isbn: str, title: str) -> dict:
        return {"title": title, "author": "Fault Injection", "isbn": isbn}


@pytest.fixture(scope="module")
def service(module_live_stack):
    outputs = module_live_stack.deploy(**NO_THROTTLING)
    token = module_live_stack.api_token(outputs["api_container_names"][0])
    return Service(module_live_stack, outputs, token)


@pytest.fixture(autouse=True)
def restored(service):
    """Every scenario leaves the deployment as it found it, even when it fails."""
    try:
        yield
    finally:
        service.restore()


# --- 1. an API container crashes -----------------------------------------------


def test_api_container_killed_with_sigkill_comes_back_healthy(service):
    api = service.api()[0]
    api.reload()
    assert api.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    restarts, started_at = api.attrs["RestartCount"], api.attrs["State"]["StartedAt"]

    since, t0 = time.time(), time.monotonic()
    crash(api)

    def restarted() -> bool:
        api.reload()
        return api.attrs["State"]["StartedAt"] != started_at and api.status == "running"

    restart_s = wait_for(restarted, RECOVERY_BOUND_SECONDS, f"{api.name} restarted by its policy", 0.05)
    wait_for(lambda: health(api) == "healthy", RECOVERY_BOUND_SECONDS, f"{api.name} healthy again")
    healthy_s = time.monotonic() - t0
    codes = exit_codes_since(service.stack.client, api, since)

    figure("api-sigkill", exit_code=codes[-1] if codes else "none", restart_s=restart_s, healthy_s=healthy_s)
    assert codes == [137], f"one death by SIGKILL expected, got exit codes {codes}"
    assert api.attrs["RestartCount"] == restarts + 1
    assert healthy_s < RECOVERY_BOUND_SECONDS
    assert service.ready()


# --- 5. a graceful stop under load ---------------------------------------------


#: Run in a container on the stack's network: a POST to one API container
#: whose body is dripped over `seconds`, so that gunicorn (a worker thread
#: reading the body) has it in flight the whole time. Sent to the container
#: itself, not through a proxy, which would buffer the body first.
DRIP_CLIENT = r"""
import json, socket, sys, time
host, token, seconds, book = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4].encode()
head = ("POST /api/books/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (token, len(book)))
with socket.create_connection((host, 8000), timeout=30) as sock:
    sock.sendall(head.encode())
    print("headers sent", flush=True)
    for i in range(12):
        time.sleep(seconds / 12)
        sock.sendall(book[i * len(book) // 12:(i + 1) * len(book) // 12])
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
print("status", reply.split(b" ", 2)[1].decode() if reply else "none", flush=True)
"""


def start_slow_post(service: Service, target, book: dict, seconds: float):
    """A one-shot client container on the run's network (removed with the run)."""
    import json

    return service.stack.client.containers.run(
        "library-base/python:bookworm",
        ["python3", "-c", DRIP_CLIENT, target.name, service.token, str(seconds), json.dumps(book)],
        network=service.outputs["network_name"],
        labels={RUN_LABEL: service.stack.run_id},
        detach=True,
    )


def test_sigterm_finishes_in_flight_requests_and_exits_gracefully(service):
    target = service.api()[0]
    stop_timeout = target.attrs["Config"].get("StopTimeout")
    graceful = int(dict(e.split("=", 1) for e in target.attrs["Config"]["Env"])["GUNICORN_GRACEFUL_TIMEOUT"])
    assert stop_timeout and stop_timeout > graceful, "Docker must wait longer than gunicorn's graceful timeout"

    book = service.new_book(isbn13(f"978{secrets.randbelow(10**9):09d}"), "In flight at SIGTERM")
    drip_seconds, stop_after = 3.0, 1.0
    outcomes: list[tuple[float, object]] = []  # (start relative to the stop, status or error name)
    stop_at = threading.Event()
    stop_issued = [0.0]

    def burst() -> None:
        while not stop_at.is_set() or time.monotonic() < stop_issued[0] + 1.0:
            started = time.monotonic()
            try:
                outcome: object = http("GET", f"{service.url}api/books/?page_size=50").status_code
            except requests.RequestException as error:
                outcome = type(error).__name__
                time.sleep(0.05)  # a closed port answers at once: do not spin
            outcomes.append((started, outcome))
            if len(outcomes) > 2000:
                return

    client = start_slow_post(service, target, book, drip_seconds)
    wait_for(lambda: b"headers sent" in client.logs(), 30, "the slow client started", 0.05)
    with ThreadPoolExecutor(max_workers=4) as pool:
        readers = [pool.submit(burst) for _ in range(4)]
        time.sleep(stop_after)
        stop_issued[0] = time.monotonic()
        stop_at.set()
        target.stop()  # the container's own stop timeout and signal, as `docker stop` without -t
        stop_s = time.monotonic() - stop_issued[0]
        client.wait(timeout=60)
        logs = client.logs().decode()
        status = int(m.group(1)) if (m := re.search(r"status (\d{3})", logs)) else logs
        for reader in readers:
            reader.result(timeout=60)

    target.reload()
    exit_code = target.attrs["State"]["ExitCode"]
    before = [o for started, o in outcomes if started < stop_issued[0] - 0.1]
    after = [o for started, o in outcomes if started >= stop_issued[0] - 0.1]
    figure(
        "api-sigterm",
        exit_code=exit_code,
        stop_s=stop_s,
        stop_timeout_s=stop_timeout,
        in_flight_post=status,
        requests=len(outcomes),
        before_stop=dict(collections.Counter(before)),
        around_or_after_stop=dict(collections.Counter(after)),
    )
    assert status == 201, "the request in flight when SIGTERM arrived must complete"
    assert exit_code == 0, "gunicorn must exit on SIGTERM by itself (137 would be Docker's SIGKILL)"
    assert stop_s < stop_timeout
    assert stop_s >= drip_seconds - stop_after - 0.5, "gunicorn must have waited for the request in flight"
    assert all(o == 200 for o in before), "a request made before the stop failed"
    assert not [o for o in outcomes if isinstance(o, int) and o >= 500], "no 5xx while stopping"
    service.restore()
    found = http("GET", f"{service.url}api/books/?isbn={book['isbn']}").json()
    assert [b["isbn"] for b in found["results"]] == [book["isbn"]]


# --- 2. the database is stopped for a while -------------------------------------


def probe_while_down(service: Service) -> list[tuple[str, float, requests.Response]]:
    """Every kind of request, 8 at a time (all of gunicorn's worker threads), 3 rounds."""
    isbn = itertools.count()
    probes = [
        ("GET", "readyz", None),
        ("GET", "api/books/", None),
        ("GET", "api/books/?search=dune", None),
        ("GET", "", None),  # the website
        ("POST", "api/books/", "token"),
        ("GET", "api/books/1/", "token"),
    ]

    def one(probe) -> tuple[str, float, requests.Response]:
        method, path, auth = probe
        extra = {"json": service.new_book(isbn13(f"977{next(isbn):09d}"), "While down")} if method == "POST" else {}
        started = time.monotonic()
        response = http(method, f"{service.url}{path}", service.token if auth else None, **extra)
        return f"{method} /{path}", time.monotonic() - started, response

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, probes * 3))


def test_database_stopped_gives_quick_503s_and_the_api_recovers_by_itself(service):
    # Warm every worker thread's persistent connection: after the restart they are all stale.
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(lambda _: http("GET", f"{service.url}api/books/").status_code, range(24))) == {200}

    db = service.db()
    started = time.monotonic()
    db.stop()  # its own stop signal and timeout, as `docker stop`
    stop_s = time.monotonic() - started

    answers = probe_while_down(service)
    healthz = http("GET", f"{service.url}healthz").status_code

    db.start()
    restarted = time.monotonic()
    ready_s = wait_for(service.ready, RECOVERY_BOUND_SECONDS, "ready again after the database started", 0.1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        after = list(pool.map(lambda _: http("GET", f"{service.url}api/books/").status_code, range(40)))
    write = http(
        "POST",
        f"{service.url}api/books/",
        service.token,
        json=service.new_book(isbn13(f"978{secrets.randbelow(10**9):09d}"), "After the outage"),
    )
    recovered_s = time.monotonic() - restarted

    latencies = [seconds for _, seconds, _ in answers]
    figure(
        "db-stopped",
        db_stop_s=stop_s,
        requests=len(answers),
        statuses=dict(collections.Counter(r.status_code for _, _, r in answers)),
        max_latency_s=max(latencies),
        mean_latency_s=sum(latencies) / len(latencies),
        ready_after_start_s=ready_s,
        requests_after=len(after),
        non_200_after=sum(s != 200 for s in after),
        recovered_s=recovered_s,
    )
    for name, seconds, response in answers:
        assert seconds < QUICK_503_SECONDS, f"{name} took {seconds:.1f} s"
        assert response.status_code == 503, f"{name}: {response.status_code} {response.text[:300]}"
        assert "Traceback" not in response.text and "psycopg" not in response.text
        if name == "GET /readyz":
            assert response.json() == {"status": "unavailable", "database": "unavailable"}
        elif name == "GET /":
            assert response.headers["Content-Type"].startswith("text/html")
            assert "temporarily unavailable" in response.text
        else:
            assert is_json_503(response), f"{name}: {response.headers} {response.text[:300]}"
    assert healthz == 200, "liveness must not depend on the database"
    assert after == [200] * len(after), "every worker must reconnect by itself"
    assert write.status_code == 201, write.text


# --- 3. the database is killed in the middle of writes ---------------------------


def test_database_killed_mid_writes_loses_no_acknowledged_write(service):
    """4 writers POST books; the database's postmaster gets a SIGKILL; Docker
    restarts it (crash recovery replays the WAL). Every 201 must be in the
    database afterwards."""
    tag = f"{secrets.randbelow(1000):03d}"
    numbers = itertools.count()
    results: list[tuple[str, float, object]] = []  # (isbn, start, status or error name)
    done = threading.Event()
    pace = 0.15  # per writer: ~26 writes/s in all, a steady load the database can absorb

    def writer() -> None:
        while not done.is_set() and len(results) < 3000:
            isbn = isbn13(f"978{tag}{next(numbers):06d}")
            started = time.monotonic()
            try:
                outcome: object = http(
                    "POST", f"{service.url}api/books/", service.token, json=service.new_book(isbn, "Written under fire")
                ).status_code
            except requests.RequestException as error:
                outcome = type(error).__name__
            results.append((isbn, started, outcome))
            time.sleep(max(0.0, pace - (time.monotonic() - started)))

    db = service.db()
    started_at = db.attrs["State"]["StartedAt"]

    def restarted() -> bool:
        db.reload()
        return db.attrs["State"]["StartedAt"] != started_at and db.status == "running"

    with ThreadPoolExecutor(max_workers=4) as pool:
        writers = [pool.submit(writer) for _ in range(4)]
        try:
            time.sleep(2)
            killed_at, since = time.monotonic(), time.time()
            crash(db)
            wait_for(restarted, RECOVERY_BOUND_SECONDS, "database restarted by its policy", 0.05)
            restart_s = time.monotonic() - killed_at
            ready_s = wait_for(service.ready, RECOVERY_BOUND_SECONDS, "service ready after the crash", 0.1) + restart_s
            time.sleep(2)
        finally:
            done.set()
            for w in writers:
                w.result(timeout=60)
    codes = exit_codes_since(service.stack.client, db, since)
    wait_for(lambda: health(db) == "healthy", RECOVERY_BOUND_SECONDS, "database healthy")

    query = f"SELECT isbn FROM books_book WHERE isbn LIKE '978{tag}%'"
    psql = db.exec_run(["psql", "-U", "library", "-d", "library", "-At", "-c", query], user="postgres")
    assert psql.exit_code == 0, psql.output.decode()
    stored = set(psql.output.decode().split())
    acknowledged = {isbn for isbn, _, outcome in results if outcome == 201}
    lost = acknowledged - stored
    statuses = collections.Counter(outcome for _, _, outcome in results)
    after_kill = [outcome for _, started, outcome in results if started >= killed_at]
    figure(
        "db-sigkill-writes",
        exit_code=codes[-1] if codes else "none",
        attempted=len(results),
        acknowledged=len(acknowledged),
        lost=len(lost),
        statuses=dict(statuses),
        stored_not_acknowledged=len(stored - acknowledged),
        restart_s=restart_s,
        ready_s=ready_s,
    )
    assert codes == [137], f"one death by SIGKILL expected, got {codes}"
    assert not lost, f"{len(lost)} acknowledged writes lost: {sorted(lost)[:10]}"
    assert stored <= {isbn for isbn, _, _ in results}
    assert set(statuses) <= {201, 503}, f"only 201 and 503 expected: {statuses}"
    assert 201 in after_kill, "writes must succeed again after the database restarted"


# --- 4. a redeploy while the database is down (runs last: it changes the code) ----


def test_redeploy_while_the_database_is_down_fails_clearly_and_leaves_the_api_alone(service):
    before = {c.name: c.id for c in service.api()}
    books_before = http("GET", f"{service.url}api/books/").json()["count"]
    service.db().stop()

    template = service.stack.repo / TEMPLATE
    head, _, tail = template.read_text().rpartition("{% endblock %}")
    template.write_text(f"{head}<!-- fault-redeploy-{secrets.token_hex(4)} -->\n{{% endblock %}}{tail}")
    started = time.monotonic()
    error = service.stack.deploy_expecting_failure()
    failed_after_s = time.monotonic() - started
    text = str(error)

    after = {c.name: (c.id, c.status) for c in service.api()}
    healthz = http("GET", f"{service.url}healthz").status_code
    readyz = http("GET", f"{service.url}readyz").status_code
    service.db().start()
    recovered_s = wait_for(service.ready, RECOVERY_BOUND_SECONDS, "ready again after the database started")
    books_after = http("GET", f"{service.url}api/books/").json()["count"]

    figure(
        "redeploy-db-down",
        deploy_failed_after_s=failed_after_s,
        api_untouched=after == {n: (cid, "running") for n, cid in before.items()},
        healthz_during=healthz,
        readyz_during=readyz,
        ready_after_start_s=recovered_s,
        books_before=books_before,
        books_after=books_after,
    )
    assert "database migration failed" in text, text[-3000:]
    # psycopg's own words: the stopped container's name no longer resolves on the network.
    reason = r"failed to resolve host 'db'|could not translate host name|connection to server .* failed|refused"
    assert re.search(reason, text), "the migration's own log must say why: " + text[-3000:]
    assert {n: cid for n, (cid, _) in after.items()} == before, "API containers were replaced"
    assert all(status == "running" for _, status in after.values())
    assert healthz == 200 and readyz == 503
    assert books_after == books_before
