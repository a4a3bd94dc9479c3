"""Maintenance mode of the reverse proxy: a flag file nginx tests on every request.

While FLAG exists in the proxy container, nginx answers everything but /healthz
with a 503 itself; the operator command (`library maintenance on|off`) switches
it with these functions, no reload or restart. The flag lives in the container's
writable layer: it survives `docker restart`, not a replacement of the proxy.
docs/deploy.md, "Topology: the reverse proxy", tells the story. Imports only the
standard library (docker-py lazily), for the operator command's sake.
"""

from __future__ import annotations

import io
import tarfile
import time
from typing import Any

#: Its presence switches maintenance mode on; its content is the operator's note.
#: Next to the uploaded nginx.conf (nginx_config.CONFIG_DIR), which tests it.
FLAG = "/etc/nginx/library/maintenance"
#: The Retry-After of a maintenance answer: how long a client should wait, in seconds.
RETRY_AFTER_S = 120


class MaintenanceError(RuntimeError):
    """The flag could not be changed."""


def turn_on(container: Any, note: str) -> None:
    """Write FLAG with `note` (e.g. who and when, as JSON) into `container`, a docker-py
    Container. The daemon writes it (as root, mode 0644): no exec in the container."""
    data = note.encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo(FLAG.lstrip("/"))
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    if not container.put_archive("/", archive.getvalue()):
        raise MaintenanceError(f"could not write {FLAG} in container {container.name}")


def turn_off(container: Any) -> None:
    """Remove FLAG from the running `container`. As root (uid 0 owns the directory,
    so no capability is needed); `rm -f` makes it a no-op when already off."""
    result = container.exec_run(["rm", "-f", FLAG], user="0")
    if result.exit_code != 0:
        output = result.output.decode("utf-8", "replace").strip()
        raise MaintenanceError(
            f"could not remove {FLAG} in container {container.name} (exit code {result.exit_code}): {output}"
        )


def container_file(container: Any, path: str) -> str | None:
    """The text of the file `path` in `container` (a docker-py Container, running or not), None when
    there is none. MaintenanceError when it is not a regular file."""
    from docker.errors import NotFound

    try:
        stream, _ = container.get_archive(path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.extractfile(path.rsplit("/", 1)[1])
        if member is None:
            raise MaintenanceError(f"{path} in container {container.name} is not a regular file")
        return member.read().decode("utf-8", "replace")


def state(container: Any) -> str | None:
    """The note of FLAG in `container` when maintenance mode is on, None when it is off."""
    return container_file(container, FLAG)
