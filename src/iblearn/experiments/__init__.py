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
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from iblearn import _reproductions
from iblearn.experiments.options import ReproduceOptions

#: Each reproduction is a subpackage: its ``run`` in the package itself, its config, report and helpers
#: in modules of their own. Those modules also import by the flat names that configs and scripts use.
MOVED = {
    "proximal_config": "proximal.config",
    "proximal_report": "proximal.report",
    "proximal_step": "proximal.step",
    "mi_lr_report": "mi_lr.report",
    "mole_config": "mole.config",
    "mole_tasks": "mole.tasks",
    "layerwise_ib_config": "layerwise_ib.config",
    "layerwise_ib_report": "layerwise_ib.report",
    "ib_plane": "ib_theory.plane",
    "accuracy": "estimators.accuracy",
}


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``iblearn.experiments.<flat name>`` (:data:`MOVED`) as the module it names: the same module
    object, so a script or a config that names the flat module gets the module itself."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(f"{__name__}.{MOVED[spec.name.rpartition('.')[2]]}")
        self._specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system gave the module the flat name's spec: it keeps its own.
        module.__spec__ = self._specs.pop(module.__name__, module.__spec__)


if not any(isinstance(finder, _Moved) for finder in sys.meta_path):
    sys.meta_path.append(_Moved())

#: Each reproduction's ``run``, by the name the command line takes (the table: :mod:`iblearn._reproductions`).
REPRODUCTIONS: dict[str, Callable[..., Path]] = {
    name: importlib.import_module(f"{__name__}.{module}").run
    for name, (module, _) in _reproductions.REPRODUCTIONS.items()
}

__all__ = ["REPRODUCTIONS", "ReproduceOptions"]
