"""The dependence between successive rows: autocorrelation, the automatic block length of a blockwise
resampling, the effective sample size of a slowly mixing series, the memory exponent of a long memory,
and the test that tells rows in time order from independent draws.

A series whose rows depend on their neighbours holds fewer independent samples than rows: an estimate
from T successive samples varies as one from about ``T / tau`` independent ones, where
``tau = 1 + 2 sum_k rho(k)`` is the integrated autocorrelation time. A resampling of rows (half-sampling,
the bootstrap) or of short blocks sees none of that, and its interval is too narrow; blocks long enough
to hold the dependence (Politis & White 2004) see it, and where a series mixes too slowly for any block
to (a root near 1: the autocorrelation has not died out within the longest block), no resampling can
give an error, and the estimate says so.

References:
    D. N. Politis, H. White. Automatic block-length selection for the dependent bootstrap. Econometric
    Reviews 23, 53 (2004); A. Patton, D. N. Politis, H. White. Correction. Econometric Reviews 28, 372
    (2009): the flat-top lag window and the block length of the circular bootstrap.
    J. Geweke, S. Porter-Hudak. The estimation and application of long memory time series models.
    J. Time Series Analysis 4, 221 (1983): the log-periodogram regression of the memory exponent.
    W. K. Newey, K. D. West. A simple, positive semi-definite, heteroskedasticity and autocorrelation
    consistent covariance matrix. Econometrica 55, 703 (1987): the long-run variance of a mean.
    M. S. Bartlett. On the theoretical specification and sampling properties of autocorrelated
    time-series. J. R. Stat. Soc. Suppl. 8, 27 (1946): the variance of a cross-correlation of two
    autocorrelated series, ``(1 + 2 sum_k rho_x(k) rho_y(k)) / N``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from iblearn.functional.linearity import linearity

#: Fewest blocks a blockwise standard error is read from: with fewer, the spread of halves of the blocks
#: rests on a handful of them and its interval does not cover.
MIN_BLOCKS = 8
#: Fewest trials whose whole trials are the blocks of a blockwise resampling (:func:`trial_blocks`).
MIN_TRIALS = 10


def trial_blocks(segments: Sequence[int], block: int) -> list[np.ndarray] | None:
    """The blocks of a blockwise resampling of rows pooled from trials (``segments``: the rows of each
    trial, in order), as arrays of row indices, none straddling two trials: the whole trials where there
    are at least :data:`MIN_TRIALS` (independent replications, whatever the dependence within one), else
    each trial cut into blocks of ``block`` successive rows (its last one shorter); None for one trial,
    whose blocks :func:`iblearn.functional.inference.resample_rows` lays out itself."""
    if len(segments) < 2:
        return None
    starts = np.concatenate([[0], np.cumsum(segments)[:-1]]).astype(np.int64)
    if len(segments) >= MIN_TRIALS:
        return [np.arange(a, a + m) for a, m in zip(starts, segments, strict=True)]
    size = max(1, int(block))
    return [
        np.arange(a + b, a + min(b + size, m))
        for a, m in zip(starts, segments, strict=True)
        for b in range(0, m, size)
    ]


#: Columns of a variable whose autocorrelation is measured (spread evenly over its columns): enough to
#: see a series, few enough to cost nothing beside an estimate.
COLUMNS = 8
#: Lag-1 autocorrelations beyond this many of their standard errors (1 / sqrt(N) for independent rows)
#: on both sides are a sign of rows in time order; for independent rows both exceed it about 7e-6 of the
#: time.
LAG1_SES = 3.0
#: Variance inflation ``1 + 2 sum_k rho_x(k) rho_y(k)`` from which rows in time order make an interval
#: that takes them as independent too narrow: its standard error low by a factor sqrt(2) or more, beyond
#: what the bias-aware interval's margin absorbs.
INFLATION = 2.0

#: Memory exponent (:func:`memory_exponent`) above which a series' lowest frequencies rise as those of a
#: long memory do: above the exponents of nine in ten processes of sparse VAR networks over 100 samples
#: (19 in 20 over 300), and above 1/f noise's 1/2, which over a few hundred samples reads above it in
#: about four series of ten: those whose slowest components an autoregressive fit flattens most.
LONG_MEMORY = 0.6
#: Fewest Fourier frequencies :func:`memory_exponent` reads an exponent from: with fewer, its standard
#: error (``pi / sqrt(24 m)`` for m frequencies, Geweke & Porter-Hudak 1983) is above 0.2, and short
#: memory passes :data:`LONG_MEMORY` by chance.
MEMORY_FREQUENCIES = 10


def long_run_stderr(terms: np.ndarray, bandwidth: int, segments: Sequence[int] | None = None) -> float:
    """The standard error of the mean of the terms ``(N,)`` of a stationary series, its autocovariances
    within ``bandwidth`` steps weighted by Bartlett's kernel (Newey & West 1987):
    ``sqrt((g_0 + 2 sum_{j=1}^{L} (1 - j / (L + 1)) g_j) / N)``, ``g_j`` the lag-j autocovariance about
    the terms' mean; of trials (``segments``: the rows of each, in order), the products only within
    a trial. Where the terms are an estimate's influence (its per-row terms less their mean), this is
    its first-order standard error under the rows' dependence, a figure that barely moves from one draw
    to the next, where a blockwise spread from a few dozen halves of the blocks does.

    Example:
        >>> round(long_run_stderr(np.array([1.0, -1.0] * 50), 0), 3)  # independent: sd / sqrt(N)
        0.1
        >>> long_run_stderr(np.array([1.0, -1.0] * 50), 1) < 0.1  # alternating: the mean settles faster
        True
    """
    x = np.asarray(terms, dtype=np.float64)
    x = x - x.mean()
    n = len(x)
    bounds = np.cumsum([0, *(segments or [n])])
    total = float(x @ x)
    for j in range(1, max(0, int(bandwidth)) + 1):
        lagged = sum(float(x[a + j : b] @ x[a : b - j]) for a, b in itertools.pairwise(bounds))
        total += 2 * (1 - j / (bandwidth + 1)) * lagged
    return math.sqrt(max(total, 0.0)) / n


def measured_columns(d: int) -> np.ndarray:
    """The columns of a ``d``-column variable whose autocorrelation is measured: all up to
    :data:`COLUMNS`, else that many spread evenly."""
    if d <= COLUMNS:
        return np.arange(d)
    return np.unique(np.linspace(0, d - 1, COLUMNS).round().astype(np.int64))


def _columns(sample: Any) -> np.ndarray | None:
    """Up to :data:`COLUMNS` float64 columns of a float ``sample`` (rows first), centred; None for integer
    labels, empty or constant samples."""
    t = sample.detach().cpu().numpy() if hasattr(sample, "detach") else np.asarray(sample)
    if t.dtype.kind != "f" or t.size == 0 or len(t) < 4:
        return None
    cols = t.reshape(len(t), -1).astype(np.float64)
    if cols.shape[1] > COLUMNS:
        cols = cols[:, measured_columns(cols.shape[1])]
    # Autocorrelations do not depend on scale: each column over its largest magnitude, so that sums of
    # values near the largest float do not overflow, nor squares of values below 1e-154 vanish.
    top = np.abs(cols).max(axis=0)
    if not ((top <= 1) & (top >= 1e-100)).all():
        cols = cols / np.where(top > 0, top, 1.0)
    centred = cols - np.add.reduce(cols, axis=0) / len(cols)  # the mean, without its wrapper's cost
    # Kept where the standard deviation is positive: the centred squares' sum is.
    varies = np.einsum("ij,ij->j", centred, centred) > 0
    if not varies.all():
        centred = centred[:, varies]
    return centred if centred.shape[1] else None


def autocorrelation(columns: np.ndarray, lags: int) -> np.ndarray:
    """The sample autocorrelation ``rho(0..lags)`` of each column of ``(N, d)`` centred ``columns``, by
    the FFT (the biased estimate, divided by N at every lag, so that it is a positive definite
    sequence); ``(lags + 1, d)``."""
    n = len(columns)
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(columns, size, axis=0)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), size, axis=0)[: lags + 1] / n
    return acov / acov[:1]


@dataclass(frozen=True)
class Mixing:
    """How fast a series forgets its past, read from its slowest column.

    Attributes:
        block: the automatic block length (Politis & White 2004, circular bootstrap), uncapped.
        tau: the integrated autocorrelation time ``sum_k lambda(k / M) rho(k)`` over the flat-top window.
        effective: the effective sample size ``N / tau``.
        decayed: whether the autocorrelation died out within the lags searched (``sqrt(N)`` and a few):
            where it did not, a root near 1 is likely and no block of the series is long enough.
    """

    block: float
    tau: float
    effective: float
    decayed: bool


def mixing(samples: Sequence[Any]) -> Mixing | None:
    """The :class:`Mixing` of the slowest column of ``samples`` (arrays or tensors of one length, rows in
    time order; integer ones are skipped), or None where none has float columns that vary.

    For each column, the first lag ``m`` after which ``K = max(5, sqrt(log10 N))`` successive
    autocorrelations stay within ``2 sqrt(log10 N / N)`` sets the window ``M = 2 m``; with the flat-top
    window ``lambda`` (1 to M / 2, falling linearly to 0 at M), ``G = sum lambda(k/M) |k| rho(k)`` and
    ``g = sum lambda(k/M) rho(k)`` over ``|k| <= M``, the block is ``(3 G^2 / 2 g^2)^(1/3) N^(1/3)``
    (Politis & White 2004 with the correction of Patton et al. 2009)."""
    cols = [c for c in (_columns(s) for s in samples) if c is not None]
    if not cols:
        return None
    series = np.hstack(cols)
    n = len(series)
    k_n = max(5, math.ceil(math.sqrt(math.log10(n))))
    longest = min(math.ceil(math.sqrt(n)) + k_n, n - 1)
    rho = autocorrelation(series, min(2 * longest, n - 1))
    bound = 2 * math.sqrt(math.log10(n) / n)
    columns_mixing = []
    for j in range(series.shape[1]):
        small = np.abs(rho[1:, j]) < bound
        # The first m whose next k_n autocorrelations are all within the bound.
        runs = np.convolve(small.astype(int), np.ones(k_n, dtype=int), "valid")
        found = np.flatnonzero(runs[:longest] == k_n)
        decayed = found.size > 0
        m = int(found[0]) if decayed else longest
        window = min(2 * max(m, 1), len(rho) - 1)
        lags = np.arange(1, window + 1)
        weights = np.clip(2 * (1 - lags / window), 0, 1)
        g = 1 + 2 * float(np.sum(weights * rho[1 : window + 1, j]))
        big_g = 2 * float(np.sum(weights * lags * rho[1 : window + 1, j]))
        tau = max(g, 1 / n)
        block = max(1.0, (1.5 * big_g**2 / tau**2) ** (1 / 3) * n ** (1 / 3)) if big_g > 0 else 1.0
        columns_mixing.append(Mixing(block, tau, n / tau, decayed))
    return max(columns_mixing, key=lambda mix: (not mix.decayed, mix.block))


def series_blocks(samples: Sequence[Any], n: int) -> tuple[int, dict[str, float]]:
    """The block length of a blockwise resampling of ``n`` rows of the series ``samples``: at least
    ``n^(1/3)`` (Kuensch 1989) and at least :func:`mixing`'s block of its slowest column; with the
    figures of the mixing where the block leaves fewer than :data:`MIN_BLOCKS` blocks (the series
    mixing too slowly for its length, so that no blockwise error of them can be trusted), as a
    report's features read them (:func:`slow_figures`), else ``{}``."""
    base = max(1, round(n ** (1 / 3)))
    mix = mixing(samples)
    if mix is None:
        return base, {}
    block = min(max(base, math.ceil(mix.block)), n)
    if n / block >= MIN_BLOCKS:
        return block, {}
    return block, slow_figures(mix, block)


