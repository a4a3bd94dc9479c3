"""Load generation with wrk: one fixed-connection, fixed-duration run per
endpoint, figures read from a JSON line printed by wrk_report.lua (no
scraping of wrk's human-readable output)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

LUA_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_report.lua")


@dataclass(frozen=True)
class LoadShape:
    threads: int = 2
    connections: int = 32
    seconds: int = 15
    warmup_seconds: int = 3
    timeout_seconds: int = 10


@dataclass
class LoadResult:
    url: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict
    spread_over_ports: list

    @property
    def failed_requests(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        return asdict(self)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); bench/run installs it as root")
    return path


def run_wrk(url: str, shape: LoadShape, seconds: int, spread_ports: list[int] | None = None) -> LoadResult:
    """One wrk run against url. With spread_ports, wrk's threads connect
    round-robin to those loopback ports (replicas without a proxy)."""
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise SystemExit(f"the benchmark sends traffic to 127.0.0.1 only, not {url}")
    threads = max(shape.threads, len(spread_ports or []))
    env = dict(os.environ, BENCH_PORTS=",".join(str(p) for p in spread_ports or []))
    cmd = [
        require_wrk(),
        f"-t{threads}",
        f"-c{max(shape.connections, threads)}",
        f"-d{seconds}s",
        f"--timeout={shape.timeout_seconds}s",
        "--latency",
        "-s",
        LUA_SCRIPT,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
    line = next((text for text in proc.stdout.splitlines() if text.startswith("BENCH-JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}) on {url}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    data = json.loads(line.split(" ", 1)[1])
    secs = data["duration_us"] / 1e6
    lat = data["latency_us"]
    return LoadResult(
        url=url,
        requests=data["requests"],
        seconds=round(secs, 2),
        rps=round(data["requests"] / secs, 1) if secs else 0.0,
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        errors=data["errors"],
        spread_over_ports=list(spread_ports or []),
    )


def warm_up(url: str, shape: LoadShape, spread_ports: list[int] | None = None) -> None:
    """A short run before a measured one: connections, worker caches, the database's buffers."""
    if shape.warmup_seconds > 0:
        run_wrk(url, shape, shape.warmup_seconds, spread_ports)
