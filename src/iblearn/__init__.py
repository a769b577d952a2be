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

from iblearn import data, estimators, functional
from iblearn.estimators import MIEstimate, get_estimator

__version__ = "0.1.0"

__all__ = ["MIEstimate", "__version__", "data", "estimators", "functional", "get_estimator"]