def slow_figures(mix: Mixing, block: int) -> dict[str, float]:
    """The figures of a series that mixes too slowly for a blockwise error: its block (``"slow
    block"``), integrated autocorrelation time (``"slow tau"``), effective samples (``"slow
    effective"``) and whether its autocorrelation died out within sqrt(N) steps (``"slow decayed"``,
    1 or 0)."""
    return {
        "slow block": float(block),
        "slow tau": mix.tau,
        "slow effective": mix.effective,
        "slow decayed": float(mix.decayed),
    }


#: Relative margin by which a lag-1 autocorrelation summed directly must clear the bound for
#: :func:`_clearly_unordered` to decide without the FFT: far above the two sums' rounding difference.
_MARGIN = 1e-9


def _clearly_unordered(cols: Sequence[np.ndarray], bound: float) -> bool:
    """Whether some variable's columns all have a lag-1 autocorrelation ``sum c_t c_(t+1) / sum c_t^2``
    (the FFT's ``rho(1)``, summed directly) within ``bound`` by a margin, so that :func:`ordered_rows`
    says None whatever else it measures: the common case of independent rows, decided in one pass."""
    for c in cols:
        rho1 = np.einsum("ij,ij->j", c[1:], c[:-1]) / np.einsum("ij,ij->j", c, c)
        if float(np.max(np.abs(rho1))) <= bound * (1 - _MARGIN):
            return True
    return False


