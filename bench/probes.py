"""What one request costs inside the service: its SQL statements, counted
and timed, measured in a running API container with the service's own code
and settings (not a copy of them).

`queries_per_request` runs a Django snippet there (`manage.py shell -c`):
the test Client sends each request in-process while `execute_wrapper`
records every statement Django sends; each SELECT is then re-run under
EXPLAIN ANALYZE (best of three) for the database's own execution time.
"""

from __future__ import annotations

import json
import time

SNIPPET = r"""
import json, os
from django.conf import settings
from django.db import connection
from django.test import Client

paths = json.loads(os.environ["BENCH_PATHS"])
rates = json.loads(os.environ.get("BENCH_THROTTLE_RATES") or "null")
if rates is not None:
    settings.API_THROTTLE_RATES = rates
client = Client(HTTP_HOST="127.0.0.1")


def explain_ms(sql, params):
    best = None
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        ms = plan[0]["Execution Time"]
        best = ms if best is None else min(best, ms)
    return round(best, 3)


out = {}
for name, path in paths.items():
    for attempt in range(2):  # the second request is the steady state
        calls = []

        def record(execute, sql, params, many, context):
            calls.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            response = client.get(path)
    statements = []
    for sql, params in calls:
        head = sql.lstrip().split(None, 1)[0].upper()
        statements.append({
            "sql": " ".join(sql.split())[:160],
            "db_ms": explain_ms(sql, params) if head in ("SELECT", "WITH") else None,
        })
    out[name] = {"path": path, "status": response.status_code, "queries": len(calls), "statements": statements}
print("BENCH-JSON " + json.dumps(out))
"""


def exec_checked(container, cmd: list[str], environment: dict | None = None, user: str | None = None) -> str:
    kwargs = {"environment": environment or {}}
    if user:
        kwargs["user"] = user
    result = container.exec_run(cmd, **kwargs)
    output = result.output.decode("utf-8", "replace")
    if result.exit_code != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed in {container.name} ({result.exit_code}):\n{output[-3000:]}")
    return output


def queries_per_request(api_container, paths: dict[str, str], throttle_rates: dict | None = None) -> dict:
    env = {"BENCH_PATHS": json.dumps(paths), "BENCH_THROTTLE_RATES": json.dumps(throttle_rates)}
    output = exec_checked(api_container, ["python", "manage.py", "shell", "-c", SNIPPET], environment=env)
    line = next((text for text in output.splitlines() if text.startswith("BENCH-JSON ")), None)
    if line is None:
        raise RuntimeError(f"no figures from the query probe in {api_container.name}:\n{output[-3000:]}")
    return json.loads(line.split(" ", 1)[1])


def load_books(api_container, count: int, seed: int) -> float:
    """Add `count` sample books (COPY); seconds taken."""
    started = time.monotonic()
    exec_checked(api_container, ["python", "manage.py", "load_sample_books", str(count), "--seed", str(seed)])
    return round(time.monotonic() - started, 1)


def vacuum_analyze(db_container, user: str = "library", database: str = "library") -> float:
    """What follows a bulk load: VACUUM (visibility map, so the benchmark does
    not race autovacuum) and fresh statistics. Local socket as the server's
    own OS user, as the image's entry point sets it up."""
    started = time.monotonic()
    exec_checked(
        db_container,
        ["psql", "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", "VACUUM (ANALYZE) books_book"],
        user="postgres",
    )
    return round(time.monotonic() - started, 1)


class CpuMeter:
    """CPU time each part of the deployment spends, from the engine's cgroup
    accounting (`docker stats`): snapshot before and after a measured run,
    divide by its requests, and the figure says which part limits the
    throughput (the API containers are capped at `apiCpus` each)."""

    def __init__(self, client, groups: dict[str, list[str]]):
        self.client = client
        # part -> container names, e.g. {"api": [...], "db": [...], "proxy": [...]}
        self.groups = {part: names for part, names in groups.items() if names}

    def snapshot(self) -> dict[str, float]:
        """Cumulative CPU milliseconds per part."""
        totals = {}
        for part, names in self.groups.items():
            totals[part] = (
                sum(
                    self.client.api.stats(name, stream=False, one_shot=True)["cpu_stats"]["cpu_usage"]["total_usage"]
                    for name in names
                )
                / 1e6
            )
        return totals

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
        return {part: round((after[part] - before[part]) / max(requests, 1), 3) for part in before}
