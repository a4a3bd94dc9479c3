"""The other step scripts of the workflows: the PR comment kept in one place, the post-deploy smoke
check, the ssh key setup. docs/ci.md."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .conftest import run_step


def test_the_review_comment_is_edited_not_repeated(tmp_path, github):
    fake, env = github
    body = tmp_path / "body.md"
    for url in ("http://review:20042/", "http://review:20043/"):
        body.write_text(f"Review environment: {url}")
        result = run_step("pr_comment.py", "42", "library-review", str(body), env=env)
        assert result.returncode == 0, result.stderr
    (comment,) = fake.comments
    assert (
        comment["issue"] == 42
        and comment["body"] == "<!-- library-review -->\nReview environment: http://review:20043/"
    )


def serve(answers: dict[str, tuple[int, object]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            status, body = answers.get(self.path, (404, {"detail": "Not found."}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_smoke_passes_a_ready_stack_and_fails_a_broken_one():
    page = {"count": 0, "next": None, "previous": None, "results": []}
    good = serve({"/readyz": (200, {"status": "ok"}), "/api/books/": (200, page)})
    bad = serve({"/readyz": (503, {"status": "database unavailable"}), "/api/books/": (200, page)})
    try:
        ok = run_step("smoke.py", f"http://127.0.0.1:{good.server_port}/", "--timeout", "0")
        assert ok.returncode == 0, ok.stderr
        failed = run_step("smoke.py", f"http://127.0.0.1:{bad.server_port}", "--timeout", "3")
        assert failed.returncode == 1 and "readyz answered 503" in failed.stderr
    finally:
        good.shutdown()
        bad.shutdown()


def test_ssh_setup_writes_the_key_privately_and_prints_no_secret(tmp_path):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAQQ\n-----END OPENSSH PRIVATE KEY-----"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SSH_PRIVATE_KEY": key,
        "SSH_KNOWN_HOSTS": "review ssh-ed25519 AAAAC3",
    }
    result = run_step("ssh-setup", env=env)
    assert result.returncode == 0, result.stderr
    assert "b3BlbnNzaC1rZXktdjEAAAAAQQ" not in result.stdout + result.stderr
    private = tmp_path / ".ssh" / "id_ed25519"
    assert private.read_text() == key + "\n" and (private.stat().st_mode & 0o777) == 0o600
    assert (tmp_path / ".ssh" / "known_hosts").read_text() == "review ssh-ed25519 AAAAC3\n"
    missing = run_step("ssh-setup", env={**env, "SSH_KNOWN_HOSTS": ""})
    assert missing.returncode != 0 and "SSH_KNOWN_HOSTS is empty" in missing.stderr
