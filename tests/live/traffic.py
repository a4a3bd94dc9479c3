"""Traffic and measurements for the load, soak and hostile scenarios (and
scripts/soak): HTTP sessions that only talk to 127.0.0.1, concurrent book
writers, a mixed read/write soak, and what the containers say about
themselves (memory, database sessions).

Every loop here is bounded by a count or a deadline.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tests.live.conftest import HTTP_TIMEOUT, LOOPBACK_PREFIXES, isbn13


class LoopbackSession(requests.Session):
    """A keep-alive session that refuses any URL but the published loopback ports.
    HTTPS is not verified: the live stacks use throwaway self-signed certificates."""

    def __init__(self, token: str | None = None):
        super().__init__()
        if token:
            self.headers["Authorization"] = f"Token {token}"

    def request(self, method, url, **kwargs):  # noqa: D102 - requests' signature
        assert str(url).startswith(LOOPBACK_PREFIXES), f"live traffic goes to the loopback only, not {url}"
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        # Per request: a CA bundle named in the environment would override the session's setting.
        kwargs.setdefault("verify", False)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, **kwargs)


@dataclass
class Outcome:
    """What one request got: its status (0 = no HTTP answer) and body."""

    status: int
    body: str
    isbn: str = ""


def run_clients(clients: int, work: Callable[[int], list[Outcome]]) -> tuple[list[Outcome], float]:
    """Run `work(client_index)` on `clients` threads; all outcomes and the wall time."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        batches = list(pool.map(work, range(clients)))
    return [outcome for batch in batches for outcome in batch], time.monotonic() - started


def shared_isbns(count: int, seed: int) -> list[str]:
    """ISBNs every writer tries on purpose: exactly one write of each may win."""
    return [isbn13(f"979{seed:03d}{i:06d}") for i in range(count)]


def write_books(
    base_url: str, token: str, clients: int, books_per_client: int, contended: list[str], seed: int
) -> tuple[list[Outcome], float]:
    """`clients` threads each POST `books_per_client` books. Every 10th book of
    every client uses one of the `contended` ISBNs; the others are unique."""

    def writer(client: int) -> list[Outcome]:
        outcomes = []
        with LoopbackSession(token) as session:
            for n in range(books_per_client):
                if contended and n % 10 == 0:
                    isbn = contended[(n // 10 + client) % len(contended)]
                else:
                    isbn = isbn13(f"978{seed:03d}{client:02d}{n:04d}")
                book = {"title": f"Load {client}-{n}", "author": f"Writer {client}", "isbn": isbn}
                try:
                    response = session.post(f"{base_url}api/books/", json=book)
                    outcomes.append(Outcome(response.status_code, response.text, isbn))
                except requests.RequestException as error:
                    outcomes.append(Outcome(0, repr(error), isbn))
        return outcomes

    return run_clients(clients, writer)


@dataclass
class SoakTally:
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, status: int, detail: str = "") -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            if status == 0 or status >= 500:
                self.failures.append(f"{what} -> {status} {detail[:200]}")


def _one_request(
    session, base_url: str, rng: random.Random, own: list[int], index: int, n: int, seed: int
) -> tuple[str, requests.Response]:
    """One request of a soak client, drawn by `rng`: what it was and the response."""
    roll = rng.random()
    if roll < 0.15:
        isbn = isbn13(f"978{seed % 1000:03d}{index:02d}{n % 10000:04d}")
        r = session.post(
            f"{base_url}api/books/", json={"title": f"Soak {index}-{n}", "author": f"Soaker {index % 3}", "isbn": isbn}
        )
        if r.status_code == 201:
            own.append(r.json()["id"])
        return "create", r
    if roll < 0.22 and own:
        return "update", session.patch(f"{base_url}api/books/{rng.choice(own)}/", json={"subtitle": f"rev {n}"})
    if roll < 0.27 and own:
        return "delete", session.delete(f"{base_url}api/books/{own.pop()}/")
    if roll < 0.45:
        return "search", session.get(f"{base_url}api/books/?search=Soak&page_size=20")
    if roll < 0.55:
        return "filter", session.get(f"{base_url}api/books/?author=Soaker%20{index % 3}")
    if roll < 0.65 and own:
        return "detail", session.get(f"{base_url}api/books/{rng.choice(own)}/")
    if roll < 0.72:
        return "website", session.get(base_url)
    return "list", session.get(f"{base_url}api/books/?page_size={rng.choice((10, 20, 50))}")


def mixed_traffic(
    base_url: str,
    token: str,
    seconds: float,
    clients: int,
    seed: int,
    tally: SoakTally,
    on_tick: Callable[[float], None] | None = None,
) -> float:
    """Reads (list, search, filter, detail, page 2, the website) and writes
    (create, update, delete) until the deadline; `on_tick(elapsed)` runs on
    the calling thread about once a second (for sampling). Returns the elapsed time."""
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    def client(index: int) -> list[Outcome]:
        rng = random.Random(seed * 1000 + index)
        own: list[int] = []
        n = 0
        with LoopbackSession(token) as session:
            while time.monotonic() < deadline:
                n += 1
                try:
                    what, r = _one_request(session, base_url, rng, own, index, n, seed)
                    tally.add(what, r.status_code, r.text if r.status_code >= 500 else "")
                except requests.RequestException as error:
                    tally.add("request", 0, repr(error))
        return []

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(client, i) for i in range(clients)]
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            if on_tick:
                on_tick(time.monotonic() - started)
        for future in futures:
            future.result()
    return time.monotonic() - started


