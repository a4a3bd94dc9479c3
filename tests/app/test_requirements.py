"""Every hash-locked requirements file matches the pins it was generated from
(scripts/lock-requirements), and the tests install what ships."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: (pins, lock): the service image, the Pulumi program, the tests and tools.
LOCKS = [
    ("requirements.txt", "requirements.lock"),
    ("infra/requirements.in", "infra/requirements.txt"),
    ("requirements-dev.txt", "requirements-dev.lock"),
]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


@pytest.mark.parametrize(("wanted_file", "lock_file"), LOCKS)
def test_lock_pins_every_requirement_at_the_same_version_with_hashes(wanted_file, lock_file):
    wanted, locked = pins(REPO / wanted_file), pins(REPO / lock_file)
    assert wanted, f"{wanted_file} pins nothing"
    assert {name: locked.get(name) for name in wanted} == wanted, "run scripts/lock-requirements"
    blocks = re.split(r"\n(?=[a-z0-9])", (REPO / lock_file).read_text())
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_the_tests_install_the_versions_that_ship():
    dev = pins(REPO / "requirements-dev.lock")
    for _, lock_file in LOCKS[:2]:
        shipped = pins(REPO / lock_file)
        assert {name: dev.get(name) for name in shipped} == shipped, lock_file
