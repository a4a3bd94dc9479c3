"""Day-2 failures: a failed migration then `destroy`, an image that never becomes
healthy then a fixed one, and an `up` killed half-way then run again.

Each runs on a stack of its own (they break it on purpose), under the live
harness's engine rules (tests/harness/, docs/testing.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.harness.live import DeployError
from tests.harness.program import REPO_ROOT, config_value
from tests.live.conftest import NO_THROTTLING, all_books, wait_for
from tests.live.test_broken_migration import assert_fails_with_migration_output, inject_broken_migration
from tests.live.traffic import ContinuousLoad

pytestmark = pytest.mark.live

WSGI = "app/config/wsgi.py"
NEVER_STARTS = "day2: this build never starts"


def test_destroy_right_after_a_failed_migration(live_stack):
    first = live_stack.deploy(**NO_THROTTLING)
    inject_broken_migration(live_stack.repo)
    assert_fails_with_migration_output(live_stack.deploy_expecting_failure(**NO_THROTTLING))
    assert live_stack.containers("api"), "the running replicas stay after a failed migration"

    # The replicas have a before_delete hook: without --run-program the engine refuses.
    with pytest.raises(DeployError) as refused:
        live_stack.destroy(run_program=False, **NO_THROTTLING)
    assert "--run-program" in str(refused.value)
    assert live_stack.containers("api"), "a refused destroy deletes nothing"

    # With it, the program replays the stored outputs (the failed exit code among
    # them) and must not raise: everything goes but the retained volume.
    live_stack.destroy(run_program=True, **NO_THROTTLING)
    objects = live_stack.objects()
    assert objects["containers"] == [] and objects["networks"] == []
    assert live_stack.client.volumes.get(first["volume_name"]).name == first["volume_name"]


def _break_startup(repo) -> str:
    path = repo / WSGI
    original = path.read_text()
    path.write_text(original + f"\nraise RuntimeError({NEVER_STARTS!r})\n")
    return original


def _proxy_upstreams(proxy, since: float) -> list[str]:
    """The last upstream address nginx used for each request it logged since `since`."""
    import json

    found = []
    for line in proxy.logs(since=int(since)).decode("utf-8", "replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == "nginx.access" and entry.get("upstream"):
            found.append(entry["upstream"].split(",")[-1].strip().rsplit(":", 1)[0])
    return found


def test_an_image_that_never_becomes_healthy_fails_fast_then_a_fixed_one_converges(live_stack):
    first = live_stack.deploy(**NO_THROTTLING)
    token = live_stack.api_token(first["api_container_names"][0])
    old = {c.id: c for c in live_stack.containers("api")}
    old_addresses = {n["IPAddress"] for c in old.values() for n in c.attrs["NetworkSettings"]["Networks"].values()}
    (proxy,) = live_stack.containers("proxy")
    original = _break_startup(live_stack.repo)

    started_wall = time.time()
    load = ContinuousLoad(first["url"], token, seed=41).start()
    try:
        started = time.monotonic()
        error = live_stack.deploy_expecting_failure(**NO_THROTTLING)
        failed_after = time.monotonic() - started
    finally:
        result = load.stop()
    print(
        f"FIGURE day2 unhealthy-image up_failed_after_s={failed_after:.1f} requests={result.requests} "
        f"failed={len(result.failures)}"
    )
    text = str(error) + error.log
    # What the user sees: the replica's last health check and its log, not only the provider's words.
    assert "container failed to be in healthy state" in text or "did not become healthy" in text, text[-3000:]
    assert "Last health check" in text and NEVER_STARTS in text, text[-4000:]
    # Fast: the wait ends when Docker gives up on the container (50 s here), not minutes later.
    assert failed_after < 120
    # The old replicas kept serving; no request failed, and none was answered by a new replica.
    assert result.failures == [], "\n".join(result.failures[:10])
    assert {c.id for c in live_stack.containers("api") if c.id in old and c.status == "running"} == set(old)
    upstreams = _proxy_upstreams(proxy, started_wall)
    assert upstreams and set(upstreams) <= old_addresses, set(upstreams) - old_addresses

    # The fixed image: converges, the failed replicas and the old ones are gone.
    (live_stack.repo / WSGI).write_text(original)
    fixed = live_stack.deploy(**NO_THROTTLING)
    now = live_stack.containers("api")
    assert len(now) == live_stack.replicas and not {c.id for c in now} & set(old)
    assert all(c.status == "running" and c.image.id == fixed["image"] for c in now)
    assert {c.name for c in now} == set(fixed["api_container_names"])
    stored = {book["id"] for book in all_books(fixed["url"], token)}
    assert set(result.created_ids) <= stored


def _deploy_process(live_stack, config: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.harness.live", "--repo", str(live_stack.repo), "--stack", live_stack.stack]
    cmd += ["--run-id", live_stack.run_id]
    for key, value in live_stack.config(**config).items():
        cmd += ["--config", f"{key}={config_value(value)}"]
    return subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def test_an_interrupted_up_then_up_again_converges_and_orphans_nothing(live_stack):
    from tests.live.test_zero_downtime import change_the_code

    first = live_stack.deploy(**NO_THROTTLING)
    token = live_stack.api_token(first["api_container_names"][0])
    old = {c.id for c in live_stack.containers("api")}
    change_the_code(live_stack.repo)

    load = ContinuousLoad(first["url"], token, seed=42).start()
    try:
        process = _deploy_process(live_stack, NO_THROTTLING)
        # Killed while the replicas are being replaced: once a new replica exists.
        wait_for(lambda: any(c.id not in old for c in live_stack.containers("api")), 300, "a new replica")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        interrupted = {c.id for c in live_stack.containers("api")}
        again = live_stack.deploy(**NO_THROTTLING)
    finally:
        result = load.stop()
    print(f"FIGURE day2 interrupted-up requests={result.requests} failed={len(result.failures)}")
    assert result.failures == [], "\n".join(result.failures[:10])
    assert interrupted - old, "the first up was not interrupted while replacing replicas"

    # Converged, and nothing orphaned: exactly the stack's declared containers remain.
    now = live_stack.containers("api")
    assert len(now) == live_stack.replicas
    assert all(c.status == "running" and c.image.id == again["image"] for c in now)
    names = {c.name for c in live_stack.containers()}
    declared = {*again["api_container_names"], again["db_container_name"], again["migration_container_name"]}
    declared.add(again["proxy_container_name"])
    assert names == declared, names ^ declared
    stored = {book["id"] for book in all_books(again["url"], token)}
    assert set(result.created_ids) <= stored
