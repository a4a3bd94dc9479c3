"""pulumi-python:dynamic:Resource (``pulumi.dynamic.Resource``): the program's own provider,
serialized (dill, base64) into the input ``__provider``.

Follows the Python dynamic provider host, pulumi sdk/python/lib/pulumi/dynamic/__main__.py:
get_provider (unpickle ``__provider`` with dill, once per serialized provider), Check (the
provider's check(olds, news), ``__provider`` kept), Diff (the provider's diff(id, old outputs,
news); ``changes`` None is DIFF_UNKNOWN, and the engine then diffs the inputs itself, as an
update: pulumi step_generator.go: diff), Create (create(props); its outs plus ``__provider``; a
create that raises fails the step and nothing is in the state: dynamic creates are
transactional), Update (update(id, old outputs, news)) and Delete (delete(id, outputs))."""

from __future__ import annotations

import base64
import threading
from typing import TYPE_CHECKING, Any

from ..engine import Diff, ResourceType, input_diff
from ..state import Entry
from ..values import RealizeError, plain

if TYPE_CHECKING:
    from pulumi.dynamic import ResourceProvider

    from ..realizer import Realizer

PROVIDER_KEY = "__provider"

_CACHE: dict[str, ResourceProvider] = {}
_LOCK = threading.Lock()


def get_provider(props: dict[str, Any], what: str) -> ResourceProvider:
    """dynamic/__main__.py: get_provider (configure() is called with an empty config, as with no
    provider configuration)."""
    import dill
    from pulumi.dynamic import Config, ConfigureRequest

    serialized = plain(props).get(PROVIDER_KEY)
    if not isinstance(serialized, str):
        raise RealizeError(f"{what}: no serialized provider in {PROVIDER_KEY}")
    with _LOCK:
        provider = _CACHE.get(serialized)
        if provider is None:
            provider = dill.loads(base64.b64decode(serialized))
            provider.configure(ConfigureRequest(config=Config(raw_config={}, project_name="")))
            _CACHE[serialized] = provider
    return provider


def _call(what: str, operation: str, fn: Any, *args: Any) -> Any:
    """A provider method; what it raises fails the step with its message (the host aborts the
    RPC with the traceback, the engine reports it)."""
    try:
        return fn(*args)
    except Exception as e:
        raise RealizeError(f"{what}: {operation} failed: {type(e).__name__}: {e}") from e


def check(r: Realizer, name: str, old: Entry | None, news: dict) -> dict:
    what = f"dynamic resource {name!r}"
    provider = get_provider(news, what)
    result = _call(what, "check", provider.check, plain((old or {}).get("inputs") or {}), plain(news))
    if result.failures:
        reasons = "; ".join(f"{f.property}: {f.reason}" for f in result.failures)
        raise RealizeError(f"{what}: resource has check errors: {reasons}")
    return {**result.inputs, PROVIDER_KEY: news[PROVIDER_KEY]}


def create(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    what = f"dynamic resource {name!r}"
    provider = get_provider(inputs, what)
    result = _call(what, "create", provider.create, plain(inputs))
    outs = dict(result.outs or {})
    outs[PROVIDER_KEY] = inputs[PROVIDER_KEY]
    return str(result.id), outs


def diff(r: Realizer, name: str, old: Entry, news: dict) -> Diff:
    what = f"dynamic resource {name!r}"
    provider = get_provider(news, what)
    result = _call(what, "diff", provider.diff, old["id"], plain(old.get("outputs") or {}), plain(news))
    if result.changes is None:  # DIFF_UNKNOWN: the engine diffs the inputs
        return Diff(input_diff(old, news), list(result.replaces or []), bool(result.delete_before_replace))
    changed = input_diff(old, news) or list(result.replaces or []) or ["(provider)"] if result.changes else []
    return Diff(changed, list(result.replaces or []), bool(result.delete_before_replace))


def update(r: Realizer, name: str, old: Entry, news: dict, urn: str) -> dict:
    what = f"dynamic resource {name!r}"
    provider = get_provider(news, what)
    result = _call(what, "update", provider.update, old["id"], plain(old.get("outputs") or {}), plain(news))
    outs = dict(result.outs or {})
    outs[PROVIDER_KEY] = news[PROVIDER_KEY]
    return outs


def delete(r: Realizer, entry: Entry) -> None:
    what = f"dynamic resource {entry['name']!r}"
    outputs = entry.get("outputs") or {}
    provider = get_provider(outputs, what)
    _call(what, "delete", provider.delete, entry["id"], plain(outputs))


TYPE = ResourceType(create=create, diff=diff, update=update, delete=delete, check=check)
