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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from iblearn.functional.knn.engine import (
    PreparedCondition,
    ksg_cmi_prepared,
    ksg_cmi_prepared_batched,
    ksg_cmi_prepared_many,
    prepared_condition,
)


def surrogate_kind(segments: Sequence[int], n_permutations: int) -> str:
    """``"trials"`` where the trials are of one length and numerous enough for ``n_permutations``
    distinct orders (``R! >= n_permutations``, IDTxl's rule), else ``"shift"``."""
    r = len(segments)
    if r > 1 and len(set(segments)) == 1 and math.factorial(min(r, 20)) >= n_permutations:
        return "trials"
    return "shift"


@dataclass(frozen=True)
class Surrogates:
    """The surrogates of one candidate variable, drawn once and laid out on demand: ``"trials"``, the
    variable's realisations taken from a permuted order of the trials (each trial's samples whole, so
    their autocorrelation is kept and only their alignment with the target is broken); ``"shift"``,
    within each trial the realisations shifted in time by at least a tenth of the trial, the samples
    shifted past one end of the trial taken from its mirror image there (:func:`reflected`).

    A circular shift would join the trial's end to its start: for a series that forgets its past
    slowly (an AR(1) process of root 0.9 or 0.99 over a few hundred steps) that joint is a jump no
    step of the series makes, the shifted copy no longer has the series' law, and independent
    processes pass as coupled about twice as often as alpha. The mirror image continues the series
    without a jump, and a time-reversible process (every Gaussian one) reads the same backwards."""

    segments: tuple[int, ...]
    kind: str
    #: ``(B, R)``: the trial order (``"trials"``) or each trial's shift (``"shift"``, in ``[0, 2 T_r)``:
    #: the offset into the trial followed by its mirror image, repeated) of surrogate b.
    draws: np.ndarray

    def __len__(self) -> int:
        return int(self.draws.shape[0])

    def dots(self, a: np.ndarray, column: np.ndarray) -> np.ndarray:
        """``a' c_b`` for every surrogate ``c_b`` of ``column`` ``(n,)``, with ``a`` ``(n, k)``:
        ``(B, k)``, without laying the surrogates out. Shifts: per trial, the circular
        cross-correlation of a (zero-padded to twice the trial) with the trial and its mirror image at
        every offset at once by FFT (``ifft(conj(fft a) fft c)``); trial orders: the R x R products of
        the trials' pieces, summed along each order."""
        starts = np.concatenate([[0], np.cumsum(self.segments)[:-1]]).astype(np.int64)
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

    def take(self, column: np.ndarray, which: slice | int | np.ndarray = slice(None)) -> np.ndarray:
        """Surrogates ``which`` of a variable's realisations ``column`` (``(n,)`` or ``(n, m)``, the m
        columns moved together): ``(b, n)`` or ``(b, n, m)``."""
        draws = np.atleast_2d(self.draws[which])
        starts = np.concatenate([[0], np.cumsum(self.segments)[:-1]]).astype(np.int64)
        pieces = []
        for r, (start, length) in enumerate(zip(starts, self.segments, strict=True)):
            if self.kind == "trials":
                # Trial r of surrogate b is trial draws[b, r] of the data.
                windows = np.stack([column[s : s + length] for s in starts])
                pieces.append(windows[draws[:, r]])
            else:
                pieces.append(column[start + reflected(length, draws[:, r])])
        return np.concatenate(pieces, axis=1)


def reflected(length: int, offsets: np.ndarray) -> np.ndarray:
    """``(B, length)``: the samples of a trial of ``length`` that its shift by each offset takes, the
    trial followed by its mirror image ``(x_0 .. x_{T-1}, x_{T-1} .. x_0)`` read from the offset on,
    periodically. An offset s up to T shifts the series forward by s, its last s samples the trial's
    end read backwards; an offset 2T - s shifts it back by s, its first s samples the start read
    backwards; those between read the series backwards, mostly."""
    where = (np.arange(length)[None, :] + np.asarray(offsets)[:, None]) % (2 * length)
    return np.where(where < length, where, 2 * length - 1 - where)


