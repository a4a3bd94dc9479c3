"""What the harness keeps between deployments of one run id (see docs/testing.md,
the live tier): the labels that find a run's Docker objects, and the run's state file,
a small model of the engine's state (pulumi pkg/resource/state.go: State)."""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from typing import Any

#: Every Docker object of a run carries RUN_LABEL=<run id> and URN_LABEL=<urn>.
RUN_LABEL = "org.library.live-run"
URN_LABEL = "org.library.live-urn"

#: One resource in the state, as the engine keeps it (pkg/resource/state.go: State): type, name,
#: custom, id, inputs, outputs, initErrors, and the options the engine acts on later (protect,
#: retainOnDelete, deleteBeforeReplace, ignoreChanges, replaceOnChanges, hooks by kind,
#: dependencies, parent, deletedWith). Values are kept as the program sent them (secrets
#: wrapped), hence the file's mode 0600.
Entry = dict[str, Any]


def state_dir() -> str:
    return os.environ.get("LIVE_STATE_DIR") or os.path.join(tempfile.gettempdir(), "library-live-state")


class RunState:
    """The state of one run id, in a 0600 JSON file outside the repository
    (LIVE_STATE_DIR, default <tmp>/library-live-state/<run id>.json):
    ``{"resources": {urn: Entry}, "pendingDeletes": [Entry + {"urn"}]}``.
    Every write is atomic (write, then rename). Docker objects are also found
    by the run and URN labels they carry (teardown)."""

    def __init__(self, run_id: str):
        self.path = os.path.join(state_dir(), f"{run_id}.json")
        self._lock = threading.RLock()

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.path) as f:
                data: dict[str, Any] = json.load(f)
        except FileNotFoundError:
            data = {}
        if "resources" not in data:  # an empty (or pre-model) file: start afresh
            data = {"resources": {}, "pendingDeletes": []}
        data.setdefault("pendingDeletes", [])
        return data

    def _save(self, data: dict[str, Any]) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, default=str)
        os.replace(tmp, self.path)

    # --- reading ---

    def get(self, urn: str) -> Entry | None:
        with self._lock:
            entry = self._load()["resources"].get(urn)
            return copy.deepcopy(entry) if entry is not None else None

    def resources(self) -> dict[str, Entry]:
        with self._lock:
            return self._load()["resources"]

    def pending_deletes(self) -> list[Entry]:
        with self._lock:
            pending: list[Entry] = self._load()["pendingDeletes"]
            return pending

    # --- writing ---

    def put(self, urn: str, entry: Entry, pending_delete: Entry | None = None, moved_from: str | None = None) -> None:
        """Record a resource (and, for a create-before-delete replacement, its old
        self as a pending delete, in the same write). `moved_from`: the alias URN its old
        state was found under (tests/harness/engine.py: find_old); the entry takes that one's
        place in the order, and every reference to the old URN names the new one, as the
        engine writes its snapshot (pkg/resource/deploy/snapshot.go: NormalizeURNReferences)."""
        with self._lock:
            data = self._load()
            if moved_from is not None and moved_from in data["resources"]:
                data["resources"] = {
                    (urn if key == moved_from else key): value for key, value in data["resources"].items()
                }
                for other in [*data["resources"].values(), *data["pendingDeletes"]]:
                    _rename_references(other, moved_from, urn)
            data["resources"][urn] = entry
            if pending_delete is not None:
                data["pendingDeletes"].append({**pending_delete, "urn": urn})
            self._save(data)

    def remove(self, urn: str, pending: bool, resource_id: str | None = None) -> None:
        """Drop a deleted resource: a pending delete of that URN (and id), or the live entry."""
        with self._lock:
            data = self._load()
            if pending:
                for i, entry in enumerate(data["pendingDeletes"]):
                    if entry["urn"] == urn and entry.get("id") == resource_id:
                        del data["pendingDeletes"][i]
                        break
            else:
                data["resources"].pop(urn, None)
            self._save(data)

    def forget(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _rename_references(entry: Entry, old: str, new: str) -> None:
    """snapshot.go: NormalizeURNReferences: dependencies, property dependencies, parent,
    deletedWith and the provider reference (`<urn>::<id>`) that name `old` name `new`."""
    entry["dependencies"] = [new if u == old else u for u in entry.get("dependencies") or []]
    entry["propertyDependencies"] = {
        key: [new if u == old else u for u in urns] for key, urns in (entry.get("propertyDependencies") or {}).items()
    }
    for key in ("parent", "deletedWith"):
        if entry.get(key) == old:
            entry[key] = new
    provider = str(entry.get("provider") or "")
    if provider.startswith(old + "::"):
        entry["provider"] = new + provider[len(old) :]
