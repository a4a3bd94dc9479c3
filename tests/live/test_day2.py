"""Day-2 operations: every change to a running stack converges, under traffic.

One stack with data, changed one setting at a time, in the order below (each
row starts from the stack the previous one left). For each change: `up`
converges; exactly the expected containers are replaced, updated in place or
kept; reads and writes run through the proxy the whole time and none fails,
unless the change necessarily replaces the proxy (port, address, TLS) or the
database, whose gap is measured instead; every book written is still there;
and a second `up` with nothing changed creates, updates and deletes nothing.
The figures are printed (FIGURE day2 ...) and summed up in docs/deploy.md,
"Changing a running stack".
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import free_port_block, self_signed_certificate
from tests.live.conftest import NO_THROTTLING, isbn13
from tests.live.test_zero_downtime import change_the_code
from tests.live.traffic import ContinuousLoad, GapProbe, LoopbackSession, psql
from tests.tls_scan import assert_intermediate_tls_profile, run_testssl

pytestmark = pytest.mark.live

#: Roles of the stack's containers (the org.library.component label).
ROLES = ("db", "migrate", "api", "proxy")
#: What `docker update` changes in place: compared to tell an update from no change.
IN_PLACE = ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpusetCpus")
SETTLE_SECONDS = 1.5
#: A PostgreSQL image of the same major version with another id (a rebuilt or patched image).
RELABELLED_POSTGRES = "library-day2/postgres:bookworm-patched"


@dataclass
class Day2:
    """The shared stack and what the rows measured."""

    stack: Any
    token: str = ""
    first_image: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    rows: list[dict] = field(default_factory=list)
    written: set[int] = field(default_factory=set)


def snapshot(stack) -> dict[str, dict[str, dict]]:
    """role -> container id -> the in-place settings Docker reports for it."""
    found: dict[str, dict[str, dict]] = {role: {} for role in ROLES}
    for container in stack.containers():
        role = container.labels.get("org.library.component")
        if role in found:
            host = container.attrs["HostConfig"]
            found[role][container.id] = {key: host.get(key) for key in IN_PLACE}
    return found


def what_happened(before: dict, after: dict) -> dict[str, str]:
    """Per role: kept, updated (same containers, in-place settings changed),
    replaced (all new), or the counts of kept/created/deleted containers."""
    outcome = {}
    for role in ROLES:
        old, new = set(before[role]), set(after[role])
        if old == new:
            changed = any(before[role][cid] != after[role][cid] for cid in old)
            outcome[role] = "updated" if changed else "kept"
        elif old and new and not old & new and len(old) == len(new):
            outcome[role] = "replaced"
        else:
            outcome[role] = f"kept {len(old & new)}, created {len(new - old)}, deleted {len(old - new)}"
    return outcome


@pytest.fixture(scope="module")
def day2(module_live_stack, live_docker):
    stack = module_live_stack
    state = Day2(stack, config={**NO_THROTTLING, "library:apiReplicas": 2})
    first = stack.deploy(**state.config)
    state.first_image, state.url = first["image"], first["url"]
    state.token = stack.api_token(first["api_container_names"][0])
    with LoopbackSession(state.token) as session:
        for n in range(20):
            book = {"title": f"Day two {n}", "author": "Before", "isbn": isbn13(f"979777{n:06d}")}
            response = session.post(f"{state.url}api/books/", json=book)
            assert response.status_code == 201, response.text
            state.written.add(response.json()["id"])
    yield state
    print("FIGURE day2 table")
    for row in state.rows:
        print("FIGURE day2 " + json.dumps(row, sort_keys=True))
    if os.environ.get("LIVE_FIGURES_DIR"):
        with open(os.path.join(os.environ["LIVE_FIGURES_DIR"], "day2.json"), "w") as f:
            json.dump(state.rows, f, indent=1)
    try:
        live_docker.images.remove(RELABELLED_POSTGRES, force=True)
    except Exception:  # noqa: BLE001 - never built (its row did not run)
        pass


def expected_url(stack, day2: Day2) -> str:
    """The URL the stack will have with the config about to be deployed."""
    config = stack.config(**day2.config)
    scheme = "https" if config.get("library:tlsCertificate") else "http"
    host = "[::1]" if config.get("library:bindAddress") == "::1" else "127.0.0.1"
    return f"{scheme}://{host}:{config['library:hostPort']}/"


def change(
    day2: Day2,
    row: str,
    expected: dict[str, str],
    *,
    config: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    gap_expected: bool = False,
) -> dict:
    """Apply one change under traffic and check the row; returns what it measured."""
    stack = day2.stack
    day2.config.update(config or {})
    day2.secrets.update(secrets or {})
    for key in drop:
        day2.config.pop(key, None)
        day2.secrets.pop(key, None)
    before = snapshot(stack)
    old_url, new_url = day2.url, expected_url(stack, day2)
    load = ContinuousLoad(old_url, day2.token, seed=len(day2.rows) + 1).start()
    # The gap: no answer at the old address nor at the new one (a new port, address or scheme).
    probe = GapProbe(lambda: list(dict.fromkeys([old_url, new_url]))).start()
    try:
        time.sleep(SETTLE_SECONDS)
        started = time.monotonic()
        outputs = stack.deploy(secrets=day2.secrets, **day2.config)
        up_seconds = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
    finally:
        gap = probe.stop()
        result = load.stop()
    assert outputs["url"] == new_url
    day2.url = outputs["url"]
    after = snapshot(stack)
    happened = what_happened(before, after)
    measured = {
        "row": row,
        "up_s": round(up_seconds, 1),
        "requests": result.requests,
        "failed": len(result.failures),
        "first_failure": result.failures[0][:160] if result.failures else "",
        "gap_s": round(gap, 2),
        **happened,
    }
    day2.rows.append(measured)
    print(f"FIGURE day2 {json.dumps(measured, sort_keys=True)}")

    assert happened == expected, f"{row}: {happened}"
    if not gap_expected:
        assert result.failures == [], f"{row}: {len(result.failures)} of {result.requests} failed:\n" + "\n".join(
            result.failures[:10]
        )
        assert gap < 1.5, f"{row}: the service did not answer for {gap:.2f} s"
    assert result.requests >= 10, f"{row}: the traffic did not run during the update"
    # No data lost: every book written so far (and during this update) is there.
    day2.written |= set(result.created_ids)
    (db,) = stack.containers("db")
    stored = {int(i) for i in psql(db, "SELECT id FROM books_book").split()}
    missing = day2.written - stored
    assert not missing, f"{row}: {len(missing)} books lost, e.g. {sorted(missing)[:5]}"

    # A second `up` with nothing changed: nothing created, updated or deleted.
    again = stack.deploy(secrets=day2.secrets, **day2.config)
    assert snapshot(stack) == after, f"{row}: the second up changed containers"
    assert again.result["created"] == [] and again.result["pruned"] == [], again.result
    return measured


API_REPLACED = {"db": "kept", "migrate": "kept", "api": "replaced", "proxy": "kept"}
ENV_CHANGED = {"db": "kept", "migrate": "replaced", "api": "replaced", "proxy": "kept"}
PROXY_TOO = {"db": "kept", "migrate": "replaced", "api": "replaced", "proxy": "replaced"}
NOTHING = {role: "kept" for role in ROLES}


def test_scale_out_adds_replicas_only(day2):
    change(
        day2,
        "apiReplicas 2->4",
        {**NOTHING, "api": "kept 2, created 2, deleted 0"},
        config={"library:apiReplicas": 4},
    )


def test_scale_in_drains_and_deletes_replicas_only(day2):
    change(
        day2,
        "apiReplicas 4->1",
        {**NOTHING, "api": "kept 1, created 0, deleted 3"},
        config={"library:apiReplicas": 1},
    )
    change(
        day2, "apiReplicas 1->2", {**NOTHING, "api": "kept 1, created 1, deleted 0"}, config={"library:apiReplicas": 2}
    )


def test_raising_api_memory_threefold_updates_in_place(day2):
    change(
        day2,
        "apiMemoryMb 512->1536",
        {**NOTHING, "migrate": "updated", "api": "updated"},
        config={"library:apiMemoryMb": 1536},
    )
    for container in day2.stack.containers("api"):
        host = container.attrs["HostConfig"]
        assert host["Memory"] == host["MemorySwap"] == 1536 * 1024 * 1024


def test_raising_database_memory_threefold_updates_in_place(day2):
    change(day2, "dbMemoryMb 512->1536", {**NOTHING, "db": "updated"}, config={"library:dbMemoryMb": 1536})
    (db,) = day2.stack.containers("db")
    assert db.attrs["HostConfig"]["Memory"] == 1536 * 1024 * 1024


def test_cpus_roll_the_replicas(day2):
    change(day2, "apiCpus 1->0.5", API_REPLACED, config={"library:apiCpus": "0.5"})


def test_gunicorn_settings_roll_the_replicas_and_rerun_the_migration(day2):
    # The migration container's environment changes too: a new run under a new name (defect 1).
    change(
        day2,
        "gunicornWorkers/Threads",
        ENV_CHANGED,
        config={"library:gunicornWorkers": 3, "library:gunicornThreads": 2},
    )


def test_throttles(day2):
    change(
        day2,
        "throttleAnon/throttleUser",
        ENV_CHANGED,
        config={"library:throttleAnon": "100000/minute", "library:throttleUser": "200000/minute"},
    )


def test_allowed_hosts(day2):
    change(day2, "allowedHosts", ENV_CHANGED, config={"library:allowedHosts": "127.0.0.1,localhost,[::1],library.test"})


def test_host_port(day2):
    port = free_port_block(1)
    # The app's trusted origins name the port (plain HTTP): the replicas are replaced too.
    change(day2, "hostPort", PROXY_TOO, config={"library:hostPort": port}, gap_expected=True)
    assert day2.url == f"http://127.0.0.1:{port}/"


def test_bind_address(day2):
    # From one loopback address to the other: ::1 (IPv6) and back.
    # The links the API writes name the address (publicOrigin derived): the replicas roll too.
    change(day2, "bindAddress 127.0.0.1->::1", PROXY_TOO, config={"library:bindAddress": "::1"}, gap_expected=True)
    assert day2.url.startswith("http://[::1]:")
    change(
        day2, "bindAddress ::1->127.0.0.1", PROXY_TOO, config={"library:bindAddress": "127.0.0.1"}, gap_expected=True
    )


def test_https_behind_another_proxy(day2):
    # The proxy's forwarded scheme changes: the proxy is replaced (fixed name and port).
    change(day2, "https false->true", PROXY_TOO, config={"library:https": True}, gap_expected=True)


def _served_certificate_subject(url: str) -> str:
    port = url.rsplit(":", 1)[-1].strip("/")
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    )
    return next((line for line in out.stdout.splitlines() if line.startswith("subject=")), out.stdout[-300:])


def test_tls_on_rotated_and_off(day2, tmp_path):
    first_cert, first_key = self_signed_certificate(tmp_path, "day2-first")
    change(
        day2,
        "TLS on",
        PROXY_TOO,
        config={"library:tlsCertificate": first_cert},
        secrets={"library:tlsKey": first_key},
        gap_expected=True,
    )
    assert day2.url.startswith("https://") and "day2-first" in _served_certificate_subject(day2.url)
    # The deployed TLS stack, as testssl.sh judges it (Mozilla's intermediate profile).
    assert_intermediate_tls_profile(run_testssl(day2.url.removeprefix("https://").rstrip("/"), tmp_path))
    second_cert, second_key = self_signed_certificate(tmp_path, "day2-second")
    # Only the proxy's uploads change: the app's environment is the same.
    change(
        day2,
        "TLS certificate rotated",
        {**NOTHING, "proxy": "replaced"},
        config={"library:tlsCertificate": second_cert},
        secrets={"library:tlsKey": second_key},
        gap_expected=True,
    )
    assert "day2-second" in _served_certificate_subject(day2.url)
    change(day2, "TLS off", PROXY_TOO, drop=("library:tlsCertificate", "library:tlsKey"), gap_expected=True)
    assert day2.url.startswith("http://")


def test_retaining_the_database_volume_is_a_state_only_change(day2):
    for value in (False, True):
        change(
            day2,
            f"retainDatabaseVolume ->{str(value).lower()}",
            NOTHING,
            config={"library:retainDatabaseVolume": value},
        )


def test_rollback_together_with_a_config_change(day2):
    change_the_code(day2.stack.repo)
    change(day2, "code change (new image)", ENV_CHANGED)
    change(
        day2,
        "apiImage rollback + throttleAnon",
        ENV_CHANGED,
        config={"library:apiImage": day2.first_image, "library:throttleAnon": "90000/minute"},
    )
    for container in day2.stack.containers("api"):
        assert container.image.id == day2.first_image


def test_postgres_image_within_the_major_version(day2, live_docker):
    dockerfile = f"FROM library-base/postgres:bookworm\nLABEL org.library.test=day2-{day2.stack.run_id}\n"
    image, _ = live_docker.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=RELABELLED_POSTGRES, rm=True)
    (db,) = day2.stack.containers("db")
    volume_before = [m["Name"] for m in db.attrs["Mounts"] if m["Type"] == "volume"]
    # The server is replaced delete-before-replace (fixed name, one volume): the API
    # answers 503 for what needs the database meanwhile; measured, not zero.
    change(
        day2,
        "postgresImage (same major)",
        {**NOTHING, "db": "replaced"},
        config={"library:postgresImage": RELABELLED_POSTGRES},
        gap_expected=True,
    )
    (db,) = day2.stack.containers("db")
    assert db.image.id == image.id
    assert [m["Name"] for m in db.attrs["Mounts"] if m["Type"] == "volume"] == volume_before