# --- what the containers say --------------------------------------------------


def container_memory_mib(container) -> float:
    """Memory in use as `docker stats` shows it: usage minus inactive page cache."""
    stats = container.stats(stream=False)
    memory = stats["memory_stats"]
    detail = memory.get("stats", {})
    cache = detail.get("inactive_file", detail.get("total_inactive_file", 0))  # cgroup v2 / v1
    return (memory["usage"] - cache) / (1024 * 1024)


def psql(db_container, sql: str, user: str = "library", database: str = "library") -> str:
    """Run one SQL statement in the database container (unaligned, tuples only)."""
    result = db_container.exec_run(["psql", "-U", user, "-d", database, "-Atc", sql])
    output = result.output.decode("utf-8", "replace")
    assert result.exit_code == 0, output
    return output.strip()


def app_db_sessions(db_container, user: str = "library") -> int:
    """Server processes of the app's database user, other than this psql itself."""
    return int(
        psql(
            db_container, f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}' AND pid <> pg_backend_pid()"
        )
    )


def gunicorn_capacity(api_containers) -> int:
    """Sum over the API containers of workers x threads: the most database
    connections the app can hold (one per thread, CONN_MAX_AGE keeps it)."""
    total = 0
    for container in api_containers:
        env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"] or [])
        total += int(env.get("GUNICORN_WORKERS", 2)) * int(env.get("GUNICORN_THREADS", 4))
    return total


# --- continuous traffic during a deployment ------------------------------------------

CLIENTS = 3
#: Upper bound of any load run (a deployment takes well under a minute here).
LOAD_MAX_SECONDS = 300


@dataclass
class LoadResult:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)
    marker_first_seen_s: float | None = None
    seconds: float = 0.0
    slowest_s: float = 0.0  # the longest request: what routing around a draining replica costs


class ContinuousLoad:
    """`clients` threads sending reads and writes through the proxy until
    stopped (or LOAD_MAX_SECONDS): list, create, read back, website page.
    Any connection error or unexpected status is a failure."""

    def __init__(self, base_url: str, token: str, clients: int = CLIENTS, marker: str | None = None, seed: int = 0):
        """`seed` (0-99) keeps the ISBNs of several loads on one stack apart."""
        self.base_url, self.token, self.clients, self.marker, self.seed = base_url, token, clients, marker, seed
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.result = LoadResult()
        self._started = 0.0

    def start(self) -> ContinuousLoad:
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self.result.seconds = time.monotonic() - self._started
        return self.result

    def _record(self, what: str, response: requests.Response | None, expected: int, error: str = "") -> bool:
        with self._lock:
            self.result.requests += 1
            if response is None or response.status_code != expected:
                detail = error or f"{response.status_code} {response.text[:200]!r}"
                self.result.failures.append(f"{time.monotonic() - self._started:.1f}s {what}: {detail}")
                return False
        return True

    def _call(self, session: requests.Session, what: str, method: str, path: str, expected: int, **kwargs):
        started = time.monotonic()
        try:
            response = session.request(method, f"{self.base_url}{path}", **kwargs)
        except requests.RequestException as e:
            self._record(what, None, expected, f"{type(e).__name__}: {e}")
            return None
        finally:
            with self._lock:
                self.result.slowest_s = max(self.result.slowest_s, time.monotonic() - started)
        return response if self._record(what, response, expected) else None

    def _client(self, client: int) -> None:
        session = LoopbackSession(self.token)
        deadline = self._started + LOAD_MAX_SECONDS
        last_id, n = None, 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            step = n % 4
            if step == 0:
                self._call(session, "list", "GET", "api/books/?page_size=5", 200)
            elif step == 1:
                book = {
                    "title": f"Load {client}-{n}",
                    "author": "Zero Downtime",
                    "isbn": isbn13(f"979{self.seed % 100:02d}{client}{n:06d}"),
                }
                created = self._call(session, "create", "POST", "api/books/", 201, json=book)
                if created is not None:
                    last_id = created.json()["id"]
                    with self._lock:
                        self.result.created_ids.append(last_id)
            elif step == 2 and last_id is not None:
                self._call(session, "read", "GET", f"api/books/{last_id}/", 200)
            elif step == 3:
                page = self._call(session, "page", "GET", "", 200)
                if page is not None and self.marker and self.marker in page.text:
                    with self._lock:
                        if self.result.marker_first_seen_s is None:
                            self.result.marker_first_seen_s = time.monotonic() - self._started
            n += 1
        session.close()


class GapProbe:
    """Measures what a user sees while the proxy itself is replaced: every
    PROBE_INTERVAL_S, a read of the book list at the URLs `urls()` names (the old
    and the new address when the port, address or scheme change); the longest
    stretch without any successful answer is the gap."""

    PROBE_INTERVAL_S = 0.05

    def __init__(self, urls: Callable[[], list[str]]):
        self.urls = urls
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.probes = 0
        self.longest_gap_s = 0.0

    def start(self) -> GapProbe:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.longest_gap_s

    def _answers(self, session: requests.Session) -> bool:
        for base in self.urls():
            try:
                if session.get(f"{base}api/books/?page_size=1", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                continue
        return False

    def _run(self) -> None:
        last_ok = time.monotonic()
        with LoopbackSession() as session:
            while not self._stop.is_set():
                self.probes += 1
                now = time.monotonic()
                if self._answers(session):
                    last_ok = now
                self.longest_gap_s = max(self.longest_gap_s, now - last_ok)
                time.sleep(self.PROBE_INTERVAL_S)
