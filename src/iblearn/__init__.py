"""iblearn: mutual-information estimators checked against known truth, and the information-theoretic
training procedures built on them.

Layers, imported downwards only: :mod:`iblearn.functional` (pure math) ->
:mod:`iblearn.estimators` (objects, registry) -> training, optimizers, analysis ->
:mod:`iblearn.experiments` and :mod:`iblearn.cli`. :mod:`iblearn.data` holds synthetic tasks with known
MI and the data loaders; :mod:`iblearn.records` the run records every layer writes.

Example:
    >>> import iblearn
    >>> x, y = iblearn.data.get_task("bivariate-normal-0.75").sample(5000, seed=0)
    >>> est = iblearn.estimators.KSG(k=3)(x, y)
    >>> est.unit, est.n_samples
    ('nats', 5000)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iblearn import data, estimators, functional
    from iblearn.estimation import estimate, estimate_mi, pairwise_mi
    from iblearn.estimators import MIEstimate, get_estimator

__version__ = "0.1.0"

_SUBMODULES = ("data", "estimators", "functional")
_FROM_ESTIMATORS = ("MIEstimate", "get_estimator")
_FROM_ESTIMATION = ("estimate", "estimate_mi", "pairwise_mi")  # the front door (iblearn.estimation)


def __getattr__(name: str) -> Any:
    """The submodules and names above, imported on first use (PEP 562): ``import iblearn`` then costs no
    torch import, so ``iblearn --help`` and the CLI's argument errors answer at once."""
    if name in _SUBMODULES:
        return importlib.import_module(f"iblearn.{name}")
    if name in _FROM_ESTIMATION:
        return getattr(importlib.import_module("iblearn.estimation"), name)
    if name in _FROM_ESTIMATORS:
        return getattr(importlib.import_module("iblearn.estimators"), name)
    raise AttributeError(f"module 'iblearn' has no attribute {name!r}")


__all__ = [
    "MIEstimate",
    "__version__",
    "data",
    "estimate",
    "estimate_mi",
    "estimators",
    "functional",
    "get_estimator",
    "pairwise_mi",
]
