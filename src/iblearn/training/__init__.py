"""Greedy, gradient-isolated training (MOLE, paper 001; layer-by-layer IB, paper 002)."""

from iblearn.training.greedy import GreedyResult, Standardize, check_pipeline, train_greedy
from iblearn.training.objectives import Batch, CrossEntropy, InfoMax, NoisyIB, Objective, kind

__all__ = [
    "Batch",
    "CrossEntropy",
    "GreedyResult",
    "InfoMax",
    "NoisyIB",
    "Objective",
    "Standardize",
    "check_pipeline",
    "kind",
    "train_greedy",
]
