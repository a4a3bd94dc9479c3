"""A stack deployed by the program before its auto-named containers had the
`<project>-<stack>-` prefix, upgraded to the current program: the old logical
names are aliases, so nothing is replaced or recreated (the containers keep
their old names), and the next replacement gives them prefixed names
(docs/deploy.md, "What gets deployed")."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile

import pytest

from tests.harness.live import copy_repo, deploy
from tests.harness.program import REPO_ROOT
from tests.harness.state import RunState
from tests.live.conftest import http
from tests.live.test_operations import LIBRARY

pytestmark = pytest.mark.live

#: The program as it was before the prefix (main at the time): replicas `api-<i>`, migration `migrations-run`.
OLD_PROGRAM = "08961e2"


def old_program_repo(live_stack, dest) -> str:
    """A copy of the stack's repository whose infra/ and Pulumi.yaml (its config keys' defaults, which
    the CLI passes to the program) are the program's at OLD_PROGRAM."""
    found = subprocess.run(
        ["git", "-C", REPO_ROOT, "archive", OLD_PROGRAM, "infra", "Pulumi.yaml"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(f"commit {OLD_PROGRAM} is not in this checkout (a shallow clone?): {found.stderr.decode()[-300:]}")
    repo = copy_repo(str(dest), str(live_stack.repo))
    shutil.rmtree(f"{repo}/infra")
    with tarfile.open(fileobj=io.BytesIO(found.stdout)) as archive:
        # Our own git archive; the data filter where this Python has it (3.11.4 and later).
        archive.extractall(repo, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return repo


def maintenance(stack, outputs, tmp_path, switch: str) -> subprocess.CompletedProcess:
    """`library maintenance SWITCH` of the stack, from a saved copy of these outputs."""
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(dict(outputs)))
    command = [LIBRARY, "maintenance", switch, "--stack", stack.stack, "--outputs", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def urn_names(run_id: str) -> set[str]:
    return {urn.rsplit("::", 1)[-1] for urn in RunState(run_id).resources()}


def test_a_stack_from_before_the_prefix_keeps_its_containers_until_they_are_replaced(live_stack, tmp_path):
    stack = live_stack
    prefix = f"library-{stack.stack}"
    replicas = range(stack.replicas)

    # Deployed by the old program.
    old = deploy(stack.stack, stack.run_id, stack.config(), repo_dir=old_program_repo(stack, tmp_path / "old"))
    stack.deployments.append(old)
    assert [n.rsplit("-", 1)[0] for n in old["api_container_names"]] == [f"api-{i}" for i in replicas]
    assert old["migration_container_name"].startswith("migrations-run-")
    before = {c.name: (c.id, c.attrs["State"]["StartedAt"]) for c in stack.containers()}

    # Its proxy predates maintenance mode: the operator command says so (the old outputs name no
    # engine: it is the one the environment names, as for the provider) and changes nothing.
    done = maintenance(stack, old, tmp_path, "on")
    assert done.returncode == 3 and "was deployed before maintenance mode existed" in done.stderr, done.stderr
    assert http("GET", f"{old['url']}api/books/").status_code == 200

    # The new program, same config and state: the same containers, untouched, under the new URNs,
    # but for the proxy, whose configuration gained maintenance mode.
    upgraded = stack.deploy()
    proxy = f"{prefix}-proxy"
    assert [c[:2] for c in upgraded.result["created"]] == [["container", proxy]], upgraded.result
    assert upgraded.result["deleted"] == [proxy], upgraded.result
    before.pop(proxy)
    after = {c.name: (c.id, c.attrs["State"]["StartedAt"]) for c in stack.containers()}
    assert after.pop(proxy) and after == before
    assert upgraded["api_container_names"] == old["api_container_names"]
    assert upgraded["migration_container_name"] == old["migration_container_name"]
    names = urn_names(stack.run_id)
    assert {f"{prefix}-api-{i}" for i in replicas} | {f"{prefix}-migrate"} <= names
    assert not {f"api-{i}" for i in replicas} & names and "migrations-run" not in names
    assert maintenance(stack, upgraded, tmp_path, "on").returncode == 0
    assert http("GET", f"{upgraded['url']}api/books/").status_code == 503
    assert maintenance(stack, upgraded, tmp_path, "off").returncode == 0

    # A change of the replicas' and migration's environment replaces them: prefixed names now.
    replaced = stack.deploy(**{"library:throttleAnon": "300/minute"})
    assert [n.rsplit("-", 1)[0] for n in replaced["api_container_names"]] == [f"{prefix}-api-{i}" for i in replicas]
    assert replaced["migration_container_name"].startswith(f"{prefix}-migrate-")
    gone = {*old["api_container_names"], old["migration_container_name"]}
    assert not gone & {c.name for c in stack.containers()}, "the old containers are deleted"
    assert http("GET", f"{replaced['url']}readyz").status_code == 200
