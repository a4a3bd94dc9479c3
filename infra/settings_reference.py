"""The config reference, rendered from the one table of keys (settings.py).

`pulumi_config_schema()` is the `config:` block of Pulumi.yaml and
`docs_table()` the table in docs/deploy.md; `scripts/config-reference --write`
puts both in place, and a unit test fails when either file drifts. Not used by
the program itself.
"""

from __future__ import annotations

from typing import Any

from settings import KEYS, Key

#: docs/deploy.md holds the table between these two lines.
DOCS_BEGIN = "<!-- config-table: rendered by scripts/config-reference from infra/settings.py -->"
DOCS_END = "<!-- /config-table -->"


def schema_default(k: Key) -> Any:
    """The default as Pulumi.yaml types it (an integer, a boolean or a string)."""
    if k.schema_type == "integer":
        return int(k.default)
    if k.schema_type == "boolean":
        return k.default == "true"
    return k.default


def pulumi_config_schema() -> dict[str, dict[str, Any]]:
    """Pulumi.yaml's `config:` block: every key with its type, description and default."""
    return {
        k.name: {"type": k.schema_type, "description": k.description, "default": schema_default(k)} for _, k in KEYS
    }


def docs_table() -> str:
    """The Markdown table of docs/deploy.md, with the markers around it."""
    rows = [DOCS_BEGIN, "| Key | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for _, k in KEYS:
        default = f"`{k.default}`" if k.default else "(empty)"
        rows.append(f"| `{k.name}` | {k.docs_type or k.schema_type} | {default} | {k.description} |")
    rows.append(DOCS_END)
    return "\n".join(rows)
