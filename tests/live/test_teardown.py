"""Teardown removes every container and network of a run, and keeps the
database volume unless asked to remove it."""

from __future__ import annotations

import pytest

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