def ordered_rows(samples: Sequence[Any], names: Sequence[str]) -> str | None:
    """Why the rows of ``samples`` (two or more variables, rows first) look like successive samples of
    series rather than independent draws, or None: where every float variable's most autocorrelated
    column has a lag-1 autocorrelation beyond :data:`LAG1_SES` of its standard errors ``1 / sqrt(N)``,
    and the variance of an estimate of their dependence is inflated by at least :data:`INFLATION`:
    Bartlett's ``1 + 2 sum_k rho_x(k) rho_y(k)`` over ``k <= sqrt(N)``, for the first two of them.
    Integer (label) samples are skipped, and a single float variable says nothing. An estimate that
    takes such rows as independent reads a dependence between two slowly varying series where there is
    none, and its interval is too narrow."""
    named = [(name, c) for name, c in ((name, _columns(s)) for s, name in zip(samples, names, strict=True))]
    cols = [(name, c) for name, c in named if c is not None]
    if len(cols) < 2:
        return None
    n = len(cols[0][1])
    if _clearly_unordered([c for _, c in cols], LAG1_SES / math.sqrt(n)):
        return None
    lags = min(n - 1, math.ceil(math.sqrt(n)))
    rhos, firsts = [], []
    for _, c in cols:
        rho = autocorrelation(c, lags)
        j = int(np.argmax(np.abs(rho[1])))
        rhos.append(rho[1:, j])
        firsts.append(float(rho[1, j]))
    if min(abs(r) for r in firsts) <= LAG1_SES / math.sqrt(n):
        return None
    inflation = 1 + 2 * float(np.sum(rhos[0] * rhos[1]))
    if inflation < INFLATION:
        return None
    which = " and ".join(name for name, _ in cols)
    firsts_text = ", ".join(f"{r:.2f}" for r in firsts)
    return (
        f"the rows look like a time series: {which} have lag-1 autocorrelations {firsts_text} (independent "
        f"rows: within {LAG1_SES / math.sqrt(n):.2g}), so their order carries dependence and the {n} rows "
        f"hold about {n / inflation:.3g} independent ones; a dependence between slowly varying series reads "
        "where there is none, and an interval that takes the rows as independent is too narrow: for series, "
        "use iblearn.functional.transfer_entropy_estimate (block resampling) or a test that shifts one "
        "series against the other; if the rows are independent draws stored in some order, shuffle them"
    )


