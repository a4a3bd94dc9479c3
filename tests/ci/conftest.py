"""Fixtures of the CI step scripts' tests (scripts/ci/): running a script as the workflows run it, and a
fake GitHub REST API on loopback that keeps issues and comments in memory. docs/ci.md "What is proven here,
and what only GitHub can show"."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "scripts" / "ci"
PREVIEWS = Path(__file__).resolve().parent / "previews"


def run_step(script: str, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess:
    command = [str(CI / script), *args] if not script.endswith(".py") else [sys.executable, str(CI / script), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=REPO, **kwargs)


class FakeGitHub:
    """Issues and their comments of one repository, as the REST API shows them (one page at a time)."""

    def __init__(self) -> None:
        self.issues: list[dict] = []
        self.comments: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self._next = 1

    def new_id(self) -> int:
        self._next += 1
        return self._next

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, Any]:
        self.requests.append((method, path))
        route, _, query = path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if p)
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 30))
        window = slice((page - 1) * per_page, page * per_page)
        if m := re.fullmatch(r"/repos/o/r/issues/(\d+)/comments", route):
            number = int(m.group(1))
            if method == "GET":
                return 200, [c for c in self.comments if c["issue"] == number][window]
            comment = {"id": self.new_id(), "issue": number, "body": body["body"]}  # type: ignore[index]
            self.comments.append(comment)
            return 201, comment
        if m := re.fullmatch(r"/repos/o/r/issues/comments/(\d+)", route):
            (comment,) = [c for c in self.comments if c["id"] == int(m.group(1))]
            comment.update(body or {})
            return 200, comment
        if route == "/repos/o/r/issues":
            if method == "GET":
                found = [i for i in self.issues if i["state"] == params.get("state", "open")]
                found = [i for i in found if params.get("labels") in i["labels"]]
                return 200, found[window]
            issue = {"number": self.new_id(), "state": "open", **(body or {})}
            self.issues.append(issue)
            return 201, issue
        if m := re.fullmatch(r"/repos/o/r/issues/(\d+)", route):
            (issue,) = [i for i in self.issues if i["number"] == int(m.group(1))]
            issue.update(body or {})
            return 200, issue
        return 404, {"message": "Not Found"}


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, dict[str, str]]]:
    """The fake API and the environment a step needs to reach it (as Actions sets it)."""
    fake = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if self.headers.get("Authorization") != "Bearer t0ken":
                status, answer = 401, {"message": "Bad credentials"}
            else:
                status, answer = fake.handle(self.command, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_API_URL": f"http://127.0.0.1:{server.server_port}",
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_REPOSITORY": "o/r",
    }
    yield fake, env
    server.shutdown()
