#!/usr/bin/env python3
"""Drift detection's decision, and its one issue per stack.

    scripts/ci/drift.py STACK EXIT_CODE OUTPUT_FILE [--report] [--run-url URL]

EXIT_CODE and OUTPUT_FILE are those of `scripts/deploy --stack STACK preview --refresh
--expect-no-changes --diff`. Prints `clean`, `drift` or `error`: exit 0 is clean; a failure whose
output carries the CLI's expect-no-changes error (pkg/backend/backenderr/backenderr.go) is drift; any
other failure is an error (the preview did not run: no issue, the job fails). --report opens or updates
the issue "Drift in stack STACK" (label `drift`) on drift and closes it once clean again.
docs/ci.md "Drift detection".
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

#: What `--expect-no-changes` fails with when the preview proposes changes.
EXPECT_NO_CHANGES = "no changes were expected"
LABEL = "drift"
#: GitHub refuses issue bodies over 65,536 characters.
MAX_OUTPUT = 60_000
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def decide(exit_code: int, output: str) -> str:
    if exit_code == 0:
        return "clean"
    if EXPECT_NO_CHANGES in _ANSI.sub("", output):
        return "drift"
    return "error"


def issue_title(stack: str) -> str:
    return f"Drift in stack {stack}"


def issue_body(stack: str, output: str, run_url: str | None) -> str:
    text = _ANSI.sub("", output).replace("```", "'''")
    if len(text) > MAX_OUTPUT:
        text = "[...]\n" + text[-MAX_OUTPUT:]
    run = f" ([run]({run_url}))" if run_url else ""
    return (
        f"`pulumi preview --refresh --expect-no-changes` of stack `{stack}` found changes{run}: what runs on the "
        "Docker host is not what the last `pulumi up` left. Either run `scripts/deploy --stack "
        f"{stack} up` to put it back, or `scripts/deploy --stack {stack} refresh` to accept it (docs/ci.md).\n\n"
        f"```\n{text}\n```\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stack")
    parser.add_argument("exit_code", type=int)
    parser.add_argument("output", type=Path)
    parser.add_argument("--report", action="store_true", help="open, update or close the stack's drift issue")
    parser.add_argument("--run-url", help="link to the workflow run, for the issue")
    args = parser.parse_args(argv)
    output = args.output.read_text(errors="replace")
    decision = decide(args.exit_code, output)
    print(decision)
    if decision == "error":
        print(f"drift: error: the preview of stack {args.stack} failed (exit {args.exit_code})", file=sys.stderr)
        return 1
    if args.report:
        from github_api import GitHub

        github, title = GitHub(), issue_title(args.stack)
        if decision == "drift":
            done = github.upsert_issue(title, LABEL, issue_body(args.stack, output, args.run_url))
        else:
            done = github.close_issue(title, LABEL, "No drift any more: the preview proposes no changes.")
        print(f"drift: issue {done}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