def memory_exponent(trials: Sequence[np.ndarray]) -> float | None:
    """The memory exponent ``d`` of a process whose trials are ``trials`` (1-d arrays, time in order),
    by the log-periodogram regression of Geweke & Porter-Hudak (1983): minus the slope of
    ``log I(lambda_j)`` on ``log(4 sin^2(lambda_j / 2))`` over the lowest Fourier frequencies
    ``lambda_j = 2 pi j / T`` of each trial of ``T`` samples, ``j = 1 .. floor(sqrt(T))``, the trials'
    points pooled in one regression. A spectrum that rises as ``lambda^(-2d)`` towards 0 reads ``d``:
    0 for white noise and short memory, 1/2 for 1/f noise; an AR(1) process of root near 1 reads as
    long memory where its trials are too short for its spectrum to flatten within their lowest
    frequencies. None where fewer than :data:`MEMORY_FREQUENCIES` frequencies vary (trials of fewer
    than 100 samples alone).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> abs(memory_exponent([rng.standard_normal(400)])) < 0.3
        True
    """
    xs, ys = [], []
    for trial in trials:
        x = np.asarray(trial, dtype=np.float64)
        x = x - x.mean()
        # The slope does not depend on scale: over the largest magnitude, no square overflows or vanishes.
        top = float(np.abs(x).max(initial=0.0))
        m = math.isqrt(len(x))
        power = np.abs(np.fft.rfft(x / top if top > 0 else x)[1 : m + 1]) ** 2
        keep = power > 0
        xs.append(np.log(4 * np.sin(np.pi * np.arange(1, m + 1) / len(x)) ** 2)[keep])
        ys.append(np.log(power[keep]))
    x, y = np.concatenate(xs), np.concatenate(ys)
    if len(x) < MEMORY_FREQUENCIES or np.ptp(x) == 0:
        return None
    x = x - x.mean()
    return float(-np.dot(x, y - y.mean()) / np.dot(x, x))


