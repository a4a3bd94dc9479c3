"""A throwaway PostgreSQL server for the test run, loaded as a pytest plugin.

Tests run against real PostgreSQL, never SQLite. When DATABASE_URL is set
(a CI service, a developer's server) it is used as is. Otherwise this plugin
starts a private server from the installed PostgreSQL binaries in a
temporary directory on a free loopback port, and stops it at the end.

It runs as a plugin (`-p tests.postgres_server`) rather than a fixture
because Django reads DATABASE_URL when pytest-django loads the settings,
which happens before any conftest or fixture.
"""

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_postgres_bindir() -> Path:
    """The newest installed server's bin directory (Debian keeps them off PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    on_path = shutil.which("pg_ctl")
    if candidates:
        return Path(candidates[-1]).parent
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError(
        "No PostgreSQL server binaries found (pg_ctl): install them "
        "(Debian: apt-get install postgresql) or set DATABASE_URL to a server"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """initdb + pg_ctl in a temp dir; as root, runs as an unprivileged user
    (PostgreSQL refuses to run as root)."""

    def __init__(self):
        self.bindir = find_postgres_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="library-test-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(self.root, user=user)
            self.prefix = ["runuser", "-u", user, "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.prefix, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> str:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# Settings the app needs to import; production hardening stays on by default
# in the app, tests that exercise it set their own environment.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-" + "k" * 60)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_HTTPS", "false")

if not os.environ.get("DATABASE_URL"):
    _server = ThrowawayPostgres()
    atexit.register(_server.stop)
    os.environ["DATABASE_URL"] = _server.start()
