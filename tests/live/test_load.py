"""The deployed service under load: concurrent writers lose and duplicate
nothing, and a bounded soak of mixed traffic gives no 5xx, no memory growth
beyond a bound and no leaked database connections.

Figures are printed as `FIGURE load=...` lines (run with -s to see them);
scripts/soak runs the soak for longer.
"""

from __future__ import annotations

import json
import os
import secrets
from collections import Counter

import pytest

from tests.live.conftest import NO_THROTTLING, all_books
from tests.live.traffic import (
    SoakTally,
    app_db_sessions,
    container_memory_mib,
    gunicorn_capacity,
    mixed_traffic,
    psql,
    shared_isbns,
    write_books,
)

pytestmark = pytest.mark.live

WRITERS = int(os.environ.get("LIBRARY_LOAD_WRITERS", "16"))
BOOKS_PER_WRITER = int(os.environ.get("LIBRARY_LOAD_BOOKS", "100"))
CONTENDED_ISBNS = 8
SOAK_SECONDS = float(os.environ.get("LIBRARY_SOAK_SECONDS", "60"))
SOAK_CLIENTS = 8
# Memory: gunicorn workers import everything before the first request, then
# allocate per request and give it back; what may grow after warm-up is
# Python's arenas and caches (querysets, templates, connection buffers) up to
# a plateau. 50 MiB per container is far above that plateau (a few MiB
# measured) and far below a leak of even 1 KiB per request at these volumes
# (>= 100 MiB for the ~10^5 requests of a long soak), and a tenth of the
# container's 512 MiB limit.
MEMORY_GROWTH_BOUND_MIB = 50
# Database sessions beyond one per gunicorn thread: psql itself is excluded;
# a connection past its CONN_MAX_AGE, or of a recycling worker, lingers in
# pg_stat_activity for a moment after its replacement opened (one per worker
# at most). A leak shows as growth, checked separately below.
SESSION_MARGIN = 4


@pytest.fixture(scope="module")
def loaded(module_live_stack):
    """A stack without throttling (the load is the point), and a token."""
    outputs = module_live_stack.deploy(**NO_THROTTLING)
    token = module_live_stack.api_token(outputs["api_container_names"][0])
    db = module_live_stack.client.containers.get(outputs["db_container_name"])
    return module_live_stack, outputs, token, db


def test_concurrent_writers_store_every_created_book_exactly_once(loaded):
    stack, outputs, token, db = loaded
    base = outputs["url"]
    before = int(psql(db, "SELECT count(*) FROM books_book"))
    contended = shared_isbns(CONTENDED_ISBNS, secrets.randbelow(1000))
    outcomes, elapsed = write_books(base, token, WRITERS, BOOKS_PER_WRITER, contended, secrets.randbelow(1000))
    statuses = Counter(o.status for o in outcomes)
    print(
        f"\nFIGURE load=writers clients={WRITERS} requests={len(outcomes)} created={statuses[201]} "
        f"duplicate_400={statuses[400]} other={sum(v for k, v in statuses.items() if k not in (201, 400))} "
        f"elapsed_s={elapsed:.1f} req_per_s={len(outcomes) / elapsed:.0f}"
    )

    assert set(statuses) <= {201, 400}, f"unexpected statuses: {statuses}"
    created = [o for o in outcomes if o.status == 201]
    refused = [o for o in outcomes if o.status == 400]
    # Every refusal is a duplicate of a contended ISBN, with the field error.
    assert all(o.isbn in contended for o in refused)
    assert {o.body for o in refused} <= {
        json.dumps({"isbn": ["A book with this ISBN already exists."]}, separators=(",", ":"))
    }, {o.body for o in refused}
    # Each contended ISBN was won exactly once; every unique one was created.
    wins = Counter(o.isbn for o in created)
    assert {isbn: wins[isbn] for isbn in contended} == {isbn: 1 for isbn in contended}
    assert len(created) == len(outcomes) - len(refused) == WRITERS * BOOKS_PER_WRITER - len(refused)

    # The database holds each created book once, and nothing else was added.
    assert int(psql(db, "SELECT count(*) FROM books_book")) - before == len(created)
    duplicates = psql(db, "SELECT isbn, count(*) FROM books_book GROUP BY isbn HAVING count(*) > 1")
    assert duplicates == ""
    ids = {json.loads(o.body)["id"] for o in created}
    assert len(ids) == len(created)
    listed = {book["id"]: book["isbn"] for book in all_books(base, token)}
    assert ids <= set(listed), "a 201 whose book the API does not list"
    assert {listed[i] for i in ids} == set(wins)


def test_soak_of_mixed_traffic_without_errors_leaks_or_growth(loaded):
    stack, outputs, token, db = loaded
    api = stack.containers("api")
    assert api
    capacity = gunicorn_capacity(api)
    session_bound = capacity + SESSION_MARGIN

    # Warm-up: every worker has served requests and opened its connections.
    mixed_traffic(outputs["url"], token, min(10.0, SOAK_SECONDS / 4), SOAK_CLIENTS, seed=1, tally=SoakTally())
    memory_start = {c.name: container_memory_mib(c) for c in api}

    tally = SoakTally()
    sessions: list[tuple[float, int]] = []
    mixed_traffic(
        outputs["url"],
        token,
        SOAK_SECONDS,
        SOAK_CLIENTS,
        seed=2,
        tally=tally,
        on_tick=lambda elapsed: sessions.append((elapsed, app_db_sessions(db))),
    )
    memory_end = {c.name: container_memory_mib(c) for c in api}

    half = SOAK_SECONDS / 2
    first_half = [n for t, n in sessions if t <= half] or [0]
    second_half = [n for t, n in sessions if t > half] or [0]
    growth = {name: memory_end[name] - memory_start[name] for name in memory_start}
    print(
        f"\nFIGURE load=soak seconds={SOAK_SECONDS:.0f} clients={SOAK_CLIENTS} requests={tally.requests} "
        f"req_per_s={tally.requests / SOAK_SECONDS:.0f} statuses={dict(sorted(tally.statuses.items()))} "
        f"db_sessions_first_half_max={max(first_half)} db_sessions_second_half_max={max(second_half)} "
        f"db_session_bound={session_bound} "
        + " ".join(
            f"mem_api{i}_mib={memory_start[name]:.0f}->{memory_end[name]:.0f}"
            for i, name in enumerate(sorted(memory_start))
        )
    )

    assert tally.requests > SOAK_SECONDS, "the soak made (almost) no requests"
    assert not tally.failures, f"{len(tally.failures)} failures, e.g. {tally.failures[:5]}"
    assert set(tally.statuses) <= {200, 201, 204, 400}, tally.statuses
    assert max(first_half + second_half) <= session_bound, sessions
    # Not growing: a leak of one connection per N requests would climb through
    # the second half; a thread first used late may add one per replica.
    assert max(second_half) <= max(first_half) + len(api), sessions
    for name, grown in growth.items():
        assert grown < MEMORY_GROWTH_BOUND_MIB, f"{name} grew {grown:.1f} MiB during the soak"
    # Still healthy afterwards.
    for container in api:
        container.reload()
        assert container.status == "running"
