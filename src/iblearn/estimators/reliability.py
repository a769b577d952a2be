"""What a verdict on an estimate reads from its data, and a critic that diverged.

A critic whose loss or estimate is NaN, infinite or beyond what its inputs can hold has diverged
(:func:`not_diverged`, :class:`CriticDivergedError`): training stops with an error. The ceilings an
MI cannot exceed on given data are figures: the entropy of labels (:func:`label_entropy`) or of a
discrete variable (:func:`discrete_ceiling`). Whether an estimate is reliable is decided from these in
one place, :mod:`iblearn.estimation.verdict`, which warns with :class:`UnreliableEstimateWarning`; an
estimator called alone says nothing of it (``reliable=None``, "not checked")."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iblearn.functional.discrete import discrete_entropy


class CriticDivergedError(RuntimeError):
    """The critic's loss or estimate became NaN or Inf, or too large to be anything but divergence."""


#: A loss or estimate beyond this many times the nats that one sample can hold (the smaller of x's and
#: y's: each float is one of 2^bits values; labels, log of the classes; at least 1 nat) is divergence.
#: No bound on a sample can exceed that information; a critic can push a lower bound far below 0, but
#: not 100 times beyond it without having diverged (MINE at lr=1e6 printed -1.8e24 nats, InfoNCE at
#: lr=1e8 -7.7e33).
IMPLAUSIBLE = 100


class UnreliableEstimateWarning(UserWarning):
    """An estimate that cannot be read as one: impossible for the data it came from (below 0 beyond its
    sampling error, above a ceiling), or far below its training value."""


def not_diverged(value: Tensor, limit: float, what: str, steps: int) -> Tensor:
    """``value``, unless it is NaN or Inf or beyond ``limit`` (:func:`plausible`): then ``what`` (the
    estimator's name and the quantity) shows a critic diverged after ``steps`` training steps, and
    :class:`CriticDivergedError` says so; a number would hide it."""
    finite = bool(torch.isfinite(value).all())
    if not (finite and float(value.detach().abs().max()) <= limit):
        beyond = f" (beyond {limit:.6g} nats)" if finite else ""
        raise CriticDivergedError(
            f"{what} is {float(value.detach()):.6g}{beyond} after {steps} training steps; the critic "
            "has diverged"
        )
    return value


def plausible(x: Any, y: Any, y_classes: int | None) -> float:
    """:data:`IMPLAUSIBLE` times the nats one sample of x or y can hold, the smaller: its floats' bits
    (log 2 each), or log of the classes for labels; at least 1 nat."""
    caps = [math.log(y_classes)] if y_classes else []
    for t in (x,) if y_classes else (x, y):
        if isinstance(t, Tensor) and t.is_floating_point() and t.ndim:
            caps.append(t[0].numel() * torch.finfo(t.dtype).bits * math.log(2))
    return IMPLAUSIBLE * max(min(caps, default=math.inf), 1.0)


def label_entropy(y: Any) -> float | None:
    """H(Y) in nats of integer labels ``y`` as observed (plug-in, with Miller and Madow's (m - 1) / 2N
    for the m classes seen, so that it is not below the truth on average), None for anything else: no
    MI with the labels exceeds it."""
    if not isinstance(y, Tensor) or y.is_floating_point() or y.is_complex() or not y.numel():
        return None
    return float(discrete_entropy(y.reshape(len(y), -1).long().cpu(), correction="miller-madow"))


#: A variable with at most this share of distinct rows is taken as discrete (H of its values observed is
#: then a ceiling of its MI with anything); continuous samples have about N distinct rows.
DISCRETE_SHARE = 0.1


def discrete_ceiling(x: Any, y: Any) -> tuple[float, str] | None:
    """The smaller of H(X) and H(Y) in nats (plug-in, with Miller and Madow's correction), over those of
    ``x`` and ``y`` that are discrete: integer labels, or floats with at most :data:`DISCRETE_SHARE` of
    their rows distinct (one-hot labels, a few levels); with its name, ``"H(X)"`` or ``"H(Y)"``. None if
    neither is discrete. No MI exceeds it."""
    ceilings = []
    for name, t in (("H(X)", x), ("H(Y)", y)):
        if not isinstance(t, Tensor) or t.ndim == 0 or not t.numel() or t.is_complex():
            continue
        rows = t.detach().reshape(len(t), -1).cpu()
        if not rows.is_floating_point():
            ceilings.append((float(discrete_entropy(rows.long(), correction="miller-madow")), name))
            continue
        # A row-wise unique sorts whole rows (as long as the estimate itself at N = 1,000): the first
        # column alone, a fraction of that, rules out continuous samples, whose values are all distinct.
        if _many_distinct(rows, DISCRETE_SHARE * len(rows)):
            continue
        values, codes = torch.unique(rows, dim=0, return_inverse=True)
        if len(values) <= DISCRETE_SHARE * len(rows):
            ceilings.append((float(discrete_entropy(codes, correction="miller-madow")), name))
    return min(ceilings, default=None)


def _many_distinct(rows: Tensor, share: float) -> bool:
    """Whether the first column of ``rows`` ``(N, d)`` holds more than ``share`` distinct values. Its
    first ``floor(share) + 1`` values all distinct settle it, by a sort of those alone: continuous
    samples' first values are distinct, and a sort of all N values costs as much as a kNN estimate."""
    if rows.dtype in (torch.float32, torch.float64):
        head = np.sort(rows.numpy()[: math.floor(share) + 1, 0])
        # Sorted, any NaN comes last: ends that are finite leave equal neighbours as the only ties.
        if np.isfinite(head[0]) and np.isfinite(head[-1]) and bool((head[1:] != head[:-1]).all()):
            return True
    return len(torch.unique(rows[:, 0])) > share
