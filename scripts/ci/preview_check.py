#!/usr/bin/env python3
"""Fail a pull request's check when its preview would replace or delete the database or its volume.

    scripts/ci/preview_check.py PREVIEW.json [--allow-database-change] [--summary FILE]

PREVIEW.json is `pulumi preview --json` (pkg/display/json.go PreviewDigest: `steps`, each with `op`
and `urn`). The database is whatever the `library:infra:Database` component holds (its container and
its volume), found by the URN's qualified type, so renaming a resource does not blind the check.
Exit 0: safe (or allowed); 1: a dangerous step; 2: unreadable input. docs/ci.md "The database gate".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DATABASE_COMPONENT = "library:infra:Database"
#: What holds the data: the server's container (its replacement stops PostgreSQL) and the volume.
GUARDED_TYPES = ("docker:index/container:Container", "docker:index/volume:Volume")
#: Step ops that remove a resource or put a new one in its place (pkg/resource/deploy/step.go: OpDelete,
#: OpReplace, OpCreateReplacement, OpDeleteReplaced; the JSON display shows only the logical `replace`
#: unless --show-replacement-steps, pkg/backend/display/display.go shouldShow).
DANGEROUS_OPS = {
    "delete": "deleted",
    "replace": "replaced",
    "create-replacement": "replaced",
    "delete-replaced": "replaced",
}


def qualified_type(urn: str) -> str:
    """`urn:pulumi:STACK::PROJECT::QUALIFIED$TYPE::NAME` -> `QUALIFIED$TYPE`."""
    parts = urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    return parts[2]


def guarded(urn: str) -> bool:
    chain = qualified_type(urn).split("$")
    return len(chain) >= 2 and chain[-2] == DATABASE_COMPONENT and chain[-1] in GUARDED_TYPES


def dangerous_steps(digest: dict) -> list[str]:
    """One sentence per step that would replace or delete the database's container or volume."""
    found = []
    for step in digest.get("steps") or []:
        op, urn = step.get("op"), step.get("urn", "")
        if op in DANGEROUS_OPS and guarded(urn):
            reasons = step.get("replaceReasons") or step.get("diffReasons") or []
            why = f" (because of: {', '.join(reasons)})" if reasons else ""
            name, kind = urn.rsplit("::", 1)[1], qualified_type(urn).rsplit("$", 1)[1]
            found.append(f"{kind} {name} would be {DANGEROUS_OPS[op]} [{op}]{why}")
    return sorted(set(found))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preview", type=Path, help="the output of `pulumi preview --json`")
    parser.add_argument("--allow-database-change", action="store_true", help="report, but do not fail")
    parser.add_argument("--summary", type=Path, help="append the verdict as Markdown (e.g. $GITHUB_STEP_SUMMARY)")
    args = parser.parse_args(argv)
    try:
        digest = json.loads(args.preview.read_text())
        steps = dangerous_steps(digest)
    except (OSError, ValueError, AttributeError) as error:
        print(f"preview_check: error: cannot read {args.preview} as `pulumi preview --json`: {error}", file=sys.stderr)
        return 2
    if not steps:
        verdict = "Database gate: the preview keeps the database container and its volume."
    else:
        listed = "\n".join(f"- {s}" for s in steps)
        verdict = (
            "Database gate: this change would REPLACE OR DELETE THE DATABASE or its volume:\n"
            f"{listed}\n"
            "A replaced server restarts PostgreSQL; a deleted volume loses every book. If this is intended "
            "(e.g. a postgresImage upgrade within one major version), add the PR label "
            "`database-change-approved` and re-run the check (docs/ci.md)."
        )
    print(verdict)
    if args.summary:
        with args.summary.open("a") as out:
            out.write(f"\n{verdict}\n")
    return 0 if not steps or args.allow_database_change else 1


if __name__ == "__main__":
    sys.exit(main())
