"""The schema through the tools of the ecosystem: openapi-spec-validator,
Spectral, and openapi-typescript + `tsc --strict` on a small usage file.

docs/testing.md#the-contract-tier.
"""

import json
import re
import shutil

import pytest
from openapi_spec_validator import validate

from .conftest import HERE, run

pytestmark = pytest.mark.contract


def test_openapi_spec_validator_accepts_the_schema(schema):
    validate(schema)


def test_spectral_finds_nothing(node_bin, schema_file):
    """0 errors and 0 warnings; a rule is off only with its reason in spectral.yaml."""
    ruleset = HERE / "spectral.yaml"
    report = schema_file.parent / "spectral.json"
    run(
        [str(node_bin / "spectral"), "lint", str(schema_file), "--ruleset", str(ruleset)]
        + ["--format", "json", "--output", str(report), "--fail-severity", "error", "--quiet"]
    )
    findings = json.loads(report.read_text() or "[]")
    names = {0: "error", 1: "warning", 2: "info", 3: "hint"}
    lines = [f"{names[f['severity']]} {f['code']} {'.'.join(map(str, f['path']))}: {f['message']}" for f in findings]
    assert not [f for f in findings if f["severity"] <= 1], "\n".join(lines)


def test_every_rule_turned_off_says_why():
    text = (HERE / "spectral.yaml").read_text().splitlines()
    for number, line in enumerate(text):
        if re.match(r"\s+[\w-]+:\s*off\s*$", line):
            assert number and text[number - 1].strip().startswith("#"), f"no reason above: {line.strip()}"


def test_typescript_types_check_strictly(node_bin, schema_file):
    """openapi-typescript 7.13 types, and usage.ts written against them, pass `tsc --strict`."""
    where = schema_file.parent / "typescript"
    where.mkdir(exist_ok=True)
    run([str(node_bin / "openapi-typescript"), str(schema_file), "--output", str(where / "library.d.ts")])
    shutil.copy(HERE / "usage.ts", where / "usage.ts")
    run(
        [str(node_bin / "tsc"), "--strict", "--noEmit", "--noUnusedLocals", "--target", "ES2022"]
        + ["--module", "ES2022", "--moduleResolution", "bundler", "usage.ts"],
        cwd=where,
    )
