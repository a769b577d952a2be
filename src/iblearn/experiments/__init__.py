"""Reproductions: ``iblearn reproduce NAME [--quick | --full] [--out DIR] [--seed N] [--device D]
[--resume]``.

Every reproduction is a function ``run(options) -> Path`` that leaves in its run folder
``config.json``, ``metrics.csv``, ``results.json``, ``table.md`` (side by side with the paper's numbers
where there is a paper) and its plots. ``--quick`` finishes in minutes on two CPU cores and is what
the tests run; ``--full`` is the real thing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from iblearn.experiments.common import ReproduceOptions
from iblearn.experiments.estimators import run as run_estimators

REPRODUCTIONS: dict[str, Callable[[ReproduceOptions], Path]] = {
    "estimators": run_estimators,
}

__all__ = ["REPRODUCTIONS", "ReproduceOptions"]
