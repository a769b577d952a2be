"""Estimator objects: ``est(x, y)`` returns an :class:`MIEstimate`."""

from iblearn.estimators.base import Estimator, MIEstimate, TrainableEstimator, as_trainable
from iblearn.estimators.conditional import Conditional
from iblearn.estimators.critics import ConcatCritic, SeparableCritic
from iblearn.estimators.neural import (
    CLUB,
    FLO,
    JS,
    MINE,
    NWJ,
    SMILE,
    BoundEstimator,
    CriticDivergedError,
    DoE,
    InfoNCE,
    MINEf,
    NeuralEstimator,
    RepresentationEstimator,
)
from iblearn.estimators.neural.aamine import AAMINE, ArchitectureAwareCritic
from iblearn.estimators.neural.dim import DIM
from iblearn.estimators.neural.graph import DGI, GMI, as_graph
from iblearn.estimators.neural.lmi import LMI
from iblearn.estimators.neural.mienf import MIENF
from iblearn.estimators.neural.minde import MINDE
from iblearn.estimators.nonparametric import (
    KSG,
    Binning,
    GaussianClasses,
    GaussianMI,
    MixedKSG,
    QuadraticClasses,
    RenyiMI,
)
from iblearn.estimators.registry import REGISTRY, get_estimator, register
from iblearn.estimators.reliability import UnreliableEstimateWarning

__all__ = [
    "AAMINE",
    "CLUB",
    "DGI",
    "DIM",
    "FLO",
    "GMI",
    "JS",
    "KSG",
    "LMI",
    "MIENF",
    "MINDE",
    "MINE",
    "NWJ",
    "REGISTRY",
    "SMILE",
    "ArchitectureAwareCritic",
    "Binning",
    "BoundEstimator",
    "ConcatCritic",
    "Conditional",
    "CriticDivergedError",
    "DoE",
    "Estimator",
    "GaussianClasses",
    "GaussianMI",
    "InfoNCE",
    "MIEstimate",
    "MINEf",
    "MixedKSG",
    "NeuralEstimator",
    "QuadraticClasses",
    "RenyiMI",
    "RepresentationEstimator",
    "SeparableCritic",
    "TrainableEstimator",
    "UnreliableEstimateWarning",
    "as_graph",
    "as_trainable",
    "get_estimator",
    "register",
]
