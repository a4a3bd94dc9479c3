"""pulumi-python:dynamic:Resource: a resource whose provider is the program's own Python code.

Follows the SDK's provider host, sdk/python/lib/pulumi/dynamic/__main__.py: get_provider
unpickles `__provider` (dill, base64) and Create/Diff call the provider's create/diff; a create
that raises fails the step and nothing enters the state, so the next deployment creates again."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import dill

from ..values import plain

if TYPE_CHECKING:
    from ..realizer import Realizer

PROVIDER_KEY = "__provider"


def realize(r: Realizer, name: str, inputs: dict, urn: str) -> tuple[str, dict]:
    props: dict[str, Any] = plain(inputs)
    provider = dill.loads(base64.b64decode(props.pop(PROVIDER_KEY)))
    kept = r.state.get(urn)
    if kept is not None:
        # Diff: the provider's own when it has one, else any changed input (dynamic/__main__.py: Diff).
        result = provider.diff(kept["id"], kept["inputs"], props)
        if not result.changes:
            return kept["id"], {**inputs, **kept["outputs"]}
    created = provider.create(props)
    outputs = plain(created.outs or {})
    r.state.put(urn, {"inputs": props, "id": str(created.id), "outputs": outputs})
    return str(created.id), {**outputs, PROVIDER_KEY: inputs[PROVIDER_KEY]}
