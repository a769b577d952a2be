"""Conditional mutual information I(C; Y | Z) of a candidate C with a target's present Y given a
conditioning set Z, and of C's surrogates, as network inference and the information dynamics ask for
them: one conditioning set, many candidates and many surrogates of each.

Both estimators first take the linear part of Z out of Y and C (least squares on Z and a constant):
for each value z, ``(y, c) -> (y - B z, c - A z)`` is a shift, so ``I(Y - BZ; C - AZ | Z) = I(Y; C | Z)``
for any A and B; the Gaussian estimate then is a partial correlation, and the kNN estimate no longer
reads a present that follows its own past closely as a thin ridge (the residualization of
:func:`iblearn.functional.transfer_entropy`).

- ``"gaussian"``: ``I = -1/2 log(1 - R^2)`` with R^2 the share of the residual Y's variance that the
  residual C explains (Barnett, Barrett & Seth 2009: transfer entropy is Granger causality for Gaussian
  variables). All surrogates of one candidate at once (:meth:`Surrogates.dots`).
- ``"ksg"``: the Frenzel-Pompe estimate (:func:`iblearn.functional.ksg_cmi`, exact neighbour search,
  k = 4 as IDTxl's JIDT estimator by default) on the residuals, for any set of a candidate's surrogates
  at once (:meth:`KSGCMI.values`), so that a maximum-statistic test can ask for a few at a time and
  stop as soon as its outcome is settled; or, on a torch device, all
  surrogates of one candidate at once by brute-force counts
  (:func:`~iblearn.functional.knn.cmi_batched.ksg_cmi_batched`), the same counts.
- ``"copula"``: the Gaussian estimate on normal scores (made by the caller).

Surrogates keep each series' own dynamics and break only its alignment with the target
(:class:`Surrogates`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.signal import lfilter
from torch import Tensor

from iblearn.functional.knn.engine import (
    LISTED_MANY,
    PreparedCondition,
    ksg_cmi_prepared,
    ksg_cmi_prepared_batched,
    ksg_cmi_prepared_many,
    prepared_condition,
    sieve_series,
)

#: The surrogate kinds: whole trials in a permuted order; each trial shifted in time (continued by its
#: mirror image); each trial a new series of its autoregressive fit (the sieve bootstrap); each trial a
#: new series of its own Fourier amplitudes with random phases (of the trial and its mirror image).
KINDS = ("trials", "shift", "autoregressive", "fourier")
#: The kinds drawn afresh from each trial's series, independent of one another given the data.
RENEWED = ("autoregressive", "fourier")
#: The highest autoregressive order fitted to a trial of T samples is ``min(MAX_ORDER, T // 20)``
#: (at least 1), the order within it chosen by Akaike's criterion.
MAX_ORDER = 10
#: A fitted filter whose largest root lies above this modulus is shrunk to it: the surrogates stay
#: stationary, and their burn-in finite.
MAX_ROOT = 0.995


def surrogate_kind(segments: Sequence[int], n_permutations: int) -> str:
    """``"trials"`` where the trials are of one length and numerous enough for ``n_permutations``
    distinct orders (``R! >= n_permutations``, IDTxl's rule), else ``"autoregressive"``."""
    r = len(segments)
    if r > 1 and len(set(segments)) == 1 and math.factorial(min(r, 20)) >= n_permutations:
        return "trials"
    return "autoregressive"


@dataclass(frozen=True)
class Surrogates:
    """The surrogates of one candidate variable, drawn once and laid out on demand: ``"trials"``, the
    variable's realisations taken from a permuted order of the trials (each trial's samples whole, so
    their autocorrelation is kept and only their alignment with the target is broken); ``"shift"``,
    within each trial the realisations shifted in time by at least a tenth of the trial, the samples
    shifted past one end of the trial taken from its mirror image there (:func:`shifted`);
    ``"autoregressive"``, within each trial a new series of the variable's autoregressive fit, started
    at a stretch of the trial and driven by innovations resampled from the fit's (:func:`renewed`).

    A circular shift would join the trial's end to its start: for a series that forgets its past
    slowly (an AR(1) process of root 0.9 or 0.99 over a few hundred steps) that joint is a jump no
    step of the series makes, the shifted copy no longer has the series' law, and independent
    processes pass as coupled about twice as often as alpha. The mirror image continues the series
    without a jump, and a time-reversible process (every Gaussian one) reads the same backwards. Yet a
    trial that holds only a few spans of its series' memory yields only a few distinct shifted copies,
    and the largest of many candidates' surrogates falls short of the largest of as many independent
    copies: independent processes still pass as coupled at the low levels a correction across targets
    asks for (``alpha / P``) about twice as often as they should. The autoregressive surrogates are
    independent of one another given the data, each of about the series' law (its autocorrelation up
    to the fit's order, its innovations' distribution), like fresh draws of the series; ``"fourier"``,
    within each trial a new series of the trial's own spectrum (:func:`phase_randomised`), independent
    of one another alike, which keep the slow components of a memory longer than any fit of the order
    a short trial allows (1/f noise), where the autoregressive ones keep some 70% of the lowest
    frequencies' power."""

    segments: tuple[int, ...]
    kind: str
    #: ``(B, R)``: the trial order (``"trials"``) or each trial's shift (``"shift"``, in ``[0, 2 T_r)``:
    #: the offset into the trial followed by its mirror image, repeated; ``"autoregressive"`` and
    #: ``"fourier"``, the seed of trial r's series in surrogate b).
    draws: np.ndarray
    #: Whether the plan keeps its autoregressive or Fourier surrogates once laid out (:meth:`laid`), for
    #: a caller that tests the same candidate against them again.
    keep: bool = field(default=False, compare=False)
    #: The kind drawn afresh of each column moved together (:meth:`take`), where the columns are of
    #: processes with surrogates of different kinds; empty: ``kind`` for every column.
    columns: tuple[str, ...] = ()
    #: The ``(process, lag)`` of each column moved together, where the lags of one process are windows
    #: of one series drawn afresh (:meth:`series`); empty: each column a series of its own.
    variables: tuple[tuple[int, int], ...] = ()
    kept: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return int(self.draws.shape[0])

    def dots(self, a: np.ndarray, column: np.ndarray) -> np.ndarray:
        """``a' c_b`` for every surrogate ``c_b`` of ``column`` ``(n,)``, with ``a`` ``(n, k)``:
        ``(B, k)``, without laying the surrogates out. Shifts: per trial, the circular
        cross-correlation of a (zero-padded to twice the trial) with the trial and its mirror image at
        every offset at once by FFT (``ifft(conj(fft a) fft c)``); trial orders: the R x R products of
        the trials' pieces, summed along each order; those drawn afresh, the surrogates laid out."""
        if self.kind in RENEWED:
            return np.einsum("nk,bn->bk", a, self.take(column))
        starts = self.starts()
        if self.kind == "trials":
            size = self.segments[0]
            pieces_a = a.reshape(len(self.segments), size, -1)
            pieces_c = column.reshape(len(self.segments), size)
            products = np.einsum("rtk,qt->rqk", pieces_a, pieces_c)  # [r, q]: trial r of a, trial q of c
            return products[np.arange(len(self.segments))[None, :], self.draws].sum(axis=1)
        out = np.zeros((len(self), a.shape[1]))
        for r, (start, length) in enumerate(zip(starts, self.segments, strict=True)):
            piece = column[start : start + length]
            fa = np.fft.rfft(a[start : start + length], n=2 * length, axis=0)
            fc = np.fft.rfft(np.concatenate([piece, piece[::-1]]))
            circular = np.fft.irfft(np.conj(fa) * fc[:, None], n=2 * length, axis=0)
            out += circular[self.draws[:, r]]
        return out

    def laid(self, column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every surrogate of a 1-d ``column`` ``(n,)`` laid out, ``(B, n)`` (:meth:`take`), and each one's
        sum of squares ``(B,)``; a plan that keeps them (``keep``) lays them out once for that column."""
        kept = self.kept
        if "laid" in kept and np.array_equal(kept["column"], column):
            return kept["laid"], kept["squares"]
        if self.keep and self.kind == "autoregressive" and column.ndim == 1:
            # Laid out in memory that done plans handed back (:meth:`release`), where there is some.
            laid = _blank((len(self), len(column)))
            for r, (start, length) in enumerate(zip(self.starts(), self.segments, strict=True)):
                renewed(column[start : start + length], self.draws[:, r], laid[:, start : start + length])
        else:
            laid = self.take(column)
        # No temporary as large as the surrogates: one is mapped and faulted in afresh each time.
        squares = np.einsum("bn,bn->b", laid, laid)
        if self.keep:
            laid.setflags(write=False)  # handed out again, to callers that only read it
            kept.update(column=column.copy(), laid=laid, squares=squares)
        return laid, squares

    def release(self) -> None:
        """Drops the surrogates this plan keeps and hands their memory to later plans of their shape
        (:data:`SPARE_BYTES`); the caller holds no view of them."""
        laid = self.kept.get("laid")
        self.kept.clear()
        if laid is not None and laid.base is None:
            laid.setflags(write=True)
            with _spare_lock:
                if sum(a.nbytes for a in _spare) + laid.nbytes <= SPARE_BYTES:
                    _spare.append(laid)

    def column_kind(self, m: int) -> str:
        """The kind of the surrogates of column ``m`` of a variable's columns moved together."""
        return self.columns[m] if self.columns else self.kind

    def series(self, width: int, length: int) -> list[tuple[int, list[int], list[int]]]:
        """The series drawn afresh for ``width`` columns moved together in a trial of ``length`` samples:
        each as its first column m (its kind's and its seed's, seeded m steps on), its columns, and
        where each starts in it. The lags of one process (:attr:`variables`) are windows of one series
        of the stretch they cover, lag L at ``Lmax - L`` (a column's sample i is the process at i - L),
        so the surrogates keep the lags' dependence on one another; lags further apart than the trial
        holds leave a gap no column shows, and start a series of their own."""
        if not self.variables:
            return [(m, [m], [0]) for m in range(width)]
        if len(self.variables) != width:
            raise ValueError(f"column: expected {len(self.variables)} columns, one a variable, got {width}")
        by_process: dict[int, list[tuple[int, int]]] = {}
        for m, (process, lag) in enumerate(self.variables):
            by_process.setdefault(process, []).append((lag, m))
        out: list[tuple[int, list[int], list[int]]] = []
        for lags in by_process.values():
            lags.sort(key=lambda pair: -pair[0])
            for i, (lag, m) in enumerate(lags):
                if i == 0 or lags[i - 1][0] - lag > length:
                    top = lag
                    out.append((m, [], []))
                out[-1][1].append(m)
                out[-1][2].append(top - lag)
        return [(min(columns), columns, offsets) for _, columns, offsets in out]

    def starts(self) -> np.ndarray:
        """Where each trial starts in the samples."""
        return np.concatenate([[0], np.cumsum(self.segments)[:-1]]).astype(np.int64)

    def take(self, column: np.ndarray, which: slice | int | np.ndarray = slice(None)) -> np.ndarray:
        """Surrogates ``which`` of a variable's realisations ``column`` (``(n,)`` or ``(n, m)``, the m
        columns moved together): ``(b, n)`` or ``(b, n, m)``."""
        if self.keep and "laid" in self.kept and np.array_equal(self.kept["column"], column):
            return np.atleast_2d(self.kept["laid"][which])
        draws = np.atleast_2d(self.draws[which])
        starts = self.starts()
        pieces = []
        for r, (start, length) in enumerate(zip(starts, self.segments, strict=True)):
            if self.kind == "trials":
                # Trial r of surrogate b is trial draws[b, r] of the data.
                windows = np.stack([column[s : s + length] for s in starts])
                pieces.append(windows[draws[:, r]])
            elif self.kind in RENEWED:
                piece = column[start : start + length].reshape(length, -1)
                laid = np.empty((len(draws), length, piece.shape[1]))
                for m, columns, offsets in self.series(piece.shape[1], length):
                    stretch = np.empty(length + max(offsets))
                    for c, offset in zip(columns, offsets, strict=True):
                        stretch[offset : offset + length] = piece[:, c]
                    drawn = renewed if self.column_kind(m) == "autoregressive" else phase_randomised
                    series = drawn(stretch, draws[:, r] + np.uint64(m))
                    for c, offset in zip(columns, offsets, strict=True):
                        laid[:, :, c] = series[:, offset : offset + length]
                pieces.append(laid.reshape(len(draws), length, *column.shape[1:]))
            else:
                pieces.append(shifted(column[start : start + length], draws[:, r]))
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)


#: Bytes of laid-out surrogates held for the plans that come after the ones that kept them
#: (:meth:`Surrogates.release`), until :func:`drop_spare`: every target of a network lays out as many,
#: and memory handed back to the system is mapped and zeroed afresh for the next, which costs a Gaussian
#: search on a thousand samples about a third of its CPU time (measured).
SPARE_BYTES = 256 * 2**20
_spare: list[np.ndarray] = []
_spare_lock = threading.Lock()


def _blank(shape: tuple[int, int]) -> np.ndarray:
    """An array of ``shape`` for surrogates to be written into: held memory where some fits."""
    with _spare_lock:
        for i, a in enumerate(_spare):
            if a.shape == shape:
                return _spare.pop(i)
    return np.empty(shape)


def drop_spare() -> None:
    """Hands the memory :meth:`Surrogates.release` holds back to the system."""
    with _spare_lock:
        _spare.clear()


def shifted(trial: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The shifts of a ``trial`` (``(T,)`` or ``(T, m)``) by each offset in ``[0, 2T)``: ``(B, T)`` or
    ``(B, T, m)``, the trial followed by its mirror image ``(x_0 .. x_{T-1}, x_{T-1} .. x_0)`` read from
    the offset on, periodically. An offset s up to T shifts the series forward by s, its last s samples
    the trial's end read backwards; an offset 2T - s shifts it back by s, its first s samples the start
    read backwards; those between read the series backwards, mostly. Each shift is a window of the
    trial, its mirror image and the trial again laid end to end, copied whole."""
    length = len(trial)
    ring = np.concatenate([trial, trial[::-1], trial])
    windows = np.lib.stride_tricks.sliding_window_view(ring, length, axis=0)[np.asarray(offsets)]
    return windows if trial.ndim == 1 else np.ascontiguousarray(np.moveaxis(windows, -1, 1))


def highest_order(length: int) -> int:
    """The highest autoregressive order fitted to a trial of ``length`` samples."""
    return max(1, min(MAX_ORDER, length // 20))


def autoregression(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The least-squares autoregressive fit ``x_t = c + sum_i phi_i x_{t-i} + e_t`` of a series ``(T,)``,
    its order (up to ``min(MAX_ORDER, T // 20)``, at least 1) the least of Akaike's criterion
    ``n log(sigma^2) + 2 q`` over a common span: ``(c, phi, e)``, the innovations ``(T - q,)``. A fit
    whose filter has a root of modulus above :data:`MAX_ROOT` is damped (``phi_i`` times ``d^i``)
    until none has."""
    most = highest_order(len(x))
    lags = np.column_stack([np.ones(len(x) - most)] + [x[most - i : len(x) - i] for i in range(1, most + 1)])
    # Nested fits at once: the residual sum of squares of the first 1 + q columns from one QR.
    along = np.linalg.qr(lags)[0].T @ x[most:]
    sums = float(x[most:] @ x[most:]) - np.cumsum(along**2)[1:]
    orders = np.arange(1, most + 1)
    scores = (len(x) - most) * np.log(np.maximum(sums, 1e-300)) + 2 * orders
    q = int(np.argmin(scores)) + 1
    design = np.column_stack([np.ones(len(x) - q)] + [x[q - i : len(x) - i] for i in range(1, q + 1)])
    coef = np.linalg.lstsq(design, x[q:], rcond=None)[0]
    c, phi = float(coef[0]), coef[1:]
    largest = float(np.abs(np.roots(np.r_[1.0, -phi])).max())
    if largest > MAX_ROOT:
        phi = phi * (MAX_ROOT / largest) ** np.arange(1, q + 1)
    design = np.column_stack([x[q - i : len(x) - i] for i in range(1, q + 1)])
    return c, phi, x[q:] - c - design @ phi


def renewed(x: np.ndarray, seeds: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``(B, T)``: surrogates of a series ``x`` ``(T,)`` by its autoregressive fit (:func:`autoregression`),
    one a seed of ``seeds`` ``(B,)``: each starts at q consecutive samples of ``x`` drawn at random and
    runs on by the fitted filter, driven by innovations drawn from the fit's with replacement (the
    autoregressive sieve bootstrap). Each is a new series of about the law of ``x``, independent of the
    others and of any other series given ``x``. Written into ``out`` ``(B, T)`` where given."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    out = np.empty((len(seeds), len(x))) if out is None else out
    fit = _fitted(x)
    if sieve_series(x, seeds, *fit, out):  # the compiled kernel, where built: the same series
        return out
    # A few rows at a time: each series depends on its own seed only, and temporaries this small stay
    # on the allocator's heap (larger ones are mapped and faulted in afresh, which costs more than the
    # work).
    rows = max(1, ROWS_BYTES // (8 * len(x)))
    for start in range(0, len(seeds), rows):
        out[start : start + rows] = _renewed_rows(x, seeds[start : start + rows], *fit)
    return out


#: Bytes of surrogate series :func:`renewed` makes at a time.
ROWS_BYTES = 2**18


def phase_randomised(x: np.ndarray, seeds: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``(B, T)``: surrogates of a series ``x`` ``(T,)``, one a seed of ``seeds`` ``(B,)``: the series
    followed by its mirror image (2T samples that join without a jump, periodically) with its Fourier
    amplitudes kept and its phases drawn afresh, uniformly (Theiler et al. 1992), read for T samples
    from an offset drawn at random. Each is a new Gaussian series of the autocovariance of the mirrored
    series, which holds the periodogram of ``x`` at every frequency, the lowest included: a series
    whose memory outlasts any autoregressive fit of a few hundred samples (1/f noise) keeps its slow
    components, which an autoregressive sieve of low order drops. Independent of one another given
    ``x``. Written into ``out`` ``(B, T)`` where given.

    References:
        J. Theiler, S. Eubank, A. Longtin, B. Galdrikian, J. D. Farmer. Testing for nonlinearity in
        time series: the method of surrogate data. Physica D 58, 77 (1992).
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    length = len(x)
    out = np.empty((len(seeds), length)) if out is None else out
    mean = float(x.mean())
    amplitudes = np.abs(np.fft.rfft(np.r_[x, x[::-1]] - mean))  # length + 1 frequencies
    rows = max(1, ROWS_BYTES // (32 * length))
    for start in range(0, len(seeds), rows):
        z = _mixed(seeds[start : start + rows], length + 2)
        turns = (z[:, : length + 1] >> np.uint64(11)).astype(np.float64) * 2.0**-53
        angles = 2 * np.pi * turns
        # Each coefficient its amplitude turned by its angle, written as its real and imaginary parts:
        # the products of amplitude exp(i angle), to the bit, without complex temporaries.
        spectrum = np.empty(angles.shape, dtype=np.complex128)
        np.multiply(amplitudes, np.cos(angles), out=spectrum.real)
        np.multiply(amplitudes, np.sin(angles), out=spectrum.imag)
        spectrum[:, 0] = amplitudes[0]  # the mean kept
        # The highest frequency's term is real: its sign drawn.
        spectrum[:, -1] = np.where(turns[:, -1] < 0.5, amplitudes[-1], -amplitudes[-1])
        series = np.fft.irfft(spectrum, n=2 * length, axis=1)
        offsets = (z[:, -1] % np.uint64(2 * length)).tolist()
        for row, offset in enumerate(offsets, start):  # T samples from the offset, periodically
            head = min(length, 2 * length - offset)
            series_row = series[row - start]
            np.add(series_row[offset : offset + head], mean, out=out[row, :head])
            np.add(series_row[: length - head], mean, out=out[row, head:])
    return out


def _renewed_rows(x: np.ndarray, seeds: np.ndarray, c: float, phi: np.ndarray, e: np.ndarray) -> np.ndarray:
    """:func:`renewed`'s series of ``seeds`` by the fit ``(c, phi, e)`` of ``x``."""
    q, length = len(phi), len(x)
    z = _mixed(seeds, length - q + 1)
    first = (z[:, 0] % np.uint64(length - q + 1)).astype(np.int64)
    head = x[first[:, None] + np.arange(q)[None, :]]
    drive = np.empty((len(z), length))
    # The input that makes the filter, started at rest, give out the head's samples first.
    for t in range(q):
        drive[:, t] = head[:, t] - head[:, :t][:, ::-1] @ phi[:t]
    # The innovations' indices z mod len(e), as z - (z // len(e)) len(e): numpy's floor division of
    # words by one scalar is several times faster than its remainder. They read as int64 in place.
    words, count = z[:, 1:], np.uint64(len(e))
    picks = words // count
    picks *= count
    np.subtract(words, picks, out=picks)
    np.add(e[picks.view(np.int64)], c, out=drive[:, q:])
    return lfilter([1.0], np.r_[1.0, -phi], drive, axis=1)


#: Bytes of autoregressive fits kept (the oldest dropped first): every target's tests draw surrogates of
#: the same candidates, whose fits are then made once.
FITS_KEPT = 64 * 2**20
_fits: dict[bytes, tuple[float, np.ndarray, np.ndarray]] = {}
_fits_lock = threading.Lock()


def _fitted(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """:func:`autoregression` of ``x``, made once a series (kept by a digest of its bytes)."""
    key = hashlib.blake2b(np.ascontiguousarray(x).tobytes(), digest_size=16).digest()
    with _fits_lock:
        fit = _fits.get(key)
    if fit is None:
        c, phi, e = autoregression(x)
        phi.setflags(write=False)
        e.setflags(write=False)
        fit = (c, phi, e)
        with _fits_lock:
            _fits[key] = fit
            while len(_fits) > max(1, FITS_KEPT // (e.nbytes + 1)):  # the trials of a run alike
                del _fits[next(iter(_fits))]
    return fit


def _mixed(seeds: np.ndarray, count: int) -> np.ndarray:
    """``(B, count)`` pseudo-random 64-bit words, row b the SplitMix64 stream of ``seeds[b]`` (Steele,
    Lea & Flood 2014): a surrogate's draws depend on its own seed only, and all rows come at once."""
    with np.errstate(over="ignore"):
        z = seeds[:, None] + np.uint64(0x9E3779B97F4A7C15) * np.arange(1, count + 1, dtype=np.uint64)
        shifted = np.empty_like(z)
        for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            np.right_shift(z, np.uint64(shift), out=shifted)
            z ^= shifted
            z *= np.uint64(factor)
        np.right_shift(z, np.uint64(31), out=shifted)
        z ^= shifted
    return z


def surrogates(
    segments: tuple[int, ...],
    count: int,
    kind: str,
    key: Sequence[int],
    keep: bool = False,
    columns: tuple[str, ...] = (),
    variables: tuple[tuple[int, int], ...] = (),
) -> Surrogates:
    """The :class:`Surrogates` drawn from ``numpy.random.default_rng(key)``: a key of the seed, the
    target, the step and the variable, so that they never depend on which worker runs the target;
    ``keep``: those drawn afresh (autoregressive, Fourier) kept once laid out (:meth:`Surrogates.laid`);
    ``columns``: of those, the kind of each column moved together (:attr:`Surrogates.columns`), and
    ``variables`` each one's ``(process, lag)`` (:attr:`Surrogates.variables`)."""
    rng = np.random.default_rng([int(k) % 2**64 for k in key])
    if kind == "trials":
        return Surrogates(segments, kind, np.stack([rng.permutation(len(segments)) for _ in range(count)]))
    if kind in RENEWED:
        seeds = rng.integers(0, 2**63, size=(count, len(segments)), dtype=np.uint64)
        return Surrogates(segments, kind, seeds, keep, columns=columns, variables=variables)
    least = [max(1, length // 10) for length in segments]
    draws = np.stack(
        [
            rng.integers(lo, 2 * length - lo + 1, size=count)
            for lo, length in zip(least, segments, strict=True)
        ],
        axis=1,
    )
    return Surrogates(segments, kind, draws)


#: Neighbours of the kNN estimate: JIDT's default, which IDTxl's JidtKraskovCMI passes on.
KSG_K = 4
#: Singular values of the conditioning design below this share of the largest are dropped (collinear
#: columns add nothing to condition on).
RANK_TOL = 1e-10


@dataclass(frozen=True)
class Condition:
    """One conditioning set, prepared: an orthonormal basis of ``[1, Z]`` and the residual target;
    ``estimates``, how many estimates the caller expects to make against its neighbour lists (candidates,
    and surrogates where they are not counted in a batch apart), which an estimator may size what it
    makes of them by; ``prepared`` holds what it makes, once for
    all candidates (by its key)."""

    basis: np.ndarray
    target: np.ndarray
    z: np.ndarray
    estimates: int = LISTED_MANY
    prepared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def residual(self, a: np.ndarray) -> np.ndarray:
        """``a`` (``(n,)``, ``(n, m)`` or ``(n, B)``) less its least-squares fit on ``[1, Z]``."""
        return a - self.basis @ (self.basis.T @ a)

    def residuals(self, samples: np.ndarray) -> np.ndarray:
        """:meth:`residual` of each sample ``samples[b]`` (``(B, n)`` or ``(B, n, m)``) as ``(n, m)``:
        ``(B, n, m)``, m = 1 for ``(B, n)``. numpy's matmul runs its two-dimensional routine on each
        item of a stack, so each is :meth:`residual`'s bits, without a call of its own each."""
        stack = np.ascontiguousarray(samples).reshape(len(samples), samples.shape[1], -1)
        return stack - self.basis @ (self.basis.T @ stack)


def condition(y: np.ndarray, z: np.ndarray, estimates: int = LISTED_MANY) -> Condition:
    """The :class:`Condition` of target present ``y`` ``(n,)`` given ``z`` ``(n, d)`` (d may be 0), for
    about ``estimates`` estimates."""
    design = np.column_stack([np.ones(len(y)), z])
    u, s, _ = np.linalg.svd(design, full_matrices=False)
    basis = u[:, s > RANK_TOL * s[0]]
    c = Condition(basis, y, z)
    return Condition(basis, c.residual(y), z, estimates)


def _explained(ry: np.ndarray, rc: np.ndarray) -> float:
    """Share of ``ry``'s sum of squares that the columns of ``rc`` explain by least squares."""
    coef = np.linalg.lstsq(rc, ry, rcond=None)[0]
    fitted = rc @ coef
    return float(fitted @ fitted) / float(ry @ ry)


#: A share of the residual target's variance explained within this of all of it reads as a perfectly
#: determined target, ``inf`` nats: :func:`iblearn.functional.gaussian.determined`'s tolerance, below
#: which least squares in float64 leaves only round-off (some 17 nats) instead of ``inf``.
DETERMINED = 1e-9


def _nats(share: np.ndarray | float) -> np.ndarray:
    """``-1/2 log(1 - share)``: the Gaussian CMI of an explained share, ``inf`` where it is 1 within
    :data:`DETERMINED`."""
    share = np.clip(share, 0.0, 1.0)
    nats = -0.5 * np.log1p(-np.minimum(share, 1.0 - DETERMINED))
    return np.where(1.0 - share <= DETERMINED, np.inf, nats)


class GaussianCMI:
    """The Gaussian (linear) conditional MI; all surrogates of one candidate in one product."""

    batched = True

    def value(self, cond: Condition, c: np.ndarray) -> float:
        rc = cond.residual(c.reshape(len(c), -1))
        return float(_nats(_explained(cond.target, rc)))

    def surrogates(self, cond: Condition, c: np.ndarray, plan: Surrogates) -> np.ndarray:
        """The estimate for every surrogate of ``c`` in ``plan``: ``(B,)``.

        A surrogate's residual sum of squares is its own (the products of a column of ones with the
        surrogates of ``c**2``) less its projection on the conditioning basis Q; and
        ``ry . P c_b = ry . c_b`` (``ry`` is a residual already): the products of the surrogates with
        ``[ry, Q]`` (:meth:`~iblearn.functional.cmi_surrogates.Surrogates.dots`) give every R^2.
        """
        ry = cond.target
        if plan.kind in RENEWED and (c.ndim == 1 or c.shape[1] == 1):
            # Each surrogate filtered again: laid out once, its products and squares taken from it.
            laid, squares = plan.laid(c.reshape(-1))
            along = laid @ np.column_stack([ry, cond.basis])
            kept = squares - (along[:, 1:] ** 2).sum(axis=1)
            return _nats(along[:, 0] ** 2 / (float(ry @ ry) * np.maximum(kept, 1e-300)))
        if c.ndim == 1 or c.shape[1] == 1:
            c = c.reshape(-1)
            along = plan.dots(np.column_stack([ry, cond.basis]), c)
            squares = plan.dots(np.ones((len(c), 1)), c * c)[:, 0]
            kept = squares - (along[:, 1:] ** 2).sum(axis=1)
            return _nats(along[:, 0] ** 2 / (float(ry @ ry) * np.maximum(kept, 1e-300)))
        return np.array([self.value(cond, sample) for sample in plan.take(c)])

    def values(self, cond: Condition, c: np.ndarray, plan: Surrogates, which: np.ndarray) -> np.ndarray:
        """The estimates of the surrogates ``which`` (indices into ``plan``) of ``c``."""
        return self.surrogates(cond, c, plan)[np.asarray(which)]

    def estimates(self, cond: Condition, columns: Sequence[np.ndarray]) -> list[float]:
        """:meth:`value` of each of ``columns`` (each ``(n,)``)."""
        return [self.value(cond, c) for c in columns]


class KSGCMI:
    """The Frenzel-Pompe kNN conditional MI with exact neighbours (``k`` of them) on the residuals."""

    batched = False

    def __init__(self, k: int = KSG_K) -> None:
        self.k = k

    def _prepared(self, cond: Condition) -> PreparedCondition:
        """The residual target and z made ready for the kNN searches once a conditioning set: checked
        here, and not again for each of the candidates and surrogates estimated against them."""
        key = ("ksg", self.k)
        if key not in cond.prepared:
            ry = torch.from_numpy(np.ascontiguousarray(cond.target.reshape(-1, 1)))
            z = torch.from_numpy(np.ascontiguousarray(cond.z)) if cond.z.shape[1] else None
            cond.prepared[key] = prepared_condition(ry, z, self.k, cond.estimates)
        return cond.prepared[key]

    def value(self, cond: Condition, c: np.ndarray) -> float:
        """``ksg_cmi(residual c, residual y, z, k)`` (``ksg_mi`` for an empty z), bit for bit."""
        rc = torch.from_numpy(np.ascontiguousarray(cond.residual(c.reshape(len(c), -1))))
        return float(ksg_cmi_prepared(self._prepared(cond), rc))

    def values(self, cond: Condition, c: np.ndarray, plan: Surrogates, which: np.ndarray) -> np.ndarray:
        """:meth:`value` of the surrogates ``which`` (indices into ``plan``) of ``c``: ``(len(which),)``,
        the same numbers. A 1-d ``c``'s surrogates are residualized as a stack (:meth:`Condition.residuals`:
        each one's residual to the bit), then estimated together
        (:func:`~iblearn.functional.knn.engine.ksg_cmi_prepared_many`)."""
        if len(which) == 0:
            return np.empty(0)
        samples = plan.take(c, np.asarray(which))
        if samples.ndim == 3:
            return np.array([self.value(cond, sample) for sample in samples])
        return ksg_cmi_prepared_many(self._prepared(cond), cond.residuals(samples)[:, :, 0])

    def estimates(self, cond: Condition, columns: Sequence[np.ndarray]) -> list[float]:
        """:meth:`value` of each of ``columns`` (each ``(n,)``), the same numbers: each residualized
        alone as :meth:`value` residualizes it (a column of the embedding is a strided view, whose
        product may take another routine than a stack's), then all estimated together
        (:func:`~iblearn.functional.knn.engine.ksg_cmi_prepared_many`)."""
        if not len(columns):
            return []
        residuals = np.stack([cond.residual(c.reshape(len(c), 1))[:, 0] for c in columns])
        return ksg_cmi_prepared_many(self._prepared(cond), residuals).tolist()

    def surrogates(self, cond: Condition, c: np.ndarray, plan: Surrogates) -> np.ndarray:
        """The estimate for every surrogate of ``c`` in ``plan``: ``(B,)`` (:meth:`values` of all)."""
        return self.values(cond, c, plan, np.arange(len(plan)))


class BatchedKSGCMI(KSGCMI):
    """:class:`KSGCMI` with all surrogates of a candidate counted at once on a torch ``device``; the
    candidates' own estimates stay the exact path's."""

    batched = True

    def __init__(self, device: torch.device, k: int = KSG_K) -> None:
        super().__init__(k)
        self.device = device

    def surrogates(self, cond: Condition, c: np.ndarray, plan: Surrogates) -> np.ndarray:
        """The estimate for every surrogate of ``c`` in ``plan``: ``(B,)`` (:meth:`queued`, read)."""
        return self.queued(cond, c, plan).cpu().numpy()

    def queued(self, cond: Condition, c: np.ndarray, plan: Surrogates) -> Tensor:
        """:meth:`surrogates` on the device, unread: ``(B,)``, each surrogate residualized and made ready
        as :meth:`KSGCMI.value` does (the same samples bit for bit), then counted on the device in one
        batch (:func:`~iblearn.functional.knn.cmi_batched.ksg_cmi_prepared_batched`, which waits on
        nothing: the host makes the next candidate's surrogates ready while the device counts these)."""
        laid = plan.laid(c)[0] if c.ndim == 1 else plan.take(c)  # kept where the plan keeps them
        residuals = cond.residuals(laid)
        return ksg_cmi_prepared_batched(self._prepared(cond), torch.from_numpy(residuals), self.device)


Engine = GaussianCMI | KSGCMI


def queued(eng: Engine, cond: Condition, c: np.ndarray, plan: Surrogates) -> Tensor:
    """``eng.surrogates(cond, c, plan)`` as a tensor, left unread on the device where the engine counts
    on one (:meth:`BatchedKSGCMI.queued`), so that a caller may queue many candidates and read once."""
    if isinstance(eng, BatchedKSGCMI):
        return eng.queued(cond, c, plan)
    return torch.from_numpy(eng.surrogates(cond, c, plan))


def engine(method: str, device: torch.device | str | None = None) -> Engine:
    """The estimator of ``method`` (``"copula"`` is the Gaussian one on normal scores); for ``"ksg"``
    with a ``device``, :class:`BatchedKSGCMI` on it (the Gaussian ones are batched in numpy already)."""
    if method != "ksg":
        return GaussianCMI()
    return KSGCMI() if device is None else BatchedKSGCMI(torch.device(device))
