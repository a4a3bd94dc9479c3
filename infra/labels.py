"""Docker labels shared by every object this program creates.

Why: several stacks (and unrelated workloads) may share one Docker host.
Labels let an operator, a cleanup job or a test find exactly this stack's
objects (`docker ps --filter label=org.library.stack=dev`) without relying on
names.

pulumi-docker takes labels as a list of {label, value} objects; the same
dict shape fits containers, networks and volumes.
"""
from __future__ import annotations

from typing import Mapping

from config import Settings

PROJECT = "org.library.project"
STACK = "org.library.stack"
COMPONENT = "org.library.component"


def labels(settings: Settings, component: str, extra: Mapping[str, object] | None = None) -> list[dict]:
    """Labels naming the project, the stack and the component (db, api, ...).

    `extra` values may be pulumi Inputs (e.g. an Output derived from another
    resource).
    """
    pairs: dict[str, object] = {
        PROJECT: settings.project,
        STACK: settings.stack,
        COMPONENT: component,
    }
    pairs.update(extra or {})
    return [{"label": key, "value": value} for key, value in pairs.items()]
