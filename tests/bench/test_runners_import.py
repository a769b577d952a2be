"""Every module of benchmarks/runners imports: some reach into iblearn's private helpers (local.py steps
a module through training.greedy._epoch), and a rename there once broke local_training.py unnoticed."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

RUNNERS = Path(__file__).resolve().parents[2] / "benchmarks" / "runners"


@pytest.mark.parametrize("name", sorted(p.stem for p in RUNNERS.glob("*.py") if p.stem != "__init__"))
def test_the_runner_imports(name):
    importlib.import_module(f"benchmarks.runners.{name}")
