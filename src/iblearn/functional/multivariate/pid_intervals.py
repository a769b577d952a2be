"""The intervals of the minimum-MI PID's parts from resamples of the sample: each part's own
(:func:`part_spans`), and the parts composed from the intervals of the smooth functions whose minima
and differences they are (:func:`minimum_mi_spans`), which hold at a tie where a part's own resamples
do not. Used by :func:`~iblearn.functional.multivariate.pid_samples.pid_interval` and by
:func:`~iblearn.functional.multivariate.estimate.pid_estimate` alike.
"""

from __future__ import annotations

import numpy as np

from iblearn.functional.inference import CONFIDENCE, Scheme, clipped, interval, summarize


def part_spans(
    whole: np.ndarray, draws: np.ndarray, n: int, scheme: Scheme, confidence: float = CONFIDENCE
) -> list[tuple[float, float, float]]:
    """Each column's (standard error, low, high): the inference core's bias-aware
    :func:`~iblearn.functional.inference.interval` of ``whole[j]`` from its resamples ``draws[:, j]``
    (drawn by :func:`~iblearn.functional.inference.resample_rows` under ``scheme``, in its order)."""
    out = []
    for j, value in enumerate(whole):
        r = summarize(draws[:, j].tolist(), n, scheme, constant=True)
        (low, high), _ = interval(
            float(value), r.stderr, half=r.half, n_resamples=len(draws), confidence=confidence
        )
        out.append((r.stderr, low, high))
    return out


def minimum_mi_spans(
    whole: np.ndarray, draws: np.ndarray, n: int, scheme: Scheme, confidence: float = CONFIDENCE
) -> list[tuple[float, float, float]]:
    """The (standard error, low, high) of the minimum-MI parts ``(r, u1, u2, s, total)`` (``whole``, and
    per resample ``draws``), each interval composed from those of smooth functions of the sample.

    With ``I_i = I(X_i; T)``, ``D = I_1 - I_2`` and ``K_i = I(X1, X2; T) - I_j`` (``j != i``, the
    information of X_i given the other source), the parts are ``r = min(I_1, I_2)``,
    ``u_1 = max(0, D)``, ``u_2 = max(0, -D)`` and ``s = min(K_1, K_2)``: monotone maps of smooth
    functions, read back from the parts as ``I_i = r + u_i``, ``D = u_1 - u_2`` and ``K_i = u_i + s``.
    At a tie (``I_1 = I_2``) the maps have a kink: ``r`` is a minimum of two noisy branches, biased low
    by ``E[min] - min = -sigma phi(0) = -sigma / sqrt(2 pi)`` with ``sigma^2 = Var(I_1 - I_2)`` (the
    mean of the minimum of two normals of equal means, Clark 1961), a bias that shrinks only as
    N^-1/2: the trend from half the rows to all reads ``sqrt(2) - 1`` of it, mostly within the noise of
    the halves' mean, so an interval from the resamples of ``r`` itself misses on one side. The smooth
    functions have no such kink: each of their intervals ``[l, h]`` (:func:`part_spans`) covers its
    truth at the nominal rate, and a monotone map of the truths lies in the map of the intervals:
    ``r`` in ``[min(l_1, l_2), min(h_1, h_2)]``, ``u_1`` in
    ``[l_D, h_D]`` held at 0 (:func:`~iblearn.functional.inference.clipped`: wholly below 0, it becomes
    ``[0, its half-width]``, not the point 0), ``u_2`` in ``[-h_D, -l_D]`` held alike, ``s`` in
    ``[min(l_K1, l_K2), min(h_K1, h_K2)]``. A minimum's interval misses high only where both lower
    ends do, but low where either upper end does: at a tie, up to twice a branch's one-sided rate. So
    where the two branches' intervals overlap (either may be the smaller), the upper ends are taken at
    half the one-sided level (confidence ``(1 + c) / 2``; Bonferroni's bound for the union of the two
    misses), and the interval misses low at most at the nominal one-sided rate. Away from a tie the
    intervals do not overlap, every resample takes the same branch, and the interval is the smaller
    branch's, that of the part itself. Each part keeps its own resampled standard error; the total is
    smooth and keeps its interval.

    References:
        C. E. Clark. The greatest of a finite set of random variables. Oper. Res. 9, 145 (1961).
        S. Nadarajah, S. Kotz. Exact distribution of the max/min of two Gaussian random variables. IEEE
        Trans. VLSI Systems 16, 210 (2008).
    """
    r, u1, u2, s = whole[:4]
    branches = np.array([r + u1, r + u2, u1 - u2, u1 + s, u2 + s])
    halves = np.stack([draws[:, 0] + draws[:, 1], draws[:, 0] + draws[:, 2], draws[:, 1] - draws[:, 2]], 1)
    halves = np.concatenate([halves, (draws[:, [1, 2]] + draws[:, [3]])], 1)
    spans = [span[1:] for span in part_spans(branches, halves, n, scheme, confidence)]
    # Upper ends at half the one-sided level, for a minimum whose two branches overlap (docstring).
    wide = [span[2] for span in part_spans(branches, halves, n, scheme, (1 + confidence) / 2)]
    (ld, hd), own = spans[2], part_spans(whole, draws, n, scheme, confidence)
    composed = [
        _minimum(spans[0], spans[1], wide[0], wide[1]),
        clipped(ld, hd, 0.0),
        clipped(-hd, -ld, 0.0),
        _minimum(spans[3], spans[4], wide[3], wide[4]),
        own[4][1:],
    ]
    return [(own[j][0], low, high) for j, (low, high) in enumerate(composed)]


def _minimum(
    one: tuple[float, float], two: tuple[float, float], wide_one: float, wide_two: float
) -> tuple[float, float]:
    """The interval of ``min(a, b)`` from those of a and b (:func:`minimum_mi_spans`)."""
    (l1, h1), (l2, h2) = one, two
    if l1 <= h2 and l2 <= h1:
        return min(l1, l2), min(wide_one, wide_two)
    return min(l1, l2), min(h1, h2)
