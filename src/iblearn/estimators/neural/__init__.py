"""Every neural MI estimator: each is an estimator with a network that a trainer trains.

The package, by concern:

* :mod:`.base`: :class:`NeuralEstimator`, the estimator with a network (input checks, the reported
  estimate and its figures, ``fit``/``train_step``/``loss`` handed to its trainer, the state saved);
* :mod:`.trainer`: :class:`Trainer`, which trains the network and keeps what training goes on from (the
  optimizer, the weight average, the negatives' generator, the step and its judgement of divergence,
  ``fit``'s loop with early stopping and its :class:`History`, the extra state saved);
* :mod:`.contract`: :class:`TrainingTarget`, the module the trainer trains and the members it asks of
  it (public, one way: the trainer imports it, not the estimator), and :class:`BatchLoss`;
* :mod:`.fitting`: the rows it trains and evaluates on (batches, held-out rows, evaluation batches);
* :mod:`.stacked`: :func:`estimate_many`, one estimator's settings fitted to many ``(x, y)`` pairs with
  their critics stacked and trained at once (the same estimates as one fit after another);
* :mod:`.bound`: :class:`BoundEstimator`, a variational bound: a critic, its ``objective``, its scores
  and negatives, and the bound ``_pooled`` from them (``batch_mi``, the pooled estimate);
* :mod:`.representation`: :class:`RepresentationEstimator`, which learns a representation and reads
  the MI off it (no bound);
* :mod:`.inputs`: the rows a critic takes, checked, and the conversions of its training step;
* :mod:`iblearn.estimators.reliability` (shared with every estimator): :class:`CriticDivergedError`,
  when a critic has diverged, and :class:`UnreliableEstimateWarning`, which the verdict on an estimate
  (:mod:`iblearn.estimation.verdict`) issues where it cannot be read as one;
* :mod:`.settings`: the checks and defaults of the settings every neural estimator shares (taken by
  :class:`NeuralEstimator`'s ``__init__``; each family takes its own in its ``__init__``);
* :mod:`.negatives`: negative pairs (:func:`derangements`, :func:`all_pair_scores`, class sums);
* :mod:`.averaging`: the weight average the estimates report with;
* :mod:`iblearn.distributed` (shared with training, the analysis and the reproductions): rows and
  gradients across the ranks of a process group;
* one file per bound family: :mod:`.mine` (MINE, MINE-f), :mod:`.nwj`, :mod:`.js`, :mod:`.infonce`,
  :mod:`.smile`, :mod:`.flo`; through a Gaussian q(y | x), :mod:`.club` (CLUB) and :mod:`.doe`; bounds
  with networks of their own, :mod:`.aamine` (AA-MINE), :mod:`.dim` (Deep InfoMax) and :mod:`.graph`
  (GMI, DGI);
* one file per representation estimator: :mod:`.lmi`, :mod:`.mienf`, :mod:`.minde`.

A new bound is one file here: a subclass of :class:`BoundEstimator` with a ``name``, an ``objective``
(its negatives drawn from ``self.trainer.shuffles``) and a ``_pooled`` (:mod:`.nwj` is the whole of
one), plus its line in the registry and its tests. It touches neither the trainer nor :mod:`.fitting`.
A new representation estimator subclasses :class:`RepresentationEstimator` with an ``objective`` and an
``_estimate``.
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
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.club import CLUB, GaussianConditional
from iblearn.estimators.neural.contract import BatchLoss, TrainingTarget
from iblearn.estimators.neural.doe import DoE
from iblearn.estimators.neural.fitting import passes
from iblearn.estimators.neural.flo import FLO
from iblearn.estimators.neural.infonce import InfoNCE
from iblearn.estimators.neural.js import JS
from iblearn.estimators.neural.mine import MINE, MINEf
from iblearn.estimators.neural.negatives import all_pair_scores, derangements
from iblearn.estimators.neural.nwj import NWJ
from iblearn.estimators.neural.representation import RepresentationEstimator
from iblearn.estimators.neural.smile import SMILE
from iblearn.estimators.neural.stacked import estimate_many
from iblearn.estimators.neural.trainer import CriticOptimizer, History, Trainer

__all__ = [
    "CLUB",
    "FLO",
    "IMPLAUSIBLE",
    "JS",
    "MINE",
    "NWJ",
    "SMILE",
    "BatchLoss",
    "BoundEstimator",
    "CriticDivergedError",
    "CriticOptimizer",
    "DoE",
    "GaussianConditional",
    "History",
    "InfoNCE",
    "MINEf",
    "NeuralEstimator",
    "RepresentationEstimator",
    "Trainer",
    "TrainingTarget",
    "UnreliableEstimateWarning",
    "WeightAverage",
    "all_pair_scores",
    "as_input",
    "derangements",
    "estimate_many",
    "param_dtype",
    "passes",
]
