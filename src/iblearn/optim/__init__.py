"""Optimizers and schedulers: :class:`ProximalSplit` (paper 000), :class:`MIDecayLR` and the LR range test
(paper 004), and :class:`LARS` (a baseline of paper 004)."""

from iblearn.optim.lars import LARS
from iblearn.optim.lr_range import LRRange, LRRangeTest, lr_range_test, plot_range, select_range
from iblearn.optim.mi_decay import MIDecayLR, MIProbe
from iblearn.optim.proximal import ProximalSplit, split_model
from iblearn.optim.proximal_errors import DoubleBackwardError, NonFiniteStepError

__all__ = [
    "LARS",
    "DoubleBackwardError",
    "LRRange",
    "LRRangeTest",
    "MIDecayLR",
    "MIProbe",
    "NonFiniteStepError",
    "ProximalSplit",
    "lr_range_test",
    "plot_range",
    "select_range",
    "split_model",
]
