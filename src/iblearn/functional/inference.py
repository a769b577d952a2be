"""One inference core: how rows are resampled, how a standard error, a bias and an interval come from
the resamples, and how a permutation null gives a p-value, for every measure (MI, conditional MI,
transfer entropy, the measures among many variables) and every estimator object.

**One seeded scheme.** Draw ``i`` of stream ``s`` (resamples, subsamples, permutations) comes from its
own generator, ``numpy.random.default_rng([seed, s, i])`` (numpy's ``SeedSequence``), so a draw does not
depend on how many came before it, on the order they run in, or on the jobs that run them.

**Resampling**, by what the estimator tolerates (:func:`resample_rows`):

* ``"half"``: the half-sampling (delete-N/2) jackknife, random halves without replacement, for kNN
  estimators: a bootstrap's repeated rows are zero distances that corrupt their neighbour counts (Shao
  & Wu 1989). The variance is the halves' variance times ``kept / (N - kept)`` = 1.
* ``"bootstrap"``: rows drawn with replacement, where repeats are harmless (closed forms, plug-ins).
* ``"block"``: half-sampling of blocks for series: the samples cut in blocks of successive samples
  and half of the blocks kept (the blockwise jackknife of Kuensch 1989, as subsampling), which keeps the
  dependence between successive samples that a row-wise draw breaks and, drawing without replacement,
  repeats no row. A block is about ``N^(1/3)`` samples, or as long as a slowly mixing series needs
  (:func:`iblearn.functional.serial.series_blocks`, from its autocorrelation).

**The interval** (:func:`interval`) is bias-aware: the resamples of half the rows say how the estimate
moves with N (a kNN estimate of dependence in several dimensions is low by a bias that shrinks with
N), and the interval is centred where that trend points, widened by its uncertainty, rather than two
standard errors around a biased value. Its coverage is measured on tasks with exact answers by
``benchmarks/calibration.py`` (the guide's reliability page gives the table).

References:
    J. Shao, C. F. J. Wu. A general theory for jackknife variance estimation. Ann. Statist. 17, 1176
    (1989).
    H. Kuensch. The jackknife and the bootstrap for general stationary observations. Ann. Statist. 17,
    1217 (1989).
    J. Runge. Conditional independence testing based on a nearest-neighbor estimator of conditional
    mutual information. AISTATS 2018: the local permutation null.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from iblearn.functional.result import Bound as Bound
from iblearn.functional.result import Estimate as Estimate
from iblearn.functional.result import Report as Report
from iblearn.functional.result import unit_name as unit_name

Scheme = Literal["half", "bootstrap", "block"]
SCHEMES: tuple[Scheme, ...] = ("half", "bootstrap", "block")
#: The streams of derived seeds: one for resamples, one for permutations, one for subsamples.
RESAMPLE, PERMUTATION, SUBSAMPLE = 0, 1, 2
#: Confidence of an interval unless a call asks for another.
CONFIDENCE = 0.95


def rng(seed: int, stream: int, i: int) -> np.random.Generator:
    """The generator of draw ``i`` of ``stream`` under ``seed`` (see the module's notes)."""
    return np.random.default_rng([seed % 2**64, stream, i])


def block_length(n: int) -> int:
    """The block of a series of n samples: about n^(1/3) (the order that balances a blockwise
    variance estimate's bias and variance, Kuensch 1989), at least 1."""
    return max(1, round(n ** (1 / 3)))


def resample_rows(n: int, scheme: Scheme, seed: int, i: int, block: int | None = None) -> np.ndarray:
    """The rows of resample ``i`` of ``n`` rows under ``scheme``: ``n // 2`` distinct rows (``"half"``),
    ``n`` rows drawn with replacement (``"bootstrap"``), or half of the blocks of ``block`` (by default
    :func:`block_length`) successive rows, in order (``"block"``)."""
    g = rng(seed, RESAMPLE, i)
    if scheme == "half":
        return g.permutation(n)[: n // 2]
    if scheme == "bootstrap":
        return g.integers(0, n, n)
    size = block_length(n) if block is None else max(1, min(int(block), n))
    blocks = -(-n // size)
    kept = np.sort(g.permutation(blocks)[: blocks // 2])
    rows = (kept[:, None] * size + np.arange(size)[None, :]).reshape(-1)
    return rows[rows < n]


def circular_shifts(n: int, count: int, seed: int, least: int) -> np.ndarray:
    """``count`` circular shifts of a series of ``n`` steps, each at least ``least`` steps from the
    alignment either way (shift i drawn from its own generator of the permutation stream): the
    surrogates of a series null that keep each series whole and break only their alignment.

    Raises:
        ValueError: naming ``n_permutations``, where the series is too short for any such shift.
    """
    if n - 2 * least < 1:
        raise ValueError(
            f"n_permutations: a series of {n} steps has no circular shift of {least} or more either way"
        )
    return np.array([least + rng(seed, PERMUTATION, i).integers(0, n - 2 * least + 1) for i in range(count)])


def scheme_name(scheme: Scheme) -> str:
    """How a standard error from ``scheme`` is described."""
    return {"half": "half-sampling jackknife", "bootstrap": "bootstrap", "block": "blockwise jackknife"}[
        scheme
    ]


@dataclass(frozen=True)
class Resampled:
    """What the resamples of an estimate say of it, in the estimate's units.

    Attributes:
        stderr: the standard error.
        method: how it was found (:func:`scheme_name`).
        half: the mean of the estimates on half the rows (``"half"`` and ``"block"``; else None): the
            estimate's trend with N, from which :func:`interval` reads its bias.
        n_resamples: how many resamples.
    """

    stderr: float
    method: str
    half: float | None
    n_resamples: int


def summarize(values: Sequence[float], n: int, scheme: Scheme, *, constant: bool = False) -> Resampled:
    """The standard error (and for ``"half"`` and ``"block"`` the half-data mean) from the estimates on
    resamples of ``n`` rows under ``scheme``.

    Raises:
        ValueError: naming ``n_resamples``, where every resample gives the same estimate (halves of 4
            rows with k = 3, say), that is no standard error at all; unless ``constant`` says a
            constant is possible (a PID part that is 0 by construction).
    """
    v = np.asarray(values, dtype=np.float64)
    sd = float(v.std(ddof=1)) if len(v) > 1 else math.nan
    if len(v) > 1 and sd == 0 and not constant:
        raise ValueError(
            f"n_resamples: every resample of the {n} rows gives the same estimate, {v[0]:.4g}: too few rows "
            "for a resampled standard error"
        )
    if scheme == "bootstrap":
        return Resampled(sd, scheme_name(scheme), None, len(v))
    # Delete-d jackknife variance: (N - d) / d times the spread of the subsample estimates (half the
    # rows, or half the blocks: d = N / 2 either way).
    return Resampled(sd, scheme_name(scheme), float(v.mean()), len(v))


def resampled(
    estimate: Callable[[np.ndarray], float],
    n: int,
    n_resamples: int,
    scheme: Scheme,
    seed: int,
    block: int | None = None,
) -> Resampled:
    """:func:`summarize` of ``estimate(rows)`` on ``n_resamples`` resamples of ``n`` rows (``block``: as
    for :func:`resample_rows`)."""
    values = []
    for i in range(n_resamples):
        rows = resample_rows(n, scheme, seed, i, block)
        try:
            values.append(estimate(rows))
        except ValueError as err:  # the whole sample passed its checks; a resample of it did not
            what = {"half": "half-sample", "bootstrap": "bootstrap resample", "block": "half of the blocks"}
            raise ValueError(f"n_resamples: a {what[scheme]} of {len(rows)} of the {n} rows: {err}") from err
    return summarize(values, n, scheme)


#: Standard errors beyond which the bias an estimate's trend with N allows makes it unreliable
#: (:func:`bias_caveat`): within them, the calibration tasks' intervals keep their coverage
#: (docs/design.md, "Measurements behind the code").
BIAS_SES = 2.0


def interval(
    value: float,
    stderr: float,
    *,
    half: float | None = None,
    n_resamples: int = 0,
    confidence: float = CONFIDENCE,
    floor: float = -math.inf,
    ceiling: float = math.inf,
) -> tuple[tuple[float, float], float]:
    """The bias-aware interval of an estimate, and the bias it assumes (estimate minus truth).

    With ``half``, the mean of the estimates on half the rows, the estimate's trend with N is
    ``t = value - half``. A bias that shrinks as N^-a leaves ``t / (2^a - 1)`` between the estimate and
    its limit: t at a = 1, 2.41 t at a = 1/2 (kNN estimators' bias in a few dimensions decays at such
    rates or slower). The interval spans the estimate moved by 0 to 2.41 t, widened on each side by the
    quantile of Student's t with ``n_resamples - 1`` degrees of freedom (a standard error from R
    resamples is itself uncertain) times the standard error; clipped to ``[floor, ceiling]``.
    Without ``half``, it is the estimate plus or minus that many standard errors.

    Returns:
        ``((low, high), bias)``: ``bias`` is ``-t``, the a = 1 reading (0 without ``half``).

    Example:
        >>> (low, high), bias = interval(1.0, 0.02, half=0.9, n_resamples=50)
        >>> round(low, 3), round(high, 3), round(bias, 3)  # the estimate grows with N: the truth is above
        (0.96, 1.282, -0.1)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a probability strictly between 0 and 1, got {confidence!r}")
    q = 0.5 + confidence / 2
    z = float(stats.t.ppf(q, n_resamples - 1)) if n_resamples > 1 else float(stats.norm.ppf(q))
    trend = 0.0 if half is None else value - half
    far = (1 + math.sqrt(2)) * trend
    low = value + min(far, 0.0) - z * stderr
    high = value + max(far, 0.0) + z * stderr
    low, high = min(max(low, floor), ceiling), max(min(high, ceiling), floor)
    return (low, high), -trend


def bias_caveat(value: float, stderr: float, half: float | None, n_resamples: int) -> str | None:
    """Why an estimate is not reliable for its bias, or None: where the bias its trend with N allows
    (2.41 ``|value - half|``, see :func:`interval`) exceeds :data:`BIAS_SES` standard errors, and the
    trend itself exceeds the noise of a mean of ``n_resamples`` halves (two of ``stderr / sqrt(R)``),
    the estimate still moves with N by more than its sampling error, and how far it has to go is a
    guess."""
    if half is None or n_resamples < 2:
        return None
    far = (1 + math.sqrt(2)) * (value - half)
    if abs(far) <= BIAS_SES * stderr or abs(value - half) <= 2 * stderr / math.sqrt(n_resamples):
        return None
    return (
        f"the estimate still moves with N (half the rows read {half:.4g}, all {value:.4g}): a bias of up to "
        f"{abs(far):.2g} nats may remain, more than {BIAS_SES:g} standard errors ({stderr:.2g}); use more "
        "rows, fewer dimensions, or an estimator that fits the data"
    )


#: Robust standard deviations (1.4826 median absolute deviations) from a column's median beyond which a
#: row is in its tail: 6e-7 of a Gaussian's rows lie there, 12% of a Cauchy's.
TAIL_SDS = 5.0
#: Share of a column's rows in its tail from which it is heavy-tailed: estimates on such raw rows read
#: low while their intervals stay narrow (docs/design.md, "Measurements behind the code").
TAIL_SHARE = 0.01


def heavy_tails(samples: Sequence[Any], names: Sequence[str]) -> str | None:
    """Why the rows of ``samples`` (arrays or tensors, rows first) are too heavy-tailed for an estimate
    on them to be reliable, or None: where more than :data:`TAIL_SHARE` of a column's rows lie beyond
    :data:`TAIL_SDS` robust standard deviations of its median. Integer (label) samples are skipped. The
    remedy is an estimate on each column's normal scores (ranks), which no monotone map changes."""
    for sample, name in zip(samples, names, strict=True):
        t = np.asarray(sample.detach().cpu() if hasattr(sample, "detach") else sample)
        if t.dtype.kind != "f" or t.size == 0:
            continue
        cols = t.reshape(len(t), -1)
        median = np.median(cols, axis=0)
        spread = 1.4826 * np.median(np.abs(cols - median), axis=0)
        spread[spread == 0] = math.inf  # a column mostly on one value: a point mass, not a tail
        share = (np.abs(cols - median) > TAIL_SDS * spread).mean(axis=0)
        if share.max() > TAIL_SHARE:
            return (
                f"{name} is heavy-tailed ({share.max():.1%} of a column's rows beyond {TAIL_SDS:g} robust "
                "standard deviations): an estimate on the raw rows is biased by the tails and its interval "
                "does not cover; estimate on normal scores (iblearn.estimate_mi does) instead"
            )
    return None


def p_value(observed: float, nulls: Sequence[float], *, two_sided: bool = False) -> float:
    """The permutation p-value ``(1 + #{null >= observed}) / (1 + n)`` (by absolute value where
    ``two_sided``): never 0, as the observed arrangement is one of the arrangements."""
    v = np.asarray(nulls, dtype=np.float64)
    hits = np.abs(v) >= abs(observed) if two_sided else v >= observed
    return float((1 + hits.sum()) / (1 + len(v)))
