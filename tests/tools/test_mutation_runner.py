"""The mutation runner (scripts/mutation) on a tiny sample module: which
mutants it makes, that each compiles, and that a test suite kills what it
checks and lets the rest survive. The runner itself: docs/testing.md."""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mutation"

SAMPLE = '''"""A docstring is never mutated."""
LIMIT = 3


def clamp(value: "int", low: int = 0) -> int:
    """Nor is this one."""
    if value is None:
        raise ValueError(f"no value {value}")
    if value < low or value >= LIMIT and not value in (7, 8):
        return low
    return value + 1


def untested(a, b):
    flag = True
    return a - (b + a) * 2 // 3 if a == b and not (a or flag) else "text"
'''

TESTS = """from sample import LIMIT, clamp


def test_clamp():
    assert LIMIT == 3
    assert clamp(1) == 2 and clamp(-1) == 0 and clamp(5) == 0 and clamp(7) == 8
"""


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("mutation_runner", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses resolve annotations through sys.modules
    loader.exec_module(module)
    return module


def test_every_operator_makes_mutants_that_compile(runner):
    mutants = runner.generate_mutants("sample.py", SAMPLE)
    assert {m.operator for m in mutants} == {
        "compare",
        "boolean",
        "not",
        "arithmetic",
        "number",
        "string",
        "bool",
        "return",
        "raise",
        "if",
    }
    original = ast.dump(ast.parse(SAMPLE))
    for mutant in mutants:
        compile(mutant.source, "sample.py", "exec")
        assert ast.dump(ast.parse(mutant.source)) != original, mutant.key
    assert len({m.key for m in mutants}) == len(mutants), "each mutant has its own key"
    changes = {(m.line, m.operator, m.original, m.mutated) for m in mutants}
    assert {(2, "number", "3", "4"), (2, "number", "3", "2")} <= changes  # module-level constants too
    assert {
        (9, "compare", "<", "<="),
        (9, "compare", ">=", ">"),
        (9, "boolean", "or", "and"),
        (9, "compare", "in", "not in"),
        (11, "arithmetic", "+", "-"),
        (15, "bool", "True", "False"),
        (8, "raise", 'raise ValueError(f"no value {value}")', "pass"),
        (7, "compare", "is", "is not"),
        (11, "return", "return value + 1", "return None"),
        (7, "if", "if value is None", "if False"),
        (16, "string", "'text'", "'XXtextXX'"),
    } <= changes
    # Docstrings, annotations and f-strings stay as they are.
    assert not [m for m in mutants if m.line in (1, 6) or m.original in ("'int'", "'no value '")]
    assert (5, "number", "0", "1") in changes  # a default value is code


def test_a_change_keeps_the_meaning_of_its_surroundings(runner):
    """Text is replaced in place, parenthesized where precedence needs it."""
    by_change = {
        (m.operator, m.original, m.mutated): m.source.splitlines()[15]
        for m in runner.generate_mutants("sample.py", SAMPLE)
        if m.line == 16
    }
    assert by_change[("arithmetic", "+", "-")] == (
        '    return a - (b - a) * 2 // 3 if a == b and not (a or flag) else "text"'
    )
    assert by_change[("not", "not (a or flag)", "a or flag")] == (
        '    return a - (b + a) * 2 // 3 if a == b and (a or flag) else "text"'
    )


@pytest.fixture
def sample_slot(runner, tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the sample's own rootdir: no repository plugins
    (tmp_path / "sample.py").write_text(SAMPLE)
    (tmp_path / "test_sample.py").write_text(TESTS)
    env = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tmp_path)}
    return runner.Slot(tmp_path, env)  # not this run's environment: its Django settings are not the sample's


def test_the_tests_kill_what_they_check_and_not_the_rest(runner, sample_slot):
    mutants = {(m.line, m.operator, m.mutated): m for m in runner.generate_mutants("sample.py", SAMPLE)}
    assert runner.run_tests(sample_slot, ["test_sample.py"], timeout=60) == "passed"
    outcome = {
        change: runner.run_mutant(sample_slot, mutants[change], ["test_sample.py"], timeout=60)
        for change in [(2, "number", "4"), (11, "arithmetic", "-"), (15, "bool", "False")]
    }
    assert outcome == {
        (2, "number", "4"): "killed",
        (11, "arithmetic", "-"): "killed",
        (15, "bool", "False"): "survived",
    }
    assert (sample_slot.tree / "sample.py").read_text() == SAMPLE, "the module is restored after each mutant"


def test_equivalent_mutants_are_listed_by_key_with_a_reason(runner, tmp_path):
    mutant = runner.generate_mutants("sample.py", SAMPLE)[0]
    listing = tmp_path / "equivalents.txt"
    listing.write_text(f"# a comment\n\n{mutant.key} | the reason\n")
    assert runner.load_equivalents(listing) == {mutant.key: "the reason"}
    listing.write_text(f"{mutant.key}\n")
    with pytest.raises(SystemExit, match="expected"):
        runner.load_equivalents(listing)
