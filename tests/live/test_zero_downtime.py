"""Zero-downtime deployments and rollbacks behind the reverse proxy.

While clients keep reading and writing through the proxy's published port, a
redeployment with a code change replaces every API replica new-before-old
(create-before-delete, health-gated) and not one request fails. Then a
rollback (`apiImage` = the first deployment's image) brings the old code back
with every book intact, under load as well.

The deployments run through the live harness, which replaces containers the
way the engine does for this program (see tests/harness/, docs/testing.md): what this
proves is the program's resource options and its before_delete hook (which
drains an old replica before it is stopped) plus nginx's re-resolution and
retries, on a real engine. Throttling is off for these stacks: the load is
one client address, and a 429 would not be a deployment's fault.
"""

from __future__ import annotations

import secrets
import time

import pytest

from tests.live.conftest import NO_THROTTLING, all_books, http, isbn13
from tests.live.traffic import CLIENTS, ContinuousLoad, LoadResult

pytestmark = pytest.mark.live

TEMPLATE = "app/books/templates/books/book_list.html"
#: Load before and after the deployment, so that both edges are covered.
SETTLE_SECONDS = 2.0


def change_the_code(repo) -> str:
    """A visible code change: a marker comment in the website's list template."""
    marker = f"zero-downtime-marker-{secrets.token_hex(4)}"
    template = repo / TEMPLATE
    head, _, tail = template.read_text().rpartition("{% endblock %}")
    template.write_text(f"{head}<!-- {marker} -->\n{{% endblock %}}{tail}")
    return marker


def deploy_under_load(live_stack, base_url: str, token: str, marker: str | None, **config):
    """Deploy while ContinuousLoad runs; returns (outputs, load result, deploy seconds)."""
    load = ContinuousLoad(base_url, token, marker=marker).start()
    try:
        time.sleep(SETTLE_SECONDS)
        started = time.monotonic()
        outputs = live_stack.deploy(**config)
        deploy_seconds = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
    finally:
        result = load.stop()
    return outputs, result, deploy_seconds


def assert_no_failed_request(result: LoadResult) -> None:
    """Not one read or write failed: the proxy routed around replicas that
    were draining (app/core/draining.py) or gone."""
    assert result.failures == [], (
        f"{len(result.failures)} of {result.requests} requests failed; first ones:\n" + "\n".join(result.failures[:10])
    )


def assert_every_old_replica_was_drained(outputs, replaced: int) -> None:
    """Each new replica's after_create hook (infra/sweep_hook.py) drained and removed the one
    it replaces (infra/drain_hook.py; it warns, and removes it anyway, when it cannot), and the
    engine's delete of the old one, with its before_delete hook, found it gone."""
    runs = outputs.result["hookRuns"]
    sweeps = [run for run in runs if run["hook"] == "library-sweep-api"]
    assert len(sweeps) == replaced, runs
    assert [run["hook"] for run in runs if run["kind"] == "beforeDelete"] == ["library-drain-api-replica"] * replaced
    assert "not drained before" not in outputs.log, outputs.log[-3000:]
    assert outputs.log.count(" drained in ") == replaced, outputs.log[-3000:]


def test_a_code_deployment_under_load_fails_no_request(live_stack):
    first = live_stack.deploy(**NO_THROTTLING)
    base = first["url"]
    token = live_stack.api_token(first["api_container_names"][0])
    old_api = {c.id for c in live_stack.containers("api")}
    (proxy,) = live_stack.containers("proxy")
    marker = change_the_code(live_stack.repo)

    second, result, deploy_seconds = deploy_under_load(live_stack, base, token, marker, **NO_THROTTLING)

    print(
        f"FIGURE zero-downtime requests={result.requests} failures={len(result.failures)} "
        f"duration_s={result.seconds:.1f} deploy_s={deploy_seconds:.1f} clients={CLIENTS} "
        f"writes={len(result.created_ids)} slowest_s={result.slowest_s:.2f} new_code_first_seen_s="
        f"{None if result.marker_first_seen_s is None else round(result.marker_first_seen_s, 1)}"
    )
    assert_no_failed_request(result)
    assert_every_old_replica_was_drained(second, replaced=len(old_api))
    assert result.requests >= 20 * CLIENTS, "the load did not really run during the deployment"
    assert result.marker_first_seen_s is not None, "the new code was never served while the load ran"

    # Every replica was replaced: the old containers are gone, the new ones run the new image.
    assert second["image"] != first["image"]
    now = live_stack.containers("api")
    assert len(now) == live_stack.replicas
    assert not {c.id for c in now} & old_api, "an old replica survived the deployment"
    assert {c.name for c in now} == set(second["api_container_names"])
    for container in now:
        assert container.status == "running" and container.image.id == second["image"]
    # The proxy (its inputs unchanged) was not touched: that is what kept the port open.
    assert [c.id for c in live_stack.containers("proxy")] == [proxy.id]
    page = http("GET", base)
    assert page.status_code == 200 and marker in page.text
    # Every write acknowledged during the deployment is there.
    stored = {b["id"] for b in all_books(base, token)}
    assert set(result.created_ids) <= stored


def test_rollback_to_the_previous_image_keeps_the_data(live_stack):
    v1 = live_stack.deploy(**NO_THROTTLING)
    base = v1["url"]
    token = live_stack.api_token(v1["api_container_names"][0])
    before = http(
        "POST",
        f"{base}api/books/",
        token,
        json={"title": "Written under v1", "author": "Rollback", "isbn": isbn13("979555000001")},
    )
    assert before.status_code == 201, before.text

    marker = change_the_code(live_stack.repo)
    v2 = live_stack.deploy(**NO_THROTTLING)
    assert v2["image"] != v1["image"]
    assert marker in http("GET", base).text
    during = http(
        "POST",
        f"{base}api/books/",
        token,
        json={"title": "Written under v2", "author": "Rollback", "isbn": isbn13("979555000002")},
    )
    assert during.status_code == 201, during.text

    # The rollback: run v1's image again (no build), under load.
    rolled_back, result, deploy_seconds = deploy_under_load(
        live_stack, base, token, None, **NO_THROTTLING, **{"library:apiImage": v1["image"]}
    )
    print(
        f"FIGURE rollback requests={result.requests} failures={len(result.failures)} "
        f"duration_s={result.seconds:.1f} deploy_s={deploy_seconds:.1f} slowest_s={result.slowest_s:.2f}"
    )
    assert_no_failed_request(result)
    assert_every_old_replica_was_drained(rolled_back, replaced=live_stack.replicas)

    assert rolled_back["image"] == v1["image"]
    api = live_stack.containers("api")
    assert len(api) == live_stack.replicas
    assert all(c.image.id == v1["image"] and c.status == "running" for c in api)
    for _ in range(2 * live_stack.replicas):
        page = http("GET", base)
        assert page.status_code == 200 and marker not in page.text, "v2's code is still served"
    stored = {b["id"]: b for b in all_books(base, token)}
    assert before.json()["id"] in stored and during.json()["id"] in stored
    assert set(result.created_ids) <= set(stored)
