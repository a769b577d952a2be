"""Optimizers and schedulers: :class:`ProximalSplit` (Han et al. 2023), :class:`MIDecayLR` and the LR range
test (Vasudevan 2020), and :class:`LARS` (a baseline of Vasudevan (2020))."""

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
