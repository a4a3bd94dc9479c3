"""A recording stand-in for the Pulumi CLI, for the tests of scripts that run `pulumi`
(scripts/deploy, the CI steps of scripts/ci): it logs its arguments, backend, passphrase and
working directory, and answers `stack output` with a URL. The real CLI: tests/integration."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FAKE_PULUMI = """#!/usr/bin/env bash
{
  printf 'ARGS'; printf ' %s' "$@"; printf '\\n'
  printf 'BACKEND %s\\n' "$PULUMI_BACKEND_URL"
  printf 'PASSPHRASE_SET %s\\n' "${PULUMI_CONFIG_PASSPHRASE+yes}"
  printf 'PASSPHRASE [%s]\\n' "${PULUMI_CONFIG_PASSPHRASE-}"
  printf 'CWD %s\\n' "$PWD"
} >> "$FAKE_PULUMI_LOG"
if [ "$1 $2" = "stack output" ]; then echo "http://127.0.0.1:8000/"; fi
exit 0
"""


def fake_pulumi_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `pulumi` is the stand-in (PATH: it, /usr/bin, /bin), with a private HOME
    and a file backend under `tmp_path`; and the file it logs to. Skips when the root .venv is
    missing (scripts/deploy would create it)."""
    if not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip("scripts/deploy would create the root .venv; run with it present")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI)
    script.chmod(0o755)
    log = tmp_path / "pulumi.log"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FAKE_PULUMI_LOG": str(log),
        "LIBRARY_BACKEND_URL": f"file://{tmp_path}/state",
        "LIBRARY_NO_CLI_INSTALL": "1",
    }
    return env, log
