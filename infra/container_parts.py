"""Container arguments every role shares, spliced into each `docker.Container`.

One place for the logging options, health checks, restart policy, graceful
stop, hardening and the options the provider needs to apply a change
(docs/deploy.md, "The containers").
"""

from __future__ import annotations

from typing import Any

import pulumi_docker as docker

#: Bounded JSON-file logs: `docker logs` works, the disk does not fill up.
LOGGING: dict[str, Any] = {"log_driver": "json-file", "log_opts": {"max-size": "10m", "max-file": "3"}}
#: Restarted after a crash or a daemon restart, not after `docker stop`.
RESTART = "unless-stopped"
#: The only writable place of a hardened container: small, no executables.
TMPFS = {"/tmp": "rw,noexec,nosuid,size=64m"}
NO_NEW_PRIVILEGES = ["no-new-privileges:true"]
#: The provider records a change to these without applying it; replacing the container applies it.
REPLACE_ON_CHANGES = ["healthcheck", "tmpfs"]


def healthcheck(
    test: list[str], *, timeout: str = "5s", retries: int = 3, start_period: str = "30s", interval: str = "5s"
) -> docker.ContainerHealthcheckArgs:
    """A Docker health check (`wait=True` waits for it to pass)."""
    return docker.ContainerHealthcheckArgs(
        tests=list(test), interval=interval, timeout=timeout, retries=retries, start_period=start_period
    )


def graceful_stop(seconds: int, signal: str | None = None) -> dict[str, Any]:
    """Stop with `signal` (default: the image's) and wait `seconds` before a SIGKILL, whoever
    stops the container: the provider on delete, `docker stop`, a daemon shutdown."""
    args: dict[str, Any] = {"stop_timeout": seconds, "destroy_grace_seconds": seconds}
    if signal:
        args["stop_signal"] = signal
    return args


def hardening(user: str, *, read_only: bool = True) -> dict[str, Any]:
    """A non-root user, no capabilities, no privilege escalation and a small
    noexec /tmp; a read-only root file system unless the container needs files
    copied into it (`uploads`, which Docker refuses on a read-only root)."""
    args: dict[str, Any] = {
        "user": user,
        "tmpfs": dict(TMPFS),
        "capabilities": docker.ContainerCapabilitiesArgs(drops=["ALL"]),
        "security_opts": list(NO_NEW_PRIVILEGES),
    }
    if read_only:
        args["read_only"] = True
    return args
