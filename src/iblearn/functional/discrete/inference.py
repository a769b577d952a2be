"""Intervals for the discrete entropy and MI estimators.

NSB's and PYM's intervals are the posterior mean plus or minus z times the posterior sd. Every other
estimator's comes from the bootstrap: the counts drawn again from the multinomial of the observed frequencies
(the same law as drawing the rows with replacement), the estimate plus or minus Student's t times
the resamples' sd (:func:`iblearn.functional.inference.interval`), reaching as far again as the
bootstrap's reading of the estimator's bias: the resamples' mean less the plug-in figure of the observed
frequencies, the value the resamples estimate (Efron & Tibshirani 1993, eq. 10.2). The plug-in entropy
is low by about (K - 1) / (2N), several times its sd where symbols are seen a few times each; an
interval of the spread alone missed the truth in 29 of 40 draws of 50 rows over 20 equally likely
symbols at 95%. For the bias-corrected estimators that reading is near 0 and the interval is the
spread's.

Reference:
    B. Efron, R. Tibshirani. An Introduction to the Bootstrap. Chapman & Hall (1993), ch. 10.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import stats

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn.functional import inference
from iblearn.functional.discrete.entropies import (
    METHODS,
    Method,
    counts_of,
    entropy_of_counts,
    joint_codes,
)
from iblearn.functional.inference import Estimate

#: Bootstrap resamples of the MI by default, and by NSB (three posteriors and a guess of K per
#: resample): the interval's Student's t quantile with R - 1 degrees of freedom carries the resampled
#: sd's own error, so fewer resamples widen the interval (t = 2.01 against 1.97 at 95%) and keep it
#: honest.
RESAMPLES, NSB_RESAMPLES = 200, 50


def _checked(method: str, confidence: float, n_resamples: int, seed: int) -> tuple[int, int]:
    """``n_resamples`` and ``seed`` checked, after ``method`` and ``confidence``."""
    V.choice(method, "method", METHODS)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a probability strictly between 0 and 1, got {confidence!r}")
    return V.positive_int(n_resamples, "n_resamples"), setting("seed", seed)


def _bootstrap(
    value_of: Callable[[np.ndarray], float],
    counts: np.ndarray,
    value: float,
    plugin: float,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> tuple[float, tuple[float, float]]:
    """The sd of ``value_of`` over ``n_resamples`` draws of ``counts`` from the multinomial of their
    frequencies, and the interval it gives ``value`` (:func:`iblearn.functional.inference.interval`),
    reaching as far again as the bias the resamples read: their mean less ``plugin``, the measure of
    the observed frequencies themselves (module notes)."""
    n = int(counts.sum())
    p = counts / n
    draws = [
        value_of(inference.rng(seed, inference.RESAMPLE, i).multinomial(n, p)) for i in range(n_resamples)
    ]
    sd = float(np.std(draws, ddof=1))
    (low, high), _ = inference.interval(value, sd, n_resamples=n_resamples, confidence=confidence)
    bias = float(np.mean(draws)) - plugin
    return sd, (low + min(-bias, 0.0), high + max(-bias, 0.0))


def discrete_entropy_estimate(
    x: Any = None,
    *,
    counts: Any = None,
    method: Method = "nsb",
    alphabet: int | None = None,
    confidence: float = inference.CONFIDENCE,
    n_resamples: int = 200,
    seed: int = 0,
) -> Estimate:
    """H(X) in nats with an interval: NSB's or PYM's posterior (mean +- z sd), or for the other methods the
    bootstrap's (module notes). Arguments as :func:`~iblearn.functional.discrete_entropy`.

    Example:
        >>> est = discrete_entropy_estimate(counts=[5, 3, 2, 2, 1, 1, 0, 0], alphabet=8)
        >>> est.interval[0] < float(est) < est.interval[1]
        True
    """
    n_resamples, seed = _checked(method, confidence, n_resamples, seed)
    alphabet = setting("alphabet", alphabet)
    c = counts_of(x, counts)
    n = int(c.sum())
    value, sd = entropy_of_counts(c, method, alphabet)
    if method in ("nsb", "pym") and sd is not None:
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        top = math.log(alphabet) if alphabet is not None else math.inf
        span = (
            inference.clipped(value - z * sd, value + z * sd, 0.0, top) if math.isfinite(sd) else (0.0, top)
        )
        stderr, how = sd, f"{method.upper()} posterior"
    else:
        entropy = lambda d: entropy_of_counts(d, method, alphabet)[0]  # noqa: E731
        plugin = entropy_of_counts(c, "plugin", alphabet)[0]
        stderr, (low, high) = _bootstrap(entropy, c, value, plugin, n_resamples, seed, confidence)
        span, how = inference.clipped(low, high, 0.0), "bootstrap"
    fields: dict[str, Any] = {
        "stderr": stderr,
        "stderr_method": how,
        "interval": span,
        "confidence": confidence,
    }
    return Estimate(torch.tensor(value, dtype=torch.float64), n, method, measure="entropy", **fields)


def _mi_of_cells(cells: np.ndarray, cx: np.ndarray, cy: np.ndarray, method: str) -> float:
    """I = H(X) + H(Y) - H(X, Y) from the counts of the joint cells and each cell's x and y code."""
    hx = entropy_of_counts(np.bincount(cx, weights=cells).astype(np.int64), method, None)[0]
    hy = entropy_of_counts(np.bincount(cy, weights=cells).astype(np.int64), method, None)[0]
    return hx + hy - entropy_of_counts(cells, method, None)[0]


def discrete_mi_estimate(
    x: Any,
    y: Any,
    *,
    method: Method = "nsb",
    confidence: float = inference.CONFIDENCE,
    n_resamples: int | None = None,
    seed: int = 0,
) -> Estimate:
    """I(X; Y) = H(X) + H(Y) - H(X, Y) in nats of integer symbols, each entropy by ``method``, with the
    bootstrap's interval (rows drawn with replacement, as joint cells drawn from their multinomial).
    NSB's three posteriors are not independent, so their sds do not add up to the MI's: the bootstrap
    gives its interval for every method, from ``n_resamples`` resamples (default ``RESAMPLES``,
    ``NSB_RESAMPLES`` for NSB and PYM; the interval's Student's t quantile allows for their number).

    Example:
        >>> x = torch.arange(200) % 4
        >>> est = discrete_mi_estimate(x, x // 2, method="miller_madow")
        >>> round(float(est), 3)  # log 2 plus the Miller-Madow terms (1 + 3 - 3) / 400
        0.696
    """
    if n_resamples is None:
        n_resamples = NSB_RESAMPLES if method in ("nsb", "pym") else RESAMPLES
    n_resamples, seed = _checked(method, confidence, n_resamples, seed)
    codes_x, codes_y = joint_codes(("x", x), ("y", y))
    joint = torch.stack([codes_x, codes_y], dim=1).cpu()
    pairs, cells = torch.unique(joint, dim=0, return_counts=True)
    cx, cy, c = pairs[:, 0].numpy(), pairs[:, 1].numpy(), cells.numpy().astype(np.int64)
    value = _mi_of_cells(c, cx, cy, method)
    plugin = _mi_of_cells(c, cx, cy, "plugin")
    sd, span = _bootstrap(
        lambda d: _mi_of_cells(d, cx, cy, method), c, value, plugin, n_resamples, seed, confidence
    )
    fields: dict[str, Any] = {
        "stderr": sd,
        "stderr_method": "bootstrap",
        "interval": span,
        "confidence": confidence,
    }
    return Estimate(torch.tensor(value, dtype=torch.float64), int(c.sum()), method, measure="mi", **fields)
