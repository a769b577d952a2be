"""Reproductions: ``iblearn reproduce NAME [--quick | --full] [--out DIR] [--seed N] [--device D]
[--resume]``.

Every reproduction is a function ``run(options, config=None) -> Path`` (config overrides the
``--quick``/``--full`` presets: tests pass a tiny one) that leaves in its run folder
``config.json``, ``metrics.csv``, ``results.json``, ``table.md`` (side by side with the paper's numbers
where there is a paper) and its plots. ``--quick`` finishes in minutes on two CPU cores and is what
the tests run; ``--full`` is the real thing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from iblearn import _reproductions
from iblearn.experiments.options import ReproduceOptions

#: Each reproduction's ``run``, by the name the command line takes (the table: :mod:`iblearn._reproductions`).
REPRODUCTIONS: dict[str, Callable[..., Path]] = {
    name: importlib.import_module(f"{__name__}.{module}").run
    for name, (module, _) in _reproductions.REPRODUCTIONS.items()
}

#: What each reproduction's config.json records as its experiment, by the reproduction's name.
EXPERIMENTS: dict[str, str] = {
    name: importlib.import_module(f"{__name__}.{module}").EXPERIMENT
    for name, (module, _) in _reproductions.REPRODUCTIONS.items()
}

__all__ = ["EXPERIMENTS", "REPRODUCTIONS", "ReproduceOptions"]
