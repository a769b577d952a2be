"""Reproductions: ``iblearn reproduce NAME [--quick | --full] [--out DIR] [--seed N] [--device D]
[--resume]``.

Every reproduction is a function ``run(options, config=None) -> Path`` (config overrides the
``--quick``/``--full`` presets: tests pass a tiny one) that leaves in its run folder
``config.json``, ``metrics.csv``, ``results.json``, ``table.md`` (side by side with the paper's numbers
where there is a paper) and its plots. ``--quick`` finishes in minutes on two CPU cores and is what
the tests run; ``--full`` is the real thing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from iblearn.experiments import aamine_noise, estimators, ib_theory, layerwise_ib, mi_lr, mole, proximal
from iblearn.experiments.common import ReproduceOptions

REPRODUCTIONS: dict[str, Callable[..., Path]] = {
    "estimators": estimators.run,
    "aamine-noise": aamine_noise.run,
    "proximal": proximal.run,
    "mi-lr": mi_lr.run,
    "mole": mole.run,
    "layerwise-ib": layerwise_ib.run,
    "ib-theory": ib_theory.run,
}

__all__ = ["REPRODUCTIONS", "ReproduceOptions"]
