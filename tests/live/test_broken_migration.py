"""A broken migration fails the deployment with the migration's output, and
no API container is started (or, on a redeploy, touched)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.live.conftest import http

pytestmark = pytest.mark.live

BROKEN_SQL_MARKER = "live_broken_migration_no_such_table"


def inject_broken_migration(repo: Path) -> str:
    """Add app/books/migrations/9999_broken.py after the latest migration."""
    migrations = repo / "app" / "books" / "migrations"
    numbered = sorted(
        (int(m.group(1)), p.stem) for p in migrations.glob("*.py") if (m := re.match(r"^(\d{4})_\w+$", p.stem))
    )
    assert numbered, f"no migrations found in {migrations}"
    latest = numbered[-1][1]
    (migrations / "9999_broken.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('books', '{latest}')]\n"
        f"    operations = [migrations.RunSQL('SELECT * FROM {BROKEN_SQL_MARKER}')]\n"
    )
    return latest


def assert_fails_with_migration_output(error) -> None:
    text = str(error)
    assert error.returncode != 0
    assert "database migration failed" in text, text[-3000:]
    assert BROKEN_SQL_MARKER in text, "the migration's own output must be in the error"
    assert "9999_broken" in text


def test_broken_migration_on_a_fresh_stack_starts_no_api(live_stack):
    inject_broken_migration(live_stack.repo)
    error = live_stack.deploy_expecting_failure()
    assert_fails_with_migration_output(error)

    assert live_stack.containers("api") == [], "no API container may exist"
    (migration,) = live_stack.containers("migrate")
    assert migration.attrs["State"]["ExitCode"] != 0
    (db,) = live_stack.containers("db")
    assert db.status == "running"


def test_broken_migration_on_a_redeploy_leaves_the_running_api_alone(live_stack):
    first = live_stack.deploy()
    before = {c.name: c.id for c in live_stack.containers("api")}
    assert len(before) == live_stack.replicas

    inject_broken_migration(live_stack.repo)
    error = live_stack.deploy_expecting_failure()
    assert_fails_with_migration_output(error)

    after = {c.name: (c.id, c.status) for c in live_stack.containers("api")}
    assert {name: cid for name, (cid, _) in after.items()} == before, "API containers were replaced"
    assert all(status == "running" for _, status in after.values())
    assert http("GET", f"{first['url']}readyz").status_code == 200
