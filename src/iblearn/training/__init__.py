"""Greedy, gradient-isolated training (MOLE, Li & Pei (2023); layer-by-layer IB, Elad et al. (2019)), and the
stochastic layers and VIB that make an IB objective finite (Amjad & Geiger 2019, Sec. 5.3)."""

from iblearn.estimators.standardize import Standardize
from iblearn.training.greedy import GreedyResult, apply_module, apply_modules, check_pipeline, train_greedy
from iblearn.training.objectives import Batch, CrossEntropy, InfoMax, NoisyIB, Objective, kind
from iblearn.training.stochastic import GaussianNoise, UniformNoise, VIBHead, vib_loss

__all__ = [
    "Batch",
    "CrossEntropy",
    "GaussianNoise",
    "GreedyResult",
    "InfoMax",
    "NoisyIB",
    "Objective",
    "Standardize",
    "UniformNoise",
    "VIBHead",
    "apply_module",
    "apply_modules",
    "check_pipeline",
    "kind",
    "train_greedy",
    "vib_loss",
]
