"""The image's lock file must match the pins it was generated from."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_lock_pins_every_requirement_at_the_same_version_with_hashes():
    wanted, locked = pins(REPO / "requirements.txt"), pins(REPO / "requirements.lock")
    assert wanted, "requirements.txt pins nothing"
    assert {name: locked.get(name) for name in wanted} == wanted
    lock_text = (REPO / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[a-z0-9])", lock_text)
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
