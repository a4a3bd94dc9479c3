"""Say why a new API replica failed to become healthy (an `on_error` hook).

The provider's own error is only "container failed to be in healthy state".
When a replica's create fails, this hook finds the container on the engine
(by its name: the engine passes no id for a failed create) and logs its last health-check output and log
lines, then lets the failure stand: it never asks the engine to retry
(docs/deploy.md, "Updates and their cost").
"""

from __future__ import annotations

import pulumi
from docker_engine import Engine, engine_client

#: How long a call to the engine may take.
CLIENT_TIMEOUT_SECONDS = 30
HOOK_NAME = "library-report-unhealthy-api-replica"
#: How much of the health-check output and of the container's log to show.
OUTPUT_CHARS = 1500
LOG_LINES = 20


def unhealthy_report(container: dict, logs: str) -> str:
    """What to tell the user about a replica that did not become healthy (from `docker inspect`)."""
    state = container.get("State") or {}
    health = state.get("Health") or {}
    probes = health.get("Log") or []
    last = probes[-1] if probes else {}
    output = str(last.get("Output") or "").strip()[-OUTPUT_CHARS:] or "(no health check has run)"
    return (
        f"API replica {container.get('Name', '').lstrip('/')} is {health.get('Status') or state.get('Status')} "
        f"(restarted {container.get('RestartCount', 0)} times). Last health check, exit code "
        f"{last.get('ExitCode', '-')}:\n{output}\nLast log lines:\n{logs.rstrip() or '(none)'}"
    )


def make_health_report_hook(*, engine: Engine) -> pulumi.ErrorHook:
    """The named on_error hook for the API replicas (one per program)."""

    def report_unhealthy(args: pulumi.ErrorHookArgs) -> bool:
        # The engine passes no id for a failed create; the name is known before it (auto-naming).
        target = args.id or (args.new_inputs or {}).get("name")
        if args.failed_operation != "create" or not target:
            return False
        try:
            with engine_client(engine, CLIENT_TIMEOUT_SECONDS) as client:
                container = client.api.inspect_container(target)
                logs = client.api.logs(container["Id"], tail=LOG_LINES).decode("utf-8", "replace")
                pulumi.log.error(unhealthy_report(container, logs))
        except Exception as error:  # noqa: BLE001 - a report only: never mask the failure itself
            reason = f"{type(error).__name__}: {error}"
            pulumi.log.warn(f"{args.name}: could not read the failed replica's health ({reason})")
        return False  # do not retry: the same image would fail the same way

    return pulumi.ErrorHook(HOOK_NAME, report_unhealthy)
