"""Trainable (neural) MI estimators: a critic fitted by gradient ascent on a variational bound.

The package, by concern:

* :mod:`.base`: :class:`NeuralEstimator` (scores, the training step, ``fit``'s loop, estimates);
* :mod:`.inputs`: the rows a critic takes, checked, and the conversions of its training step;
* :mod:`iblearn.estimators.reliability` (shared with every estimator): :class:`CriticDivergedError`
  and :class:`UnreliableEstimateWarning`, when a critic has diverged or an estimate cannot be read as one;
* :mod:`.settings`: :class:`NeuralSettings`, the one frozen dataclass the estimators are built from;
* :mod:`.negatives`: negative pairs (:func:`derangements`, :func:`all_pair_scores`, class sums);
* :mod:`.averaging`: the weight average the estimates report with;
* :mod:`.fitting`: the critic's optimizer, ``fit``'s batches, the rows it holds out and the
  :class:`History` of the bound on them, evaluation batches;
* one file per bound family: :mod:`.mine` (MINE, MINE-f), :mod:`.nwj`, :mod:`.js`, :mod:`.infonce`,
  :mod:`.smile`, :mod:`.flo`; and through a Gaussian q(y | x), :mod:`.club` (CLUB) and :mod:`.doe`.

A new bound is one file: a subclass of :class:`NeuralEstimator` with a ``name``, an ``objective`` and a
``_pooled`` (:mod:`.nwj` is the whole of one), plus its line in the registry and its tests.
"""

from iblearn.estimators.neural.averaging import WeightAverage
from iblearn.estimators.neural.base import (
    IMPLAUSIBLE,
    CriticDivergedError,
    NeuralEstimator,
    UnreliableEstimateWarning,
    as_input,
    param_dtype,
)
from iblearn.estimators.neural.club import CLUB, GaussianConditional
from iblearn.estimators.neural.doe import DoE
from iblearn.estimators.neural.fitting import CriticOptimizer, History, passes
from iblearn.estimators.neural.flo import FLO
from iblearn.estimators.neural.infonce import InfoNCE, InfoNCESettings
from iblearn.estimators.neural.js import JS
from iblearn.estimators.neural.mine import MINE, MINEf, MINESettings
from iblearn.estimators.neural.negatives import all_pair_scores, derangements
from iblearn.estimators.neural.nwj import NWJ
from iblearn.estimators.neural.settings import NeuralSettings, Setting
from iblearn.estimators.neural.smile import SMILE

__all__ = [
    "CLUB",
    "FLO",
    "IMPLAUSIBLE",
    "JS",
    "MINE",
    "NWJ",
    "SMILE",
    "CriticDivergedError",
    "CriticOptimizer",
    "DoE",
    "GaussianConditional",
    "History",
    "InfoNCE",
    "InfoNCESettings",
    "MINESettings",
    "MINEf",
    "NeuralEstimator",
    "NeuralSettings",
    "Setting",
    "UnreliableEstimateWarning",
    "WeightAverage",
    "all_pair_scores",
    "as_input",
    "derangements",
    "param_dtype",
    "passes",
]
