"""testssl.sh's verdict on a TLS endpoint (Mozilla's "intermediate" profile), shared by the
image tier (a proxy in front of the service image) and the live tier (a deployed TLS stack);
docs/deploy.md, "TLS at the proxy"."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest


def run_testssl(target: str, workdir: Path) -> dict[str, dict]:
    """testssl.sh's findings for `target` (127.0.0.1:PORT), by id; prints them and its time."""
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl is None:
        pytest.fail("testssl.sh is missing: apt-get install testssl.sh (.ci/run installs it)", pytrace=False)
    assert target.startswith("127.0.0.1:"), f"scans go to the loopback only, not {target}"
    report = workdir / "testssl.json"
    started = time.monotonic()
    subprocess.run(
        [testssl, "--quiet", "--color", "0", "--warnings", "off", "--sneaky", "--jsonfile", str(report)]
        + ["--protocols", "--std", "--fs", "--each-cipher", target],
        capture_output=True,
        text=True,
        timeout=600,
    )
    findings = {item["id"]: item for item in json.loads(report.read_text())}
    print(f"testssl.sh ran {time.monotonic() - started:.0f} s")
    for item in findings.values():
        print(f"{item['id']}: {item['severity']} {item['finding']}")
    return findings


def assert_intermediate_tls_profile(findings: dict[str, dict]) -> None:
    """TLS 1.2 and 1.3 only; every suite offered has forward secrecy; nothing MEDIUM or worse."""
    for protocol in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert findings[protocol]["finding"] == "not offered", findings[protocol]
    assert findings["TLS1_2"]["finding"] == "offered"
    assert findings["TLS1_3"]["finding"].startswith("offered")
    # Cipher categories (testssl.sh 3.0): nothing weak, no CBC ("AVERAGE"); forward secrecy offered.
    for category in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
        assert findings[f"cipherlist_{category}"]["finding"] == "not offered", findings[f"cipherlist_{category}"]
    assert findings["PFS"]["finding"] == "offered"
    # Every suite offered, one by one ("xc030 ECDHE-RSA-AES256-GCM-SHA384 ECDH 253 AESGCM 256 ..."):
    # an ephemeral key exchange, never static RSA.
    offered = [item["finding"].split() for key, item in findings.items() if key.startswith("cipher_x")]
    assert len(offered) >= 4, sorted(findings)
    for _, name, key_exchange, *_ in offered:
        assert key_exchange in ("ECDH", "DH"), (name, key_exchange)
        assert name.startswith(("TLS_", "ECDHE-", "DHE-")), name
    assert sorted(name for _, name, *_ in offered) == sorted(findings["PFS_ciphers"]["finding"].split())
    assert not [item for item in findings.values() if item["severity"] in ("MEDIUM", "HIGH", "CRITICAL")]
