"""One inference core: how rows are resampled, how a standard error, a bias and an interval come from
the resamples, and how a permutation null gives a p-value, for every measure (MI, conditional MI,
transfer entropy, the measures among many variables) and every estimator object.

**One seeded scheme.** Draw ``i`` of stream ``s`` (resamples, subsamples, permutations) comes from its
own generator, ``numpy.random.default_rng([seed, s, i])`` (numpy's ``SeedSequence``), so a draw does not
depend on how many came before it, on the order they run in, or on the jobs that run them.

**Resampling**, by what the estimator tolerates (:func:`resample_rows`):

* ``"half"``: half-sampling, for kNN estimators (a bootstrap's repeated rows are zero distances that
  corrupt their neighbour counts): the rows split at random in two halves, resamples ``2s`` and
  ``2s + 1`` the two halves of split ``s``, so that resamples come in complementary pairs.
* ``"bootstrap"``: rows drawn with replacement, where repeats are harmless (closed forms, plug-ins).
* ``"block"``: half-sampling of blocks for series: the samples cut in blocks of successive samples,
  each split of the blocks in two halves giving two resamples (the blockwise jackknife of Kuensch 1989,
  as subsampling), which keeps the dependence between successive samples that a row-wise draw breaks
  and, drawing without replacement, repeats no row. A block is about ``N^(1/3)`` samples, or as long as a
  slowly mixing series needs (:func:`iblearn.functional.serial.series_blocks`, from its
  autocorrelation).

**The standard error from halves** (:func:`summarize`) is read within the complementary pairs:
``Var(theta_N) = mean over splits of (h_1 - h_2)^2 / 4``, one degree of freedom a split. Two disjoint
halves are two independent estimates on N / 2 rows, so ``E (h_1 - h_2)^2 = 2 Var(theta_{N/2})``, and
where the variance falls as 1/N (``Var(theta_{N/2}) = 2 Var(theta_N)``) the pair's spread over 4 is
``Var(theta_N)``, whatever the estimator. The spread of halves drawn independently of each other (the
delete-N/2 jackknife of Shao & Wu 1989, ``kept / (N - kept) = 1`` times the halves' variance) is not: by
the law of total variance it reads ``Var(theta_{N/2}) - Var(E[theta_{N/2} | sample])``, which is
``Var(theta_N)`` for a smooth function of means (the second term is then ``Var(theta_N)`` too) but up to
``2 Var(theta_N)`` for an estimator whose error is mostly the noise of local counts that averaging over
halves removes (a kNN estimator's ``psi(n_x)`` terms): its standard error reads up to ``sqrt(2)`` times
the spread over samples (the guide's reliability page gives the figures).

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
#: The streams of derived seeds: one for resamples, one for permutations, one for subsamples, one for
#: samples of a reference distribution.
RESAMPLE, PERMUTATION, SUBSAMPLE, REFERENCE = 0, 1, 2, 3
#: Confidence of an interval unless a call asks for another.
CONFIDENCE = 0.95


def rng(seed: int, stream: int, i: int) -> np.random.Generator:
    """The generator of draw ``i`` of ``stream`` under ``seed`` (see the module's notes)."""
    return np.random.default_rng([seed % 2**64, stream, i])


def block_length(n: int) -> int:
    """The block of a series of n samples: about n^(1/3) (the order that balances a blockwise
    variance estimate's bias and variance, Kuensch 1989), at least 1."""
    return max(1, round(n ** (1 / 3)))


def resample_rows(
    n: int,
    scheme: Scheme,
    seed: int,
    i: int,
    block: int | None = None,
    units: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """The rows of resample ``i`` of ``n`` rows under ``scheme``: ``n // 2`` distinct rows (``"half"``),
    ``n`` rows drawn with replacement (``"bootstrap"``), or half of the blocks of ``block`` (by default
    :func:`block_length`) successive rows, in order (``"block"``; with ``units``, half of those blocks
    of rows instead, as :func:`iblearn.functional.serial.trial_blocks` lays them within trials); for
    ``"half"`` and ``"block"``, resamples ``2s`` and ``2s + 1`` are disjoint, the two halves of one
    split."""
    if scheme == "bootstrap":
        return rng(seed, RESAMPLE, i).integers(0, n, n)
    # Resamples 2s and 2s + 1: the two halves of split s (the module's notes).
    g, second = rng(seed, RESAMPLE, i // 2), i % 2
    if scheme == "half":
        return g.permutation(n)[second * (n // 2) : (second + 1) * (n // 2)]
    if units is not None:
        m = len(units)
        kept = np.sort(g.permutation(m)[second * (m // 2) : (second + 1) * (m // 2)])
        return np.concatenate([units[j] for j in kept]) if len(kept) else np.empty(0, dtype=np.int64)
    size = block_length(n) if block is None else max(1, min(int(block), n))
    blocks = -(-n // size)
    kept = np.sort(g.permutation(blocks)[second * (blocks // 2) : (second + 1) * (blocks // 2)])
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
        dof: the degrees of freedom of the standard error: one a complementary pair of halves, one fewer
            than the resamples for the bootstrap.
    """

    stderr: float
    method: str
    half: float | None
    n_resamples: int
    dof: int = 0


def summarize(values: Sequence[float], n: int, scheme: Scheme, *, constant: bool = False) -> Resampled:
    """The standard error (and for ``"half"`` and ``"block"`` the half-data mean) from the estimates on
    resamples of ``n`` rows under ``scheme``, in the order :func:`resample_rows` draws them.

    For ``"half"`` and ``"block"``, ``values[2s]`` and ``values[2s + 1]`` are the two halves of split s,
    and the variance is ``sum_s (values[2s] - values[2s + 1])^2 / (4 S)`` over the S complete pairs (the
    module's notes: unbiased wherever the variance falls as 1/N); for ``"bootstrap"``, the resamples'
    variance.

    Raises:
        ValueError: naming ``n_resamples``, where every resample gives the same estimate (halves of 4
            rows with k = 3, say), that is no standard error at all; unless ``constant`` says a
            constant is possible (a PID part that is 0 by construction).
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) > 1 and float(v.std()) == 0 and not constant:
        raise ValueError(
            f"n_resamples: every resample of the {n} rows gives the same estimate, {v[0]:.4g}: too few rows "
            "for a resampled standard error"
        )
    if scheme == "bootstrap":
        sd = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        return Resampled(sd, scheme_name(scheme), None, len(v), max(len(v) - 1, 0))
    pairs = len(v) // 2
    gaps = v[0 : 2 * pairs : 2] - v[1 : 2 * pairs : 2]
    sd = math.sqrt(float(np.mean(gaps**2)) / 4) if pairs else math.nan
    return Resampled(sd, scheme_name(scheme), float(v.mean()), len(v), pairs)


def resampled(
    estimate: Callable[[np.ndarray], float],
    n: int,
    n_resamples: int,
    scheme: Scheme,
    seed: int,
    block: int | None = None,
    units: Sequence[np.ndarray] | None = None,
) -> Resampled:
    """:func:`summarize` of ``estimate(rows)`` on ``n_resamples`` resamples of ``n`` rows (``block``,
    ``units``: as for :func:`resample_rows`).

    Raises:
        ValueError: naming ``n_resamples``, where a resample's estimate raises one, or is not finite
            (a Gaussian estimate of a bootstrap resample with fewer distinct rows than dimensions).
    """
    what = {"half": "half-sample", "bootstrap": "bootstrap resample", "block": "half of the blocks"}[scheme]
    values = []
    for i in range(n_resamples):
        rows = resample_rows(n, scheme, seed, i, block, units)
        try:
            values.append(estimate(rows))
        except ValueError as err:  # the whole sample passed its checks; a resample of it did not
            raise ValueError(f"n_resamples: a {what} of {len(rows)} of the {n} rows: {err}") from err
        if not math.isfinite(values[-1]):
            # Fewer distinct rows than the estimate needs (a bootstrap resample repeats rows): no spread
            # of such values is a standard error.
            raise ValueError(
                f"n_resamples: a {what} of {len(rows)} of the {n} rows reads {values[-1]}, with "
                f"{len(np.unique(rows))} distinct rows: too few rows for a resampled standard error"
            )
    return summarize(values, n, scheme)


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

    With ``half``, the mean of the estimates on ``n_resamples`` halves (complementary pairs, see
    :func:`summarize`), the estimate's trend with N is ``t = value - half``. A bias that shrinks as
    N^-a leaves ``t / (2^a - 1)`` between the estimate and its limit: t at a = 1, 2.41 t at a = 1/2
    (kNN estimators' bias in a few dimensions decays at such rates or slower). The mean of R halves
    is itself noisy: each pair's mean varies about its expectation by at most ``stderr`` (two
    independent estimates on N / 2 rows, each of variance ``2 stderr^2``), so ``half`` by at most
    ``s_t = stderr sqrt(2 / R)``; only the trend beyond that noise, ``t' = sign(t) max(0, |t| - s_t)``,
    is read as bias, as a gap between two estimates is read beyond its sampling error. The interval
    spans the estimate moved by 0 to 2.41 t', widened on each side by the quantile of Student's t
    with ``R / 2`` degrees of freedom (one a pair: a standard error from few pairs is itself uncertain)
    times the standard error; held within ``[floor, ceiling]`` by :func:`clipped` (its top at least
    its half-width above the floor). Without ``half`` (the bootstrap), it is the estimate plus or minus
    the quantile with ``R - 1`` degrees of freedom times the standard error.

    Returns:
        ``((low, high), bias)``: ``bias`` is ``-t``, the a = 1 reading (0 without ``half``).

    Example:
        >>> (low, high), bias = interval(1.0, 0.02, half=0.9, n_resamples=50)
        >>> round(low, 3), round(high, 3), round(bias, 3)  # the estimate grows with N: the truth is above
        (0.959, 1.273, -0.1)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a probability strictly between 0 and 1, got {confidence!r}")
    q = 0.5 + confidence / 2
    dof = n_resamples - 1 if half is None else n_resamples // 2
    z = float(stats.t.ppf(q, dof)) if dof >= 1 else float(stats.norm.ppf(q))
    trend = 0.0 if half is None else value - half
    far = _reach(trend, stderr, n_resamples)
    low = value + min(far, 0.0) - z * stderr
    high = value + max(far, 0.0) + z * stderr
    return clipped(low, high, floor, ceiling), -trend


def clipped(
    low: float, high: float, floor: float = -math.inf, ceiling: float = math.inf
) -> tuple[float, float]:
    """The interval ``[low, high]`` held within ``[floor, ceiling]``, its top kept at least its
    half-width ``(high - low) / 2`` above the floor (where the ceiling allows).

    An estimate that reads below a floor its measure cannot cross (an MI below 0, by its bias or its
    noise) says the truth lies within about its own error of the floor, not that it is the floor: an
    interval wholly below 0 becomes ``[0, its half-width]``, not the point ``[0, 0]``, which would
    claim a certainty no estimate has. Only a top below ``floor + half-width`` moves, and only up, so
    no truth the interval held before falls outside it.

    Example:
        >>> clipped(-0.5, -0.25, floor=0.0)  # wholly below 0: [0, half-width]
        (0.0, 0.125)
        >>> clipped(-0.25, 0.5, floor=0.0)  # the top already clear of the floor: only the low end moves
        (0.0, 0.5)
    """
    if math.isfinite(floor):
        high = max(high, floor + (high - low) / 2)
    return min(max(low, floor), ceiling), max(min(high, ceiling), floor)


def bias_reach(value: float, stderr: float, half: float, n_resamples: int) -> float:
    """How far from the estimate ``value`` its limit may lie, signed: 2.41 times its trend with N,
    ``value - half`` (``half`` the mean of ``n_resamples`` halves' estimates), beyond the noise
    ``stderr sqrt(2 / R)`` of that mean (:func:`interval`)."""
    return _reach(value - half, stderr, n_resamples)


def _reach(trend: float, stderr: float, n_resamples: int) -> float:
    noise = stderr * math.sqrt(2 / n_resamples) if n_resamples > 0 else 0.0
    return (1 + math.sqrt(2)) * math.copysign(max(0.0, abs(trend) - noise), trend)


#: Robust standard deviations (1.4826 median absolute deviations) from a column's median beyond which a
#: row is in its tail: 6e-7 of a Gaussian's rows lie there, 12% of a Cauchy's.
TAIL_SDS = 5.0


def tail_share(sample: Any) -> float:
    """The largest share of a column's rows of ``sample`` (an array or tensor, rows first) beyond
    :data:`TAIL_SDS` robust standard deviations of its median; 0 for integer (label) or empty samples."""
    t = np.asarray(sample.detach().cpu() if hasattr(sample, "detach") else sample)
    if t.dtype.kind != "f" or t.size == 0:
        return 0.0
    cols = t.reshape(len(t), -1)
    median = np.median(cols, axis=0)
    spread = 1.4826 * np.median(np.abs(cols - median), axis=0)
    spread[spread == 0] = math.inf  # a column mostly on one value: a point mass, not a tail
    return float((np.abs(cols - median) > TAIL_SDS * spread).mean(axis=0).max())


def count_p_value(hits: int, n_permutations: int) -> float:
    """The permutation p-value ``(1 + hits) / (1 + n_permutations)`` of a statistic that ``hits`` of
    ``n_permutations`` null values reach: never 0, as the observed arrangement is one of the
    arrangements."""
    return (1 + hits) / (1 + n_permutations)


def can_reach(hits: int, n_permutations: int, alpha: float, *, at_alpha: bool) -> bool:
    """Whether ``hits`` null values at or above the statistic, of any number drawn so far, leave its
    permutation p-value over all ``n_permutations`` (:func:`count_p_value`) able to reach the level:
    below ``alpha``, or at most ``alpha`` where ``at_alpha`` (tigramite rejects at ``p <= alpha``,
    the network search of IDTxl at ``p < alpha``). With all of them drawn, it is the test's decision.
    The draws left can only add hits, so where it is False the test is settled as not significant: a
    test that stops drawing there (a curtailed test) decides at ``alpha`` as the test of all of them,
    and the p-value of those drawn, ``(1 + hits) / (1 + drawn)``, is beyond the level too."""
    p = count_p_value(hits, n_permutations)
    return p <= alpha if at_alpha else p < alpha


def p_value(observed: float, nulls: Sequence[float], *, two_sided: bool = False) -> float:
    """The permutation p-value ``(1 + #{null >= observed}) / (1 + n)`` (by absolute value where
    ``two_sided``): never 0, as the observed arrangement is one of the arrangements; NaN where the
    statistic ``observed`` is (no null reaches an undefined statistic, nor stays below it)."""
    if math.isnan(observed):
        return math.nan
    v = np.asarray(nulls, dtype=np.float64)
    hits = np.abs(v) >= abs(observed) if two_sided else v >= observed
    return count_p_value(int(hits.sum()), len(v))
