"""Every module of benchmarks/runners imports: some reach into iblearn's private helpers (local.py steps
a module through training.greedy._epoch), and a rename there once broke local_training.py unnoticed.

A peer's worker (run by a peer's own Python, in its own virtual environment) imports that peer, which
the project's environment lacks: such a module must at least compile and import nothing of iblearn."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

RUNNERS = Path(__file__).resolve().parents[2] / "benchmarks" / "runners"


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("name", sorted(p.stem for p in RUNNERS.glob("*.py") if p.stem != "__init__"))
def test_the_runner_imports(name):
    try:
        importlib.import_module(f"benchmarks.runners.{name}")
    except ModuleNotFoundError as missing:
        root = (missing.name or "").split(".")[0]
        imported = _imported(RUNNERS / f"{name}.py")
        assert root not in {"iblearn", "benchmarks"} and root in imported, missing
        assert "iblearn" not in imported, f"{name} runs in a peer's environment and must not import iblearn"
