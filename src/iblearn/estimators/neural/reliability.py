"""When a neural estimate is no estimate: a critic that diverged (an error) and an estimate that cannot
be read as one (a warning, and ``reliable=False`` on the :class:`~iblearn.estimators.MIEstimate`)."""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from iblearn.estimators.base import MIEstimate


class CriticDivergedError(RuntimeError):
    """The critic's loss or estimate became NaN or Inf, or too large to be anything but divergence."""


#: A loss or estimate beyond this many times the nats that one sample can hold (the smaller of x's and
#: y's: each float is one of 2^bits values; labels, log of the classes; at least 1 nat) is divergence.
#: No bound on a sample can exceed that information; a critic can push a lower bound far below 0, but
#: not 100 times beyond it without having diverged (MINE at lr=1e6 printed -1.8e24 nats, InfoNCE at
#: lr=1e8 -7.7e33).
IMPLAUSIBLE = 100

#: A lower bound this far below 0 (nats) is flagged: nearer 0, it is what the noise of an estimate on a
#: few thousand held-out rows gives at independence (MINE on independent normals, N = 2,000: -0.02).
BELOW_ZERO = 0.05
#: An estimate below half its critic's bound on training rows, by more than this many nats, is flagged:
#: the critic has fitted its training rows (InfoNCE on 25 x 25 dims: 5.4 nats there, -5.6 held out).
BELOW_TRAINING = 0.1


class UnreliableEstimateWarning(UserWarning):
    """A neural estimate that is no estimate: a lower bound below 0, or far below its training value."""


def plausible(x: Any, y: Any, y_classes: int | None) -> float:
    """:data:`IMPLAUSIBLE` times the nats one sample of x or y can hold, the smaller: its floats' bits
    (log 2 each), or log of the classes for labels; at least 1 nat."""
    caps = [math.log(y_classes)] if y_classes else []
    for t in (x,) if y_classes else (x, y):
        if isinstance(t, Tensor) and t.is_floating_point() and t.ndim:
            caps.append(t[0].numel() * torch.finfo(t.dtype).bits * math.log(2))
    return IMPLAUSIBLE * max(min(caps, default=math.inf), 1.0)


def judged(result: MIEstimate, name: str, base: float, training_best: float | None) -> MIEstimate:
    """``result`` (a lower bound, in log ``base``), flagged (``reliable=False``, with why) and warned
    about when it cannot be read as an estimate: more than :data:`BELOW_ZERO` nats below 0 (the MI is
    never negative: the critic has overfitted, or met heavy tails), or below half ``training_best``,
    its critic's bound on training rows (nats), by more than :data:`BELOW_TRAINING` nats (the critic
    fits its training rows and not the distribution)."""
    nats = float(result) * math.log(base)
    why = None
    if nats < -BELOW_ZERO:
        why = f"a lower bound on the MI of {nats:.4g} nats, below 0"
    elif training_best is not None and nats < 0.5 * training_best - BELOW_TRAINING:
        why = f"{nats:.4g} nats, far below the critic's {training_best:.4g} on its training rows"
    if why is None:
        return result
    why += (
        "; the critic has overfitted or met heavy tails: fit with more held out (validation), "
        "a smaller critic (hidden) or a lower lr, or standardize the inputs"
    )
    warnings.warn(f"{name}: unreliable estimate: {why}", UnreliableEstimateWarning, stacklevel=_outside())
    return replace(result, reliable=False, caveat=why)


def _outside() -> int:
    """The ``stacklevel`` that points a warning issued by the caller at the first frame outside iblearn
    and torch: the user's ``est(x, y)``, however many estimator and Module layers lie between."""
    frame, level = sys._getframe(2), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(("iblearn.", "torch.")):
        frame, level = frame.f_back, level + 1
    return level
