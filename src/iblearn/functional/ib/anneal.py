"""The light search of :func:`iblearn.functional.ib.exact.ib_curve`: one path of deterministic annealing
(Rose 1998) from the largest beta of the grid down to the smallest.

At the largest beta the iteration starts from every x on its own value of T, the encoder the IB tends to
as beta grows (there T keeps all of X that tells about Y); each smaller beta is warm-started from the
answer of the beta above it. Going down, clusters only merge (two values of T whose q(y|t) meet stay
together), which the iteration does by itself; going up, a cluster would have to be split at each
bifurcation, which the self-consistent equations do not do from a symmetric start. Values of T without
mass are dropped along the way and values whose q(y|t) have met are merged into one, so each step of
the path costs the distinct clusters still in use. Each answer is
a fixed point of the self-consistent equations reached by iterating them, kept only where it is below the
trivial encoder's Lagrangian (0: one value of T, which the path reaches only slowly near the first
critical beta).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

import iblearn.functional.ib.iterate as iterate
from iblearn.functional.ib import iterate_np
from iblearn.functional.ib.deterministic import agglomerative, lagrangian

#: The path's iteration stops when the Lagrangian falls by less than this (relative) in a cycle, or less
#: where the caller's ``tol`` is below it: each beta's answer is the next one's start, and a start left
#: far from its fixed point carries its error down the path.
PATH_TOL = 1e-6
#: A value of T of at most this mass is dropped from the path (it no longer changes any term).
EMPTY = 1e-14
#: Two values of T whose q(y|t) differ by less than this (at every y) are merged into one on the path: a
#: pair that meets going down stays together (an exact pair only splits going up), and each value of T a
#: merge frees is work the iteration no longer does at every smaller beta.
TWIN = 1e-4
#: A beta's answer that settled within this many steps (20 SQUAREM cycles) is not iterated again by
#: the default search: measured on random joints, a second run gains at most a few 1e-9 nats there,
#: and up to 1e-7 after slower runs (near a critical beta, where the stopping rule sees a slow mode's
#: small steps; a fresh extrapolation moves along it).
QUICK = 60
#: Twin and empty values of T are looked for every this many steps of a beta's iteration, not only at its
#: end: near a critical beta a beta's iteration is long and its pairs meet early in it, and each value of
#: T merged then is work the rest of the iteration no longer does (the merged encoder is iterated on from
#: its own Lagrangian).
EVERY = 60


def anneal_curve(
    p: Tensor, betas: Tensor, alpha: float, n_t: int, tol: float, max_iter: int
) -> tuple[Tensor, Tensor, Tensor]:
    """The encoders ``(B, |X|, n_t)`` of one annealing path down the sorted ``betas``, each at most
    ``n_t`` values of T (the path starts from the agglomerative IB's level of ``n_t`` clusters where
    ``n_t`` is below |X|, Slonim & Tishby 2000), their Lagrangians, and which are settled: the
    iteration's own answer, its Lagrangian falling by less than ``tol`` in its last cycle with no value
    of T merged or dropped after within :data:`QUICK` steps, or the trivial encoder (an exact fixed
    point). Another run of the iteration from a settled answer gains next to nothing; one that settled
    slowly is near a critical beta, where a fresh extrapolation can still move it along its slow mode."""
    n_x = p.shape[0]
    if n_t >= n_x:
        q = torch.eye(n_x, dtype=p.dtype, device=p.device)
    else:
        labels = agglomerative(p, n_t)[2][-1]
        q = torch.nn.functional.one_hot(labels, n_t).to(p.dtype)
    step_tol = min(tol, PATH_TOL)
    if alpha > 0 and p.device.type == "cpu":
        # one encoder at a time: numpy's fixed costs are torch's fraction (the kernel's, none)
        path, settled = _path_numpy(p.numpy(), q.numpy(), betas.numpy(), alpha, step_tol, max_iter, n_t)
        out = torch.from_numpy(path)
        done = torch.from_numpy((settled > 0) & (settled <= QUICK)).to(p.device)
    else:
        out = _path_torch(p, q, betas, alpha, step_tol, max_iter, n_t)
        done = torch.zeros(len(betas), dtype=torch.bool, device=p.device)
    # the trivial encoder (one value of T: H(T) = H(T|X) = I(T; Y) = 0) where it is lower
    value = lagrangian(p, out, betas, alpha)
    lower = value > 0
    out[lower] = 0.0
    out[lower, :, 0] = 1.0
    return out, value.clamp_max(0.0), done | lower


def _path_torch(
    p: Tensor, q: Tensor, betas: Tensor, alpha: float, tol: float, max_iter: int, n_t: int
) -> Tensor:
    """The path from ``q`` at the largest beta down, each beta's answer padded to ``n_t`` values."""
    out = p.new_zeros(len(betas), p.shape[0], n_t)
    px = p.sum(1)
    for i in range(len(betas) - 1, -1, -1):
        q = iterate.solve(p, q[None], betas[i : i + 1], alpha, tol, max_iter)[0]
        q = q[:, px @ q > EMPTY]
        q = q / q.sum(1, keepdim=True)
        out[i, :, : q.shape[1]] = q
    return out


