"""Estimator objects: ``est(x, y)`` returns an :class:`MIEstimate`."""

from iblearn.estimators.base import Estimator, MIEstimate
from iblearn.estimators.nonparametric import KSG, Binning, GaussianMI, MixedKSG, RenyiMI
from iblearn.estimators.registry import REGISTRY, get_estimator, register

__all__ = [
    "KSG",
    "REGISTRY",
    "Binning",
    "Estimator",
    "GaussianMI",
    "MIEstimate",
    "MixedKSG",
    "RenyiMI",
    "get_estimator",
    "register",
]
