"""Teardown removes every container and network of a run, and keeps the
database volume unless asked to remove it."""

from __future__ import annotations

import secrets

import pytest

from tests.harness.state import RUN_LABEL, URN_LABEL, RunState
from tests.harness.teardown import teardown

pytestmark = pytest.mark.live


def test_teardown_removes_containers_and_networks_and_keeps_the_volume(live_stack):
    outputs = live_stack.deploy()
    client = live_stack.client
    objects = live_stack.objects()
    names = {*outputs["api_container_names"], outputs["db_container_name"], outputs["migration_container_name"]}
    assert names <= set(objects["containers"])
    assert outputs["network_name"] in objects["networks"]
    # Nothing of the stack escapes the run label (the program labels its objects too).
    stack_filter = {"label": f"org.library.stack={live_stack.stack}"}
    assert {c.name for c in client.containers.list(all=True, filters=stack_filter)} == set(objects["containers"])

    removed = teardown(live_stack.run_id, client=client)
    assert set(removed["containers"]) == set(objects["containers"])
    assert removed["volumes"] == []
    assert live_stack.objects()["containers"] == []
    assert live_stack.objects()["networks"] == []
    assert client.containers.list(all=True, filters=stack_filter) == []
    assert client.networks.list(names=[outputs["network_name"]]) == []
    volume = client.volumes.get(outputs["volume_name"])  # kept
    assert volume.name == outputs["volume_name"]

    # Deploying the run again finds its data volume; removing volumes then deletes it.
    again = live_stack.deploy()
    assert again["volume_name"] == outputs["volume_name"]
    removed = teardown(live_stack.run_id, remove_volumes=True, client=client)
    assert removed["volumes"] == [outputs["volume_name"]]
    assert client.volumes.list(filters={"name": outputs["volume_name"]}) == []
    assert live_stack.objects() == {"containers": [], "networks": [], "volumes": []}


@pytest.mark.parametrize("run_objects_left", [True, False], ids=["with-run-objects", "state-only"])
def test_teardown_finds_a_drain_helper_a_crashed_deployment_left(live_docker, tmp_path, monkeypatch, run_objects_left):
    """The drain helper is made by the program's hook, not by the harness: it
    carries the stack's labels (infra/drain_hook.py), not the run label. A
    deployment that dies while a helper runs leaves it; teardown finds it by
    the run's stack, known from the URNs of the run's objects or of its state."""
    monkeypatch.setenv("LIVE_STATE_DIR", str(tmp_path))
    tag = f"teardown-helper-{secrets.token_hex(3)}"
    run_id, stack = tag, f"ci-{tag}"
    urn = f"urn:pulumi:{stack}::library::library:infra:Api$docker:index/container:Container::api-0"
    stack_labels = {"org.library.project": "library", "org.library.stack": stack, "org.library.test": tag}

    def container(name: str, labels: dict[str, str]):
        return live_docker.containers.run(
            "library-base/python:bookworm",
            ["sleep", "300"],
            name=f"{tag}-{name}",
            labels=labels,
            network_mode="none",
            detach=True,
        )

    made = []
    try:
        if run_objects_left:  # a replica of the run, as the harness labels it
            made.append(container("api", {**stack_labels, RUN_LABEL: run_id, URN_LABEL: urn}))
        else:  # the replicas are gone; the run's state still names the stack
            RunState(run_id).put(urn, {"type": "docker:index/container:Container", "id": "gone", "outputs": {}})
        made.append(container("helper", {**stack_labels, "org.library.component": "api-drain"}))
        # Another stack's helper (another run, or a real deployment) is not touched.
        neighbour = container("neighbour", {**stack_labels, "org.library.stack": f"{stack}-other"})
        made.append(neighbour)

        removed = teardown(run_id, client=live_docker)

        expected = {f"{tag}-helper"} | ({f"{tag}-api"} if run_objects_left else set())
        assert set(removed["containers"]) == expected
        left = {c.name for c in live_docker.containers.list(all=True, filters={"label": f"org.library.test={tag}"})}
        assert left == {f"{tag}-neighbour"}
    finally:
        for c in made:
            try:
                c.remove(force=True)
            except Exception:  # noqa: BLE001 - removed by teardown already
                pass
