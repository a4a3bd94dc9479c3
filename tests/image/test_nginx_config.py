"""The proxy's rendered nginx.conf passes `nginx -t` in the proxy image, as the program uploads it."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_infra_module, self_signed_certificate

from .conftest import TEST_LABEL

pytestmark = pytest.mark.docker

NGINX_IMAGE = os.environ.get("LIBRARY_TEST_NGINX_IMAGE", "library-base/nginx:bookworm")


@pytest.fixture(scope="module")
def nginx_image(docker_client):
    if not docker_client.images.list(name=NGINX_IMAGE):
        pytest.fail(f"{NGINX_IMAGE} is missing: bash scripts/build-debian-images.sh nginx", pytrace=False)
    return NGINX_IMAGE


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A throwaway self-signed certificate and key (PEM)."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def nginx_test(docker_client, image: str, files: dict[str, str]) -> tuple[int, str]:
    """`nginx -t` on the uploaded files, in the proxy's user and file system layout."""
    proxy = load_infra_module("proxy")
    parts = load_infra_module("container_parts")
    nginx = load_infra_module("nginx_config")
    container = docker_client.containers.create(
        image,
        entrypoint=[proxy.NGINX_BINARY],
        command=["-t", "-c", nginx.CONFIG_FILE],
        user=proxy.NGINX_USER,
        tmpfs=dict(parts.TMPFS),
        cap_drop=["ALL"],
        network_mode="none",
        labels={TEST_LABEL: "nginx-config"},
    )
    try:
        upload(container, files)
        container.start()
        status = container.wait(timeout=60)
        return status["StatusCode"], container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("forwarded_proto", ["$scheme", "https"])
def test_the_plain_http_config_passes_nginx_t(docker_client, nginx_image, forwarded_proto):
    nginx = load_infra_module("nginx_config")
    conf = nginx.nginx_config(upstream_host="api", upstream_port=8000, tls=False, forwarded_proto=forwarded_proto)
    code, output = nginx_test(docker_client, nginx_image, {nginx.CONFIG_FILE: conf})
    assert code == 0 and "test is successful" in output, output


def test_the_tls_config_passes_nginx_t(docker_client, nginx_image, certificate):
    nginx = load_infra_module("nginx_config")
    conf = nginx.nginx_config(upstream_host="api", upstream_port=8000, tls=True, forwarded_proto="$scheme")
    cert, key = certificate
    files = {nginx.CONFIG_FILE: conf, nginx.TLS_CERTIFICATE_FILE: cert, nginx.TLS_KEY_FILE: key}
    code, output = nginx_test(docker_client, nginx_image, files)
    assert code == 0 and "test is successful" in output, output


def test_nginx_t_catches_a_broken_config(docker_client, nginx_image):
    """The check is real: a directive nginx does not know fails it."""
    nginx = load_infra_module("nginx_config")
    conf = nginx.nginx_config(upstream_host="api", upstream_port=8000, tls=False, forwarded_proto="$scheme")
    broken = conf.replace("proxy_buffering on;", "proxy_buffering sometimes;")
    code, output = nginx_test(docker_client, nginx_image, {nginx.CONFIG_FILE: broken})
    assert code != 0 and "proxy_buffering" in output, output


def test_the_template_files_are_where_the_program_reads_them():
    nginx = load_infra_module("nginx_config")
    assert Path(nginx.TEMPLATE).is_file() and Path(nginx.TLS_TEMPLATE).is_file()


def upload(container, files: dict[str, str]) -> None:
    """Copy text files into a created container (as root, mode 0644), as the provider's `uploads` does."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for path, text in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            data = text.encode()
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    container.put_archive("/", archive.getvalue())


@contextlib.contextmanager
def proxy_in_front(
    docker_client,
    scenario: str,
    upstream: dict[str, Any],
    files: dict[str, str],
    host_port: int | None = None,
    **options,
) -> Iterator[Any]:
    """A created (not started) nginx container as the program runs the proxy (its binary, user, tmpfs,
    no capability; `files` uploaded, the rendered nginx.conf among them), published on 127.0.0.1
    (`host_port`, or a free one), on a network of its own with `upstream` (docker-py `run` arguments)
    as `api`. Both, and the network, are removed afterwards."""
    proxy, parts, nginx = (load_infra_module(m) for m in ("proxy", "container_parts", "nginx_config"))
    run = f"{scenario}-{uuid.uuid4().hex[:8]}"
    labels = {TEST_LABEL: run}
    network = docker_client.networks.create(f"library-test-{run}", driver="bridge", labels=labels)
    try:
        api = f"library-test-{run}-api"
        docker_client.containers.run(detach=True, name=api, labels=labels, network=network.name, **upstream)
        network.disconnect(api)
        network.connect(api, aliases=["api"])
        container = docker_client.containers.create(
            NGINX_IMAGE,
            name=f"library-test-{run}-proxy",
            entrypoint=[proxy.NGINX_BINARY],
            command=["-c", nginx.CONFIG_FILE, "-g", "daemon off;"],
            user=proxy.NGINX_USER,
            tmpfs=dict(parts.TMPFS),
            cap_drop=["ALL"],
            network=network.name,
            ports={f"{nginx.PROXY_PORT}/tcp": ("127.0.0.1", host_port)},
            labels=labels,
            **options,
        )
        upload(container, files)
        yield container
    finally:
        for leftover in docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={run}"}):
            leftover.remove(force=True, v=True)
        network.remove()
