"""`library status`: every container of the stack, the migration, the database, the path
through the proxy, and one verdict (exit 1 when anything is unhealthy). docs/operations.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import docker.errors
import maintenance
from nginx_config import PROXY_PORT

from library_cli.stack import COMPONENT, Stack, labelled

#: A replica's, the database's and the proxy's health check must say this.
HEALTHY = "healthy"
#: The stack's whole path, from inside the proxy: nginx -> an API replica -> PostgreSQL.
READY_PATH = "/readyz"
DATABASE_QUERY = (
    "select pg_database_size(current_database()), "
    "(select count(*) from pg_stat_activity where datname = current_database()), "
    "current_setting('max_connections')"
)


@dataclass
class ContainerStatus:
    role: str
    name: str
    state: str
    health: str
    started_at: str | None = None
    uptime_s: float | None = None
    restarts: int = 0
    exit_code: int | None = None
    #: Declared by the stack (in its outputs), or found by its labels only.
    declared: bool = True


@dataclass
class Report:
    stack: str
    url: str
    image: str
    engine: str
    containers: list[ContainerStatus] = field(default_factory=list)
    migration: str = "unknown"
    database: dict[str, Any] = field(default_factory=dict)
    serving: str = "unknown"
    maintenance: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "healthy": self.healthy}


def _parse_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 times have nanoseconds; Python's parser takes microseconds."""
    if not text or text.startswith("0001-"):
        return None
    head, _, rest = text.partition(".")
    zone = rest[rest.find("Z") :] if "Z" in rest else rest[-6:] if rest[-6:-5] in "+-" else ""
    fraction = rest[: len(rest) - len(zone)][:6] if rest else ""
    return datetime.fromisoformat(f"{head}{'.' + fraction if fraction else ''}{zone.replace('Z', '+00:00')}")


def container_status(client: Any, role: str, name: str, now: datetime, declared: bool = True) -> ContainerStatus:
    try:
        attrs = client.api.inspect_container(name)
    except docker.errors.NotFound:
        return ContainerStatus(role, name, state="missing", health="-", declared=declared)
    state = attrs.get("State") or {}
    started = _parse_time(state.get("StartedAt"))
    running = state.get("Status") == "running"
    return ContainerStatus(
        role=role,
        name=attrs.get("Name", name).lstrip("/"),
        state=str(state.get("Status") or "unknown"),
        health=str((state.get("Health") or {}).get("Status") or "none"),
        started_at=state.get("StartedAt") if started else None,
        uptime_s=(now - started).total_seconds() if running and started else None,
        restarts=int(attrs.get("RestartCount") or 0),
        exit_code=None if running else state.get("ExitCode"),
        declared=declared,
    )


def _judge_containers(report: Report) -> None:
    for c in report.containers:
        if not c.declared:
            report.warnings.append(
                f"{c.name} ({c.role}, {c.state}) is not in the stack's outputs: left by an interrupted update or a "
                f"one-off command; `scripts/deploy up` removes stray replicas"
            )
        elif c.role == "migrate":
            if c.state == "missing":
                report.migration = "missing"
                report.warnings.append(f"the migration container {c.name} is gone (`scripts/deploy up` runs it again)")
            elif c.state == "exited":
                report.migration = f"exit code {c.exit_code}"
                if c.exit_code != 0:
                    report.problems.append(
                        f"the migration {c.name} failed (exit code {c.exit_code}): `library logs migrate`"
                    )
            else:
                report.migration = c.state
        elif c.state != "running" or c.health != HEALTHY:
            report.problems.append(
                f"{c.role} container {c.name} is {c.state}" + (f", {c.health}" if c.state == "running" else "")
            )


def _database(client: Any, stack: Stack, report: Report) -> None:
    from library_cli.commands import psql_command

    db = next((c for c in report.containers if c.role == "db" and c.declared), None)
    if db is None or db.state != "running":
        return
    code, out = psql_command(client, stack, ["-XAt", "-F", " ", "-c", DATABASE_QUERY])
    if code != 0:
        report.problems.append(f"the database did not answer a query: {out.strip()[-300:]}")
        return
    size, connections, limit = out.split()
    report.database = {"size_bytes": int(size), "connections": int(connections), "max_connections": int(limit)}


def _serving(client: Any, stack: Stack, report: Report) -> None:
    proxy = next((c for c in report.containers if c.role == "proxy" and c.declared), None)
    if proxy is None or proxy.state != "running":
        report.serving = "no proxy"
        return
    container = client.containers.get(stack.proxy)
    report.maintenance = maintenance.state(container)
    scheme = "https" if stack.url.startswith("https:") else "http"
    result = container.exec_run(
        [
            "curl",
            "-ksS",
            "-o",
            "/dev/null",
            "-m",
            "10",
            "-w",
            "%{http_code}",
            f"{scheme}://127.0.0.1:{PROXY_PORT}{READY_PATH}",
        ]
    )
    answer = result.output.decode("utf-8", "replace").strip()
    if result.exit_code == 0 and answer == "200":
        report.serving = f"{READY_PATH} answered 200 through the proxy"
    elif report.maintenance is not None and answer == "503":
        report.serving = "maintenance mode: clients get 503"
    else:
        report.serving = f"{READY_PATH} through the proxy: {answer or 'no answer'}"
        report.problems.append(f"the service does not answer {READY_PATH} through the proxy ({answer or 'no answer'})")


def collect(client: Any, stack: Stack) -> Report:
    now = datetime.now(UTC)
    report = Report(stack=stack.name, url=stack.url, image=stack.image, engine=stack.engine.host)
    declared = {name for _, name in stack.roles()}
    report.containers = [container_status(client, role, name, now) for role, name in stack.roles()]
    for found in client.containers.list(all=True, filters=labelled(stack)):
        if found.name not in declared:
            role = found.labels.get(COMPONENT, "?")
            report.containers.append(container_status(client, role, found.name, now, declared=False))
    _judge_containers(report)
    _database(client, stack, report)
    _serving(client, stack, report)
    if report.maintenance is not None:
        report.warnings.append(f"maintenance mode is on ({report.maintenance}): `library maintenance off` ends it")
    return report
