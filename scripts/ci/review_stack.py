#!/usr/bin/env python3
"""Review stacks: one `pr-<number>` stack per pull request on the shared review host.

    scripts/ci/review_stack.py name PR
    scripts/ci/review_stack.py config PR --host HOST --docker-host URL --open PR... [--github-output FILE]
    scripts/ci/review_stack.py sweep STACKS.json --open PR...

`config` writes Pulumi.pr-<PR>.yaml from Pulumi.review.yaml.example with the stack's own host port and
prints stack= and port= (also appended to --github-output); the URL is the stack's `public_url` output.
Every Docker name already carries the stack (library-pr-42-db...), so the port is all that several
review stacks on one host must not share.
`sweep` prints the review stacks (one a line) whose pull request is no longer open; STACKS.json is
`pulumi stack ls --json`. docs/ci.md "Review environments".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "Pulumi.review.yaml.example"
PREFIX = "pr-"
#: Review stacks publish on BASE_PORT .. BASE_PORT + PORT_SPAN - 1 of the review host.
BASE_PORT = 20000
PORT_SPAN = 1000
_NAME = re.compile(rf"^{PREFIX}([1-9][0-9]*)$")


def stack_name(pr: int) -> str:
    if pr < 1:
        raise ValueError(f"not a pull request number: {pr}")
    return f"{PREFIX}{pr}"


def pr_of(stack: str) -> int | None:
    """The PR number of a review stack name (`pr-42`, or `org/project/pr-42` from Pulumi Cloud), else None."""
    match = _NAME.match(stack.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


def port_for(pr: int, open_prs: set[int], base: int = BASE_PORT, span: int = PORT_SPAN) -> int:
    """The host port of pr's stack: base + pr % span, unless an older open PR holds that slot; then the
    next free slot. Slots go out in ascending PR order, so every open PR's port follows from the set."""
    prs = sorted(open_prs | {pr})
    if len(prs) > span:
        raise ValueError(f"{len(prs)} open pull requests, but only {span} review ports")
    taken: dict[int, int] = {}
    for number in prs:
        slot = number % span
        while slot in taken.values():
            slot = (slot + 1) % span
        taken[number] = slot
    return base + taken[pr]


def stack_config(pr: int, port: int, host: str, docker_host: str) -> str:
    text = TEMPLATE.read_text()
    values = {"@PR@": str(pr), "@PORT@": str(port), "@HOST@": host, "@DOCKER_HOST@": docker_host}
    for marker, value in values.items():
        if not value or any(c in value for c in "\n\"'#"):
            raise ValueError(f"unusable value for {marker}: {value!r}")
        text = text.replace(marker, value)
    return text


def stacks_to_sweep(stacks: list[dict], open_prs: set[int]) -> list[str]:
    """Review stacks whose PR is not open (closed, merged, or unknown), never any other stack."""
    doomed = []
    for stack in stacks:
        number = pr_of(stack["name"])
        if number is not None and number not in open_prs:
            doomed.append(stack["name"].rsplit("/", 1)[-1])
    return sorted(doomed, key=lambda name: pr_of(name) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_name = sub.add_parser("name", help="the stack of a pull request")
    p_name.add_argument("pr", type=int)
    p_config = sub.add_parser("config", help="write Pulumi.pr-N.yaml, print stack and port")
    p_config.add_argument("pr", type=int)
    p_config.add_argument("--host", required=True, help="the review host's name, as browsers reach it")
    p_config.add_argument(
        "--docker-host", required=True, help="its Docker engine, e.g. ssh://deploy@review.example.com"
    )
    p_config.add_argument("--open", type=int, nargs="*", default=[], help="the open pull requests")
    p_config.add_argument("--github-output", type=Path, help="append stack= and port= to this file")
    p_config.add_argument("--dir", type=Path, default=REPO, help="where to write it (default: the repository)")
    p_sweep = sub.add_parser("sweep", help="review stacks whose pull request is closed")
    p_sweep.add_argument("stacks", type=Path, help="`pulumi stack ls --json`")
    p_sweep.add_argument("--open", type=int, nargs="*", default=[], help="the open pull requests")
    args = parser.parse_args(argv)
    try:
        if args.command == "name":
            print(stack_name(args.pr))
        elif args.command == "config":
            name = stack_name(args.pr)
            port = port_for(args.pr, set(args.open))
            (args.dir / f"Pulumi.{name}.yaml").write_text(stack_config(args.pr, port, args.host, args.docker_host))
            lines = f"stack={name}\nport={port}\n"
            print(lines, end="")
            if args.github_output:
                with args.github_output.open("a") as out:
                    out.write(lines)
        else:
            stacks = json.loads(args.stacks.read_text())
            for name in stacks_to_sweep(stacks, set(args.open)):
                print(name)
    except (ValueError, OSError, KeyError, TypeError) as error:
        print(f"review_stack: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
