"""The checks and defaults of the settings every neural estimator shares (taken by
:class:`iblearn.estimators.neural.base.NeuralEstimator`'s ``__init__``)."""

from __future__ import annotations

from typing import Any

from torch import nn

from iblearn import _checks as V
from iblearn.estimators.critics import Hidden, hidden_widths

#: The default critic's hidden widths and Adam learning rate of the neural estimators, chosen by
#: measurement on benchmark-mi's tasks (``benchmarks/neural_bmi.py``; the figures in
#: ``docs/benchmarks.md``): two layers of 64 at lr 2e-3 come closer to the truth than 256 x 256 at lr
#: 5e-4. The critics' own default, ``critics.DEFAULT_HIDDEN`` (256, 256), is that of a critic built
#: directly.
HIDDEN: tuple[int, ...] = (64, 64)
LR = 2e-3


def critic_choice(value: Any, name: str) -> nn.Module | str:
    """A critic: a default critic's name or a module (the family checks which names it builds)."""
    if not isinstance(value, nn.Module | str):
        raise ValueError(f"{name}: expected 'concat', 'separable' or an nn.Module, got {value!r}")
    return value


def unit_rate(value: Any, name: str) -> float:
    """A moving-average rate, in (0, 1] (the weight average's may also be None: no average)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"{name}: a moving-average rate must lie in (0, 1], got {value!r}")
    return value


def eval_batch(value: Any, name: str) -> int:
    """Rows per evaluation batch: at least 2, to re-pair."""
    if V.positive_int(value, name) < 2:
        raise ValueError(f"{name}: an evaluation batch needs 2 samples to re-pair, got 1")
    return int(value)


def validation_share(value: Any, name: str = "validation") -> float:
    """``value`` checked as the share of rows held out for validation: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"{name}: the share of rows held out must lie in [0, 1), got {value!r}")
    return float(value)


def widths(value: Any, name: str) -> Hidden | int:
    """A critic's hidden widths: a sequence of positive integers (:func:`.critics.hidden_widths`), or
    one positive width for a critic that takes one (DIM's; the default critics refuse it)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return hidden_widths(value, name)
