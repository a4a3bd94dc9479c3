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


def _seconds(duration: str) -> int:
    """Whole seconds of a Go duration this module writes ("5s")."""
    if not duration.endswith("s") or not duration[:-1].isdigit():
        raise ValueError(f"durations here are whole seconds such as '5s', got {duration!r}")
    return int(duration[:-1])


def health_gate(
    test: list[str], *, timeout: str = "5s", retries: int = 3, start_period: str = "30s", interval: str = "5s"
) -> dict[str, Any]:
    """A Docker health check, and `wait` for it with a timeout sized from it.

    The provider polls for the whole `wait_timeout` even once Docker has marked
    the container unhealthy, so the timeout is when Docker gives up on it: the
    start period, then `retries` failed probes (each up to an interval plus its
    timeout), plus one interval of slack. A container that never becomes
    healthy fails `pulumi up` then, not minutes later."""
    wait_timeout = _seconds(start_period) + retries * (_seconds(interval) + _seconds(timeout)) + _seconds(interval)
    return {
        "healthcheck": docker.ContainerHealthcheckArgs(
            tests=list(test), interval=interval, timeout=timeout, retries=retries, start_period=start_period
        ),
        "wait": True,
        "wait_timeout": wait_timeout,
    }


def memory_limit(mb: int) -> dict[str, Any]:
    """A memory limit without swap. Setting `memory_swap` too matters for a change:
    the provider updates `memory` in place and sends a swap limit only when one is
    set, and Docker refuses a memory limit above the swap limit it chose at
    creation (twice the first memory) unless both change together."""
    return {"memory": mb, "memory_swap": mb}


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