def lag_linearity(trials: Sequence[np.ndarray], lags: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
    """How each process's present depends on each lagged value: linearly, or through its square and
    cube. :func:`~iblearn.functional.linearity.linearity` of each process of the ``(T, P)`` ``trials``
    on every process at every lag of ``lags`` (a linear autoregression, the model a Gaussian estimate
    of the network takes), the trials' rows pooled. Both statistics ``(P, P, len(lags))``:
    [target, source, lag]. A coupling ``sin(2 x)`` through a Gaussian source reads above its linear
    statistic (its part along ``x`` is about a seventh of its variance, for a standard normal ``x``);
    ``tanh(2 x)``, mostly linear, reads below. None where
    :func:`~iblearn.functional.linearity.linearity` gives none.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((2000, 2))
        >>> x[1:, 1] += np.sin(2 * x[:-1, 0])
        >>> linear, nonlinear = lag_linearity([x], [1])
        >>> bool(nonlinear[1, 0, 0] > max(linear[1, 0, 0], 30.0))
        True
    """
    width, top = trials[0].shape[1], max(lags)
    now = np.concatenate([np.asarray(t, dtype=np.float64)[top:] for t in trials])
    past = np.concatenate(
        [np.concatenate([t[top - lag : len(t) - lag] for lag in lags], axis=1) for t in trials]
    )
    stats = linearity(now, past)
    if stats is None:
        return None
    shape = (width, len(lags), width)  # the regressors are lag-major: [lag][source]
    linear, nonlinear = (a.reshape(shape).transpose(0, 2, 1) for a in stats)
    return linear, nonlinear
