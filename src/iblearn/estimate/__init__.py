"""The one front door: ``estimate(measure, *variables, method="auto", **options)`` chooses an estimator
from the data, checks it and bounds it, for every measure (:data:`MEASURES`); :func:`estimate_mi` is
its MI and conditional MI.

The package is callable as the function it exports, so ``from iblearn import estimate`` gives the
function whether or not the package was imported first::

    from iblearn import estimate
    est = estimate("cmi", x, y, z)

Adding a measure is one entry of :data:`MEASURES` (its variables, its automatic rule, its named
methods) and the functions it names.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from iblearn.estimate.door import MEASURES, Measure, estimate, estimate_mi

__all__ = ["MEASURES", "Measure", "estimate", "estimate_mi"]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`estimate`: ``import iblearn.estimate`` binds the package to the
    name ``iblearn.estimate``, where the function is what a caller means."""

    def __call__(self, measure: str, *variables: Any, method: str = "auto", **options: Any) -> Any:
        return estimate(measure, *variables, method=method, **options)


sys.modules[__name__].__class__ = _CallableModule
