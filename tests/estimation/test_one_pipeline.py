"""Choosing an estimator and judging an estimate happen in ``iblearn.estimation`` alone: no function
named like a chooser or a verdict is defined anywhere else in the package, and no module outside it
marks an estimate reliable or unreliable or gives it a caveat: the estimators and the math layer
return numbers and figures, and :mod:`iblearn.estimation.verdict` reads them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "iblearn"

#: Names a chooser or a verdict goes by.
NAMES = re.compile(r"^(choose.*|.*verdict.*|.*_judged|judged)$")

#: What stays outside ``estimation/``, each with why: (file under src/iblearn, function) -> reason.
ALLOWED = {
    ("experiments/mi_lr/__init__.py", "choose_lr"): "a reproduction's learning rate, not an estimator",
}


def _outside_estimation(src: Path) -> Iterator[tuple[str, ast.AST]]:
    """(file under ``src``, node) of every node of every module outside ``estimation/``."""
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        if not rel.startswith("estimation/"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                yield rel, node


def _defined(src: Path) -> set[tuple[str, str]]:
    """(file, function) of every function outside ``estimation/`` whose name matches :data:`NAMES`."""
    return {
        (rel, node.name)
        for rel, node in _outside_estimation(src)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and NAMES.match(node.name)
    }


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


#: The fields of a verdict: only ``iblearn.estimation`` sets them.
VERDICT_FIELDS = ("reliable", "caveat")

#: Modules outside ``estimation/`` that may set a verdict's fields, each with why: none.
ALLOWED_VERDICTS: dict[str, str] = {}


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _verdicts_set(src: Path) -> set[tuple[str, int]]:
    """(file, line) of every place outside ``estimation/`` that sets ``reliable`` or ``caveat`` to
    something other than None: a keyword argument (``Estimate(..., caveat=why)``, ``replace(est,
    reliable=False)``, ``dict(reliable=False)``), a dict key (``{"caveat": why}``) or an attribute."""
    found = set()
    for rel, node in _outside_estimation(src):
        if isinstance(node, ast.keyword) and node.arg in VERDICT_FIELDS and not _is_none(node.value):
            found.add((rel, node.value.lineno))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in VERDICT_FIELDS and not _is_none(value):
                    found.add((rel, key.lineno))
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in VERDICT_FIELDS:
                    found.add((rel, target.lineno))
    return found


def test_no_verdict_is_set_outside_estimation():
    found = {(rel, line) for rel, line in _verdicts_set(SRC) if rel not in ALLOWED_VERDICTS}
    assert found == set()


def test_no_module_outside_estimation_may_set_a_verdict():
    assert ALLOWED_VERDICTS == {}


@pytest.mark.parametrize(
    "line",
    [
        "est = replace(est, reliable=False, caveat=why)",
        "fields |= dict(reliable=False, caveat=slow)",
        "out = Estimate(v, n, 'ksg', caveat=TEXT)",
        "row = {'reliable': True}",
        "est.caveat = why",
    ],
)
def test_the_scan_sees_each_way_of_setting_a_verdict(tmp_path, line):
    (tmp_path / "functional").mkdir()
    (tmp_path / "estimation").mkdir()
    (tmp_path / "functional" / "nulls.py").write_text(line + "\n")
    (tmp_path / "estimation" / "verdict.py").write_text(line + "\n")
    assert _verdicts_set(tmp_path) == {("functional/nulls.py", 1)}


def test_the_scan_lets_a_field_stay_unset(tmp_path):
    (tmp_path / "functional").mkdir()
    (tmp_path / "functional" / "result.py").write_text(
        "def f(reliable=None, caveat=None):\n    return Estimate(1.0, reliable=None, caveat=None)\n"
    )
    assert _verdicts_set(tmp_path) == set()
