"""`library logs`: the logs of a role's containers merged in time order, JSON lines made readable.

Docker stamps every line (`timestamps=True`); lines of several containers are merged by
that stamp, and while following, in windows of a fraction of a second. docs/operations.md.
"""

from __future__ import annotations

import heapq
import json
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

#: While following: lines are held this long, then written in time order.
FOLLOW_WINDOW_SECONDS = 0.3
#: Keys that the readable form shows in its own place (not as key=value).
_HEAD_KEYS = {"time", "level", "logger", "message", "method", "uri", "path", "status"}


@dataclass(frozen=True, order=True)
class Line:
    stamp: str  # RFC 3339 with nanoseconds, UTC: sorts as text
    container: str
    text: str


def parse(container: str, raw: bytes) -> Iterator[Line]:
    """The lines of a `docker logs --timestamps` chunk."""
    for row in raw.decode("utf-8", "replace").splitlines():
        stamp, _, text = row.partition(" ")
        if stamp:
            yield Line(stamp, container, text)


def merged(logs: Iterable[list[Line]]) -> list[Line]:
    return list(heapq.merge(*logs))


def readable(line: Line, width: int) -> str:
    """`HH:MM:SS.mmm container  LEVEL logger  message key=value ...`; not-JSON lines as they are."""
    clock = line.stamp[11:23]
    head = f"{clock} {line.container:<{width}}"
    try:
        entry = json.loads(line.text)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        return f"{head}  {line.text}"
    level = str(entry.get("level") or "")
    logger = str(entry.get("logger") or "")
    if "method" in entry and "status" in entry:  # an access line (gunicorn, nginx)
        message = f"{entry.get('method')} {entry.get('uri') or entry.get('path')} {entry.get('status')}"
    else:
        message = str(entry.get("message", ""))
    rest = " ".join(f"{k}={v}" for k, v in entry.items() if k not in _HEAD_KEYS and v not in ("", None))
    parts = [p for p in (level, logger) if p]
    return f"{head}  {' '.join(parts)}  {message}" + (f"  {rest}" if rest else "")


def _since(value: str | None) -> Any:
    """docker-py's `since`: seconds ago ("90s", "10m", "2h", "1d") or an ISO time."""
    if not value:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1:] in units and value[:-1].isdigit():
        return int(time.time()) - int(value[:-1]) * units[value[-1]]
    from datetime import datetime

    try:
        return datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"--since takes a duration such as 10m, 2h, 1d or an ISO time, got {value!r}") from error


def history(client: Any, names: list[str], since: str | None, tail: int | None) -> list[Line]:
    """The logs so far of `names`, merged (containers that are not there are skipped)."""
    import docker.errors

    per_container = []
    for name in names:
        try:
            raw = client.api.logs(name, timestamps=True, since=_since(since), tail=tail if tail is not None else "all")
        except docker.errors.NotFound:
            continue
        per_container.append(list(parse(name, raw)))
    return merged(per_container)


def _read_stream(client: Any, name: str, since: str | None, tail: int | None, lines: queue.Queue) -> None:
    """Put `name`'s new lines on `lines`, then None when its stream ends (the container went away)."""
    try:
        stream = client.api.logs(
            name, timestamps=True, stream=True, follow=True, since=_since(since), tail="all" if tail is None else tail
        )
        pending = b""
        for chunk in stream:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for row in complete:
                lines.put(next(parse(name, row), Line("", name, "")))
    except Exception:  # noqa: BLE001 - a container that went away ends its stream
        pass
    finally:
        lines.put(None)


def follow(client: Any, names: list[str], since: str | None, tail: int | None) -> Iterator[list[Line]]:
    """Batches of new lines of `names` in time order, until interrupted (or every stream ends)."""
    lines: queue.Queue[Line | None] = queue.Queue()
    for name in names:
        threading.Thread(target=_read_stream, args=(client, name, since, tail, lines), daemon=True).start()
    open_streams = len(names)
    while open_streams:
        batch: list[Line] = []
        deadline = time.monotonic() + FOLLOW_WINDOW_SECONDS
        while open_streams and time.monotonic() < deadline:
            try:
                item = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                open_streams -= 1
            elif item.stamp:
                batch.append(item)
        if batch:
            yield sorted(batch)
