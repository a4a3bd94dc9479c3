"""Fixtures shared by every tier."""
import os

import pytest


def require_docker():
    """A Docker SDK client, or a skip with the reason (a failure when REQUIRE_DOCKER=1)."""
    reason = None
    try:
        import docker

        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except Exception as error:  # any failure means: no usable engine here
        reason = f"no Docker engine answers ({type(error).__name__}: {error})"
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client():
    return require_docker()
