#!/usr/bin/env python3
"""Post a pull request comment, or edit the one posted before under the same marker.

    scripts/ci/pr_comment.py PR MARKER BODY_FILE

One comment per marker and PR, kept current on each push (the review stack's URL). Environment:
GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL (github_api.py). docs/ci.md "Review environments".
"""

from __future__ import annotations

import sys
from pathlib import Path

from github_api import GitHub


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 3 or not args[0].isdigit():
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    pr, marker, body = int(args[0]), args[1], Path(args[2]).read_text()
    print(f"pr_comment: {GitHub().upsert_comment(pr, marker, body)} the {marker} comment on #{pr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
