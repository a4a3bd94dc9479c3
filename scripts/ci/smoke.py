#!/usr/bin/env python3
"""Smoke check after a deploy: the stack answers /readyz and its API lists books.

    scripts/ci/smoke.py URL [--timeout SECONDS]

Retries until --timeout (default 60 s): a fresh proxy may take a moment to reach the replicas. Exit 0
when GET URL/readyz is 200 and GET URL/api/books/ is 200 with a JSON list page; 1 otherwise, with what
was answered. docs/ci.md "Deploying main".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def check(base: str) -> str | None:
    """None when healthy, else what was wrong."""
    try:
        with urllib.request.urlopen(base + "readyz", timeout=10) as response:
            if response.status != 200:
                return f"/readyz answered {response.status}"
        with urllib.request.urlopen(base + "api/books/", timeout=10) as response:
            body = json.loads(response.read())
            if response.status != 200 or not isinstance(body, dict) or not isinstance(body.get("results"), list):
                return f"/api/books/ answered {response.status} without a page of results"
    except urllib.error.HTTPError as error:
        return f"{error.url} answered {error.code}"
    except (OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the stack's `url` output")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    base = args.url if args.url.endswith("/") else args.url + "/"
    deadline = time.monotonic() + args.timeout
    while (problem := check(base)) is not None and time.monotonic() < deadline:
        time.sleep(2)
    if problem:
        print(f"smoke: FAILED for {base}: {problem}", file=sys.stderr)
        return 1
    print(f"smoke: {base}readyz and {base}api/books/ answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
