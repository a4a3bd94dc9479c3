"""What the harness keeps between deployments of one run id (see docs/testing.md,
the live tier): the labels that find a run's Docker objects, and a small state file."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from typing import Any

#: Every Docker object of a run carries RUN_LABEL=<run id> and URN_LABEL=<urn>.
RUN_LABEL = "org.library.live-run"
URN_LABEL = "org.library.live-urn"
#: The provider's stop grace for a container, kept on it for a later delete.
GRACE_LABEL = "org.library.live-destroy-grace"
#: The names of its before_delete resource hooks, kept on it as the engine keeps them in state.
BEFORE_DELETE_LABEL = "org.library.live-before-delete"


def state_dir() -> str:
    return os.environ.get("LIVE_STATE_DIR") or os.path.join(tempfile.gettempdir(), "library-live-state")


class RunState:
    """Values of random resources per run id, in a 0600 JSON file outside the
    repository (LIVE_STATE_DIR, default <tmp>/library-live-state), and for
    each container the id and inputs digest it was made with. Docker objects
    are found by the run and URN labels they carry."""

    def __init__(self, run_id: str):
        self.path = os.path.join(state_dir(), f"{run_id}.json")
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.path) as f:
                data: dict[str, Any] = json.load(f)
                return data
        except FileNotFoundError:
            return {}

    def get(self, urn: str) -> dict[str, Any] | None:
        with self._lock:
            return self._load().get(urn)

    def put(self, urn: str, value: dict[str, Any]) -> None:
        with self._lock:
            data = self._load()
            data[urn] = value
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)

    def forget(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
