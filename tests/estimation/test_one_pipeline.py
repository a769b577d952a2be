"""Choosing an estimator and judging an estimate happen in ``iblearn.estimation`` alone: no function
named like a chooser or a verdict is defined anywhere else in the package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "iblearn"

#: Names a chooser or a verdict goes by.
NAMES = re.compile(r"^(choose.*|.*verdict.*|.*_judged|judged)$")

#: What stays outside ``estimation/``, each with why: (file under src/iblearn, function) -> reason.
ALLOWED = {
    ("experiments/mi_lr/__init__.py", "choose_lr"): "a reproduction's learning rate, not an estimator",
}


def _defined(src: Path) -> set[tuple[str, str]]:
    """(file, function) of every function outside ``estimation/`` whose name matches :data:`NAMES`."""
    found = set()
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        if rel.startswith("estimation/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and NAMES.match(node.name):
                found.add((rel, node.name))
    return found


def test_no_chooser_or_verdict_outside_estimation():
    assert _defined(SRC) - set(ALLOWED) == set()


def test_every_allowed_exception_still_exists():
    # An entry left behind after its function moved up would let a new one in under its name.
    assert set(ALLOWED) - _defined(SRC) == set()


def test_only_a_reproduction_chooses_outside_estimation():
    # Estimators and the math layer return figures: none of them chooses an estimator or judges one.
    assert set(ALLOWED) == {("experiments/mi_lr/__init__.py", "choose_lr")}


@pytest.mark.parametrize("name", ["choose_method", "mi_verdict", "_judged", "judged", "_bias_judged"])
def test_the_scan_sees_each_kind_of_name(tmp_path, name):
    (tmp_path / "estimators").mkdir()
    (tmp_path / "estimators" / "base.py").write_text(f"class E:\n    def {name}(self):\n        return 0\n")
    assert _defined(tmp_path) == {("estimators/base.py", name)}


def test_the_scan_sees_a_chooser_outside_estimation(tmp_path):
    (tmp_path / "network").mkdir()
    (tmp_path / "estimation").mkdir()
    (tmp_path / "network" / "inference.py").write_text("def choose_method(trials):\n    return 'ksg'\n")
    (tmp_path / "estimation" / "choose.py").write_text("def choose_network(trials):\n    return 'ksg'\n")
    assert _defined(tmp_path) == {("network/inference.py", "choose_method")}
