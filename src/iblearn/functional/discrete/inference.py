"""Intervals for the discrete entropy and MI estimators, and the rule that chooses an estimator from
the sample's coincidence regime.

NSB's and PYM's intervals are the posterior mean plus or minus z times the posterior sd. Every other
estimator's comes from the bootstrap: the counts drawn again from the multinomial of the observed frequencies
(the same law as drawing the rows with replacement), the estimate plus or minus Student's t times
the resamples' sd (:func:`iblearn.functional.inference.interval`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import stats

from iblearn import _checks as V
from iblearn.functional import inference
from iblearn.functional.discrete.entropies import (
    METHODS,
    Method,
    counts_of,
    entropy_of_counts,
    joint_codes,
)
from iblearn.functional.inference import Estimate

#: Unseen mass (Good-Turing, f1 / N) and samples a symbol seen beyond which a sample with K unknown is
#: well sampled (:func:`choose_discrete_method`).
WELL_SAMPLED_UNSEEN, WELL_SAMPLED_RATIO = 0.01, 10.0
#: Singletons over the symbols seen (f1 / m) from which the counts read as a power-law tail: a
#: Pitman-Yor sample's f1 / m tends to its discount (0.9 for Zipf 1.1), a Dirichlet's falls to 0 as
#: it is sampled (:func:`choose_discrete_method` takes PYM there).
HEAVY_TAIL = 0.5
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
    return V.positive_int(n_resamples, "n_resamples"), V.seed(seed)


def _bootstrap(
    value_of: Callable[[np.ndarray], float],
    counts: np.ndarray,
    value: float,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> tuple[float, tuple[float, float]]:
    """The sd of ``value_of`` over ``n_resamples`` draws of ``counts`` from the multinomial of their
    frequencies, and the interval it gives ``value`` (:func:`iblearn.functional.inference.interval`)."""
    n = int(counts.sum())
    p = counts / n
    draws = [
        value_of(inference.rng(seed, inference.RESAMPLE, i).multinomial(n, p)) for i in range(n_resamples)
    ]
    sd = float(np.std(draws, ddof=1))
    span, _ = inference.interval(value, sd, n_resamples=n_resamples, confidence=confidence)
    return sd, span


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
    if alphabet is not None:
        alphabet = V.positive_int(alphabet, "alphabet")
    c = counts_of(x, counts)
    n = int(c.sum())
    value, sd = entropy_of_counts(c, method, alphabet)
    if method in ("nsb", "pym") and sd is not None:
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        top = math.log(alphabet) if alphabet is not None else math.inf
        span = (max(value - z * sd, 0.0), min(value + z * sd, top)) if math.isfinite(sd) else (0.0, top)
        stderr, how = sd, f"{method.upper()} posterior"
    else:
        entropy = lambda d: entropy_of_counts(d, method, alphabet)[0]  # noqa: E731
        stderr, (low, high) = _bootstrap(entropy, c, value, n_resamples, seed, confidence)
        span, how = (max(low, 0.0), high), "bootstrap"
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
    sd, span = _bootstrap(lambda d: _mi_of_cells(d, cx, cy, method), c, value, n_resamples, seed, confidence)
    fields: dict[str, Any] = {
        "stderr": sd,
        "stderr_method": "bootstrap",
        "interval": span,
        "confidence": confidence,
    }
    return Estimate(torch.tensor(value, dtype=torch.float64), int(c.sum()), method, measure="mi", **fields)


def choose_discrete_method(counts: Any, alphabet: int | None = None) -> tuple[str, str]:
    """The entropy estimator for a sample's counts, by its coincidence regime, and one sentence why.

    With N samples, m distinct symbols and f1 singletons: where no symbol repeats, no estimator can
    tell the entropy from the sample (it is at least about log N): ``"nsb"`` if K is known (the prior
    over K symbols decides, with a wide interval), else the plug-in (log N), with a warning either
    way. Where symbols repeat and K is known, ``"nsb"``: on the discrete benchmark's Dirichlet draws
    (``benchmarks/results/discrete``) its RMSE is the least or close to it from 100 to 10^6 symbols
    and 100 to 10^5 samples, and its posterior gives an interval. With K unknown: where each symbol is
    seen ``WELL_SAMPLED_RATIO`` times on average and the unseen mass f1 / N (Good-Turing) is under
    ``WELL_SAMPLED_UNSEEN``, ``"cwj"`` (Chao, Wang & Jost: on those cells its RMSE is at or below
    Miller-Madow's, which falls behind where many rare symbols hold a little mass each); otherwise
    ``"nsb"`` with K guessed from the sample, or ``"pym"`` where at least :data:`HEAVY_TAIL` of the
    symbols seen are seen once (a power-law tail: on the power-law benchmark,
    ``benchmarks/results/pym_powerlaw``, PYM's interval covered 64% of the draws and NSB's 41%).

    Example:
        >>> choose_discrete_method([500, 300, 200])[0]
        'cwj'
        >>> choose_discrete_method([3, 1, 2, 3, 1, 2, 2, 1, 3, 2])[0]
        'nsb'
        >>> choose_discrete_method([3, 1, 2, 1, 1, 2, 1, 1, 1, 1])[0]
        'pym'
    """
    c = counts_of(counts=counts)
    n, m = int(c.sum()), int((c > 0).sum())
    f1 = int((c == 1).sum())
    if n == m:
        warnings.warn(
            f"counts: no symbol repeats among {n} samples: the entropy is not identified (at least about "
            f"log N = {math.log(n):.3g} nats)",
            stacklevel=2,
        )
        if alphabet is not None:
            return "nsb", f"no coincidences among N = {n}: NSB's prior over K = {alphabet} symbols decides"
        return "plugin", f"no coincidences among N = {n}: the sample gives log N and no more"
    if alphabet is not None:
        return "nsb", (
            f"K = {alphabet} known and {n - m} coincidences among N = {n}: NSB's posterior over K symbols, "
            "with an interval"
        )
    if n >= WELL_SAMPLED_RATIO * m and f1 / n <= WELL_SAMPLED_UNSEEN:
        return "cwj", (
            f"well sampled: N = {n} is {n / m:.3g} times the {m} symbols seen and the unseen mass f1/N is "
            f"{f1 / n:.2g}: Chao-Wang-Jost's correction, with the unseen symbols' share from f1 and f2"
        )
    if f1 >= HEAVY_TAIL * m:
        return "pym", (
            f"heavy tail: {f1} of the {m} symbols seen are seen once (f1/m = {f1 / m:.2g}), as a power law "
            "keeps finding new ones: PYM's Pitman-Yor prior describes such a tail, with an interval"
        )
    return "nsb", (
        f"undersampled: N = {n} over {m} symbols seen with {n - m} coincidences and unseen mass f1/N = "
        f"{f1 / n:.2g}: NSB's posterior (K guessed) uses the coincidences and gives an interval"
    )
