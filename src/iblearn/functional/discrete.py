"""Plug-in entropy and MI of discrete variables, and the binning that turns a continuous layer into one.

The binning estimator of the information plane (Shwartz-Ziv & Tishby 2017) discretizes each unit of a
layer and treats every distinct row of bin indices as one symbol. Its bins are set from the data
(the layer's range, or its quantiles), never from a fixed interval such as [-1, 1], which fits tanh
but silently saturates ReLU layers (Saxe et al. 2018).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional._scale import power_of_two_scale

Correction = Literal["none", "miller-madow"]
Strategy = Literal["uniform", "quantile"]


#: The most classes a floating-point column may hold to be read as class labels (:func:`class_codes`).
MAX_CLASSES = 20


def class_codes(y: Any, name: str = "y") -> Tensor | None:
    """``y``'s classes as codes 0..C-1 (in sorted order of its distinct rows) where ``y`` reads as class
    labels, else None. Labels are bool or integer, or floats whose values are all integral with at most
    :data:`MAX_CLASSES` distinct rows and 2 rows or more a class on average (a float target of many
    integral levels, such as a count, is a quantity). Each row of ``(N, d)`` is one label.

    Example:
        >>> class_codes(torch.tensor([3.0, 1.0, 3.0, 1.0])).tolist()
        [1, 0, 1, 0]
        >>> class_codes(torch.tensor([0.5, 1.0, 0.5, 1.0])) is None
        True
    """
    t = V.as_tensor(y, name)
    rows = t.reshape(len(t), -1)
    floats = t.is_floating_point()
    head = rows[:64]  # continuous values show a fraction in the first rows: no pass over all of them
    if floats and not (torch.equal(head, head.round()) and torch.equal(rows, rows.round())):
        return None
    if floats and not bool(torch.isfinite(rows).all()):
        return None
    classes, codes = torch.unique(rows, dim=0, return_inverse=True)
    if floats and len(classes) > min(MAX_CLASSES, len(rows) // 2):
        return None
    return codes


def row_codes(t: Tensor) -> Tensor:
    """One code per distinct row of an integer matrix ``(N, d)``, 0 to (distinct rows - 1): column by
    column, the codes so far times the next column's count plus its code, made dense again (a unique of
    integers per column: ``torch.unique(t, dim=0)`` sorts rows lexicographically, tens of times slower)."""
    codes = torch.zeros(len(t), dtype=torch.long, device=t.device)
    for column in t.T:
        _, inverse = torch.unique(column, return_inverse=True)
        _, codes = torch.unique(codes * (int(inverse.max()) + 1) + inverse, return_inverse=True)
    return codes


def _entropy_of_codes(codes: Tensor, correction: Correction) -> Tensor:
    counts = torch.bincount(codes).to(torch.float64)
    counts = counts[counts > 0]
    n = counts.sum()
    p = counts / n
    h = -(p * torch.log(p)).sum()
    if correction == "miller-madow":
        h = h + (counts.numel() - 1) / (2 * n)
    return h


def discrete_entropy(x: Any, *, correction: Correction = "none") -> Tensor:
    """Plug-in entropy H(X) in nats of integer symbols ``(N,)`` or ``(N, d)`` (each row one outcome).

    ``correction="miller-madow"`` adds (m - 1) / (2N), m the number of observed outcomes, which removes
    the first-order bias of the plug-in estimate (Miller 1955).

    Example:
        >>> round(float(discrete_entropy(torch.tensor([0, 1, 2, 3]))), 4)  # log 4
        1.3863
    """
    V.choice(correction, "correction", ("none", "miller-madow"))
    return _entropy_of_codes(row_codes(V.symbols(x, "x")), correction)


def discrete_mi(x: Any, y: Any, *, correction: Correction = "none") -> Tensor:
    """Plug-in I(X; Y) = H(X) + H(Y) - H(X, Y) in nats of integer symbols (rows are outcomes).

    With ``correction="miller-madow"`` each entropy is corrected. Always within
    [0, min(H(X), H(Y))] for the plug-in form.

    Example:
        >>> x = torch.tensor([0, 0, 1, 1])
        >>> round(float(discrete_mi(x, x)), 4), round(float(discrete_mi(x, torch.tensor([0, 1, 0, 1]))), 4)
        (0.6931, 0.0)
    """
    V.choice(correction, "correction", ("none", "miller-madow"))
    xs, ys = V.symbols(x, "x"), V.symbols(y, "y")
    V.same_length(("x", xs), ("y", ys))
    V.same_device(("x", xs), ("y", ys))
    cx, cy = row_codes(xs), row_codes(ys)
    joint = cx * (int(cy.max()) + 1) + cy
    hx, hy = _entropy_of_codes(cx, correction), _entropy_of_codes(cy, correction)
    hxy = _entropy_of_codes(torch.unique(joint, return_inverse=True)[1], correction)
    return hx + hy - hxy


def bin_values(
    x: Any,
    n_bins: int = 30,
    *,
    strategy: Strategy = "uniform",
    value_range: tuple[float, float] | None = None,
) -> Tensor:
    """Bin a continuous ``(N, d)`` sample into integer codes ``(N, d)``.

    Args:
        x: floating-point samples.
        n_bins: bins per unit (Shwartz-Ziv & Tishby used 30).
        strategy: ``"uniform"``: equal-width bins over ``value_range`` (default: the sample's min to max
            over all units, so units of one layer share bins); ``"quantile"``: equal-mass bins per unit,
            from that unit's empirical quantiles (adaptive binning).
        value_range: ``(low, high)`` for ``"uniform"``; values outside go to the end bins.

    Example:
        >>> bin_values(torch.tensor([[0.0], [0.5], [1.0]]), n_bins=2).flatten().tolist()
        [0, 1, 1]
    """
    n_bins = V.positive_int(n_bins, "n_bins")
    V.choice(strategy, "strategy", ("uniform", "quantile"))
    t = V.continuous(x, "x").to(torch.float64)
    if strategy == "quantile":
        if value_range is not None:
            raise ValueError("value_range: only used with strategy='uniform'")
        # Each unit's quantiles, interpolated linearly between order statistics as torch.quantile does
        # (which refuses inputs of more than 2^24 values: 60,000 activations of 280 units).
        pos = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64, device=t.device)[1:-1] * (len(t) - 1)
        below = pos.floor().long()
        ordered = t.sort(dim=0).values
        inner = torch.lerp(ordered[below], ordered[(below + 1).clamp_max(len(t) - 1)], (pos - below)[:, None])
        return torch.searchsorted(inner.T.contiguous(), t.T.contiguous(), right=True).T
    lo, hi = (float(t.min()), float(t.max())) if value_range is None else value_range
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"value_range: must be finite, got {value_range}")
    if not hi > lo:
        if value_range is not None:
            raise ValueError(f"value_range: high must exceed low, got {value_range}")
        return torch.zeros_like(t, dtype=torch.long)  # a constant layer is one bin
    # Edges and values over an exact power of two: hi - lo overflows from 9e307 (every value in one bin).
    scale = float(power_of_two_scale(torch.tensor([lo, hi], dtype=torch.float64)))
    inner = torch.linspace(lo / scale, hi / scale, n_bins + 1, dtype=torch.float64, device=t.device)[1:-1]
    return torch.bucketize((t / scale).contiguous(), inner, right=True)