def surrogates(segments: tuple[int, ...], count: int, kind: str, key: Sequence[int]) -> Surrogates:
    """The :class:`Surrogates` drawn from ``numpy.random.default_rng(key)``: a key of the seed, the
    target, the step and the variable, so that they never depend on which worker runs the target."""
    rng = np.random.default_rng([int(k) % 2**64 for k in key])
    if kind == "trials":
        return Surrogates(segments, kind, np.stack([rng.permutation(len(segments)) for _ in range(count)]))
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
    ``prepared`` holds what an estimator makes of them once for all candidates (by its key)."""

    basis: np.ndarray
    target: np.ndarray
    z: np.ndarray
    prepared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def residual(self, a: np.ndarray) -> np.ndarray:
        """``a`` (``(n,)``, ``(n, m)`` or ``(n, B)``) less its least-squares fit on ``[1, Z]``."""
        return a - self.basis @ (self.basis.T @ a)


def condition(y: np.ndarray, z: np.ndarray) -> Condition:
    """The :class:`Condition` of target present ``y`` ``(n,)`` given ``z`` ``(n, d)`` (d may be 0)."""
    design = np.column_stack([np.ones(len(y)), z])
    u, s, _ = np.linalg.svd(design, full_matrices=False)
    basis = u[:, s > RANK_TOL * s[0]]
    c = Condition(basis, y, z)
    return Condition(basis, c.residual(y), z)


def _explained(ry: np.ndarray, rc: np.ndarray) -> float:
    """Share of ``ry``'s sum of squares that the columns of ``rc`` explain by least squares."""
    coef = np.linalg.lstsq(rc, ry, rcond=None)[0]
    fitted = rc @ coef
    return float(fitted @ fitted) / float(ry @ ry)


def _nats(share: np.ndarray | float) -> np.ndarray:
    return -0.5 * np.log1p(-np.clip(share, 0.0, 1.0 - 1e-15))


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
            cond.prepared[key] = prepared_condition(ry, z, self.k)
        return cond.prepared[key]

    def value(self, cond: Condition, c: np.ndarray) -> float:
        """``ksg_cmi(residual c, residual y, z, k)`` (``ksg_mi`` for an empty z), bit for bit."""
        rc = torch.from_numpy(np.ascontiguousarray(cond.residual(c.reshape(len(c), -1))))
        return float(ksg_cmi_prepared(self._prepared(cond), rc))

    def values(self, cond: Condition, c: np.ndarray, plan: Surrogates, which: np.ndarray) -> np.ndarray:
        """:meth:`value` of the surrogates ``which`` (indices into ``plan``) of ``c``: ``(len(which),)``,
        the same numbers. A 1-d ``c``'s surrogates are residualized one by one (the same samples bit for
        bit), then estimated together (:func:`~iblearn.functional.knn.engine.ksg_cmi_prepared_many`)."""
        if len(which) == 0:
            return np.empty(0)
        samples = plan.take(c, np.asarray(which))
        if samples.ndim == 3:
            return np.array([self.value(cond, sample) for sample in samples])
        residuals = np.stack([cond.residual(sample.reshape(len(sample), 1))[:, 0] for sample in samples])
        return ksg_cmi_prepared_many(self._prepared(cond), residuals)

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
        """The estimate for every surrogate of ``c`` in ``plan``: ``(B,)``, each surrogate residualized
        and made ready as :meth:`KSGCMI.value` does (the same samples bit for bit), then counted on the
        device in one batch (:func:`~iblearn.functional.knn.cmi_batched.ksg_cmi_prepared_batched`)."""
        residuals = np.stack([cond.residual(sample.reshape(len(sample), -1)) for sample in plan.take(c)])
        values = ksg_cmi_prepared_batched(self._prepared(cond), torch.from_numpy(residuals), self.device)
        return values.cpu().numpy()


Engine = GaussianCMI | KSGCMI


def engine(method: str, device: torch.device | str | None = None) -> Engine:
    """The estimator of ``method`` (``"copula"`` is the Gaussian one on normal scores); for ``"ksg"``
    with a ``device``, :class:`BatchedKSGCMI` on it (the Gaussian ones are batched in numpy already)."""
    if method != "ksg":
        return GaussianCMI()
    return KSGCMI() if device is None else BatchedKSGCMI(torch.device(device))
