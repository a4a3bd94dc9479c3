"""Names and labels of the stack's Docker objects.

Several stacks (and unrelated workloads) may share one Docker host: names
start with `<project>-<stack>`, and labels let an operator, a cleanup job or
a test find exactly this stack's objects (docs/deploy.md, "What gets deployed").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

import pulumi

PROJECT = "org.library.project"
STACK = "org.library.stack"
COMPONENT = "org.library.component"
#: An API replica's index, and the image its migration was checked for.
REPLICA = "org.library.replica"
MIGRATED_IMAGE = "org.library.migrated-image"


class Label(TypedDict):
    """pulumi-docker's label shape, the same for containers, networks and volumes."""

    label: pulumi.Input[str]
    value: pulumi.Input[str]


@dataclass(frozen=True)
class StackNames:
    """What every component needs to name and label its Docker objects."""

    project: str
    stack: str

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"

    def labels(self, component: str, extra: Mapping[str, pulumi.Input[str]] | None = None) -> list[Label]:
        """pulumi-docker's label list ({label, value}) naming the project, the
        stack and the component (db, api, ...); `extra` values may be Inputs."""
        pairs: dict[str, pulumi.Input[str]] = {**self.label_dict(component), **(extra or {})}
        return [Label(label=key, value=value) for key, value in pairs.items()]

    def label_dict(self, component: str) -> dict[str, str]:
        """The component's labels as a plain mapping (the Docker SDK's form)."""
        return {PROJECT: self.project, STACK: self.stack, COMPONENT: component}