def _path_numpy(
    p: np.ndarray, q: np.ndarray, betas: np.ndarray, alpha: float, tol: float, max_iter: int, n_t: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_path_torch` for soft encoders on numpy arrays, each beta by :func:`_beta_numpy`: the whole
    path in one call of the compiled kernel where it was built, else in numpy (the same steps); and the
    steps after which each beta settled (0 where it did not; see :func:`anneal_curve`)."""
    out, settled = np.zeros((len(betas), p.shape[0], n_t)), np.zeros(len(betas))
    if iterate.COMPILED:
        from iblearn.functional.ib import _iterate  # built where COMPILED

        p, q = np.ascontiguousarray(p, np.float64), np.ascontiguousarray(q, np.float64)
        betas = np.ascontiguousarray(betas, np.float64)
        n_x, n_y = p.shape
        limits = (EMPTY, TWIN, EVERY)
        _iterate.anneal(p, q, out, settled, betas, (n_x, n_y, n_t), alpha, tol, max_iter, limits)
        return out, settled
    for i in range(len(betas) - 1, -1, -1):
        q, settled[i] = _beta_numpy(p, q, betas[i], alpha, tol, max_iter)
        out[i, :, : q.shape[1]] = q
    return out, settled


def _beta_numpy(
    p: np.ndarray, q: np.ndarray, beta: float, alpha: float, tol: float, max_iter: int
) -> tuple[np.ndarray, int]:
    """One beta of the path from ``q``: SQUAREM cycles (:func:`iblearn.functional.ib.iterate_np.cycle`)
    from the start's own Lagrangian (no jump rises above it) until L falls by less than ``tol`` (relative)
    in a cycle or after ``max_iter`` steps, with the jumps along the drift of a slow run
    (:func:`iblearn.functional.ib.iterate_np.drift`), the encoder compacted (:func:`_compact`) every
    :data:`EVERY` steps and the cycles started afresh from it where that merged or dropped any value of T,
    then once more at the end; and the steps after which it settled with nothing merged or dropped after
    (0 where it did not)."""
    pyx, b = p / p.sum(1, keepdims=True), np.array([beta])
    q, log_q, last, cap = _start(p, q, b, alpha)
    i, going, until, mark, hist = 0, True, min(EVERY, max_iter), -1, log_q
    while i < max_iter:
        q, log_q, value, cap = iterate_np.cycle(p, pyx, (q, log_q), b, alpha, last, cap)
        going = last[0] - value[0] > tol * (1 + abs(value[0]))
        last, i = value, i + 3
        if not going:
            break
        if iterate_np.drift_due(i, mark):
            q, log_q, last = iterate_np.drift(p, pyx, (q, log_q), hist, b, alpha, last)
            cap, i, mark = np.full(1, np.inf), i + 3, -1
        if iterate_np.drift_marks(i, mark):
            hist, mark = log_q.copy(), i
        if i >= until and i < max_iter:
            merged = _compact(p, q[0])
            if merged.shape[1] < q.shape[2]:
                q, log_q, last, cap = _start(p, merged, b, alpha)
                mark = -1
            until = min(i + EVERY, max_iter)
    out = _compact(p, q[0])
    return out, i if not going and out.shape[1] == q.shape[2] else 0


def _start(
    p: np.ndarray, q: np.ndarray, b: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The batch of the one encoder ``q``, its floored logarithm, its Lagrangian and an unbounded cap."""
    log_q = np.log(np.maximum(q, iterate_np.TINY))[None]
    return q[None], log_q, iterate_np.lagrangian(p, q[None], b, alpha, log_q), np.full(1, np.inf)


def _compact(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The encoder ``q (X, T)`` over its values of T of mass above :data:`EMPTY`, in order, each merged
    into the first value kept before it whose q(y|t) is within :data:`TWIN` of its own, rows renormalised
    (``q`` itself where all are kept)."""
    mass = p.sum(1) @ q
    cond = (q.T @ p) / np.maximum(mass, EMPTY)[:, None]
    label = np.full(q.shape[1], -1)
    roots: list[int] = []
    for t in np.flatnonzero(mass > EMPTY):
        near = [s for s in roots if np.abs(cond[t] - cond[s]).max() < TWIN]
        label[t] = label[near[0]] if near else len(roots)
        roots += [] if near else [int(t)]
    if len(roots) == q.shape[1]:
        return q
    merged = np.zeros((q.shape[0], len(roots)))
    kept = label >= 0
    np.add.at(merged.T, label[kept], q.T[kept])
    return merged / merged.sum(1, keepdims=True)
