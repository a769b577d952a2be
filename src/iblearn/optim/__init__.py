"""Optimizers and schedulers: :class:`ProximalSplit` (paper 000)."""

from iblearn.optim.proximal import DoubleBackwardError, ProximalSplit, split_model

__all__ = ["DoubleBackwardError", "ProximalSplit", "split_model"]
