"""The soft self-consistent iteration of :mod:`.iterate` on numpy float64 arrays: for small batches on
the CPU, where the fixed cost of each torch operation outweighs its work. The same equations, the same
SQUAREM cycles (Varadhan & Roland 2008) and the same stopping rule."""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

_TINY = 1e-300


def lagrangian(p: np.ndarray, q: np.ndarray, betas: np.ndarray, alpha: float) -> np.ndarray:
    """H(T) - alpha H(T|X) - beta I(T; Y) of each encoder of the batch ``q (B, X, T)`` at its beta."""
    px, py = p.sum(1), p.sum(0)
    qt = px @ q
    h_t = -xlogy(qt, qt).sum(-1)
    h_t_x = -(xlogy(q, q).sum(-1) @ px)
    pty = q.transpose(0, 2, 1) @ p
    i_ty = np.maximum(xlogy(pty, pty).sum((-2, -1)) + h_t + xlogy(py, 1 / py).sum(), 0.0)
    return h_t - alpha * h_t_x - betas * i_ty


def step(p: np.ndarray, pyx: np.ndarray, q: np.ndarray, betas: np.ndarray, alpha: float) -> np.ndarray:
    """One pass of the self-consistent equations on a batch of soft encoders ``(B, X, T)``."""
    qt = p.sum(1) @ q
    pty = q.transpose(0, 2, 1) @ p
    with np.errstate(divide="ignore"):
        log_qt = np.log(qt)  # -inf for an empty value of T, which then stays empty
    log_qyt = np.log(np.maximum(pty, _TINY)) - np.log(np.maximum(qt, _TINY))[..., None]
    logits = log_qt[:, None, :] + betas[:, None, None] * (pyx @ log_qyt.transpose(0, 2, 1))
    return _softmax(logits / alpha)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def iterate(
    p: np.ndarray, q: np.ndarray, betas: np.ndarray, alpha: float, tol: float, max_iter: int
) -> np.ndarray:
    """:func:`iblearn.functional.ib.iterate.iterate` for soft encoders (alpha > 0) on numpy arrays."""
    pyx = p / p.sum(1, keepdims=True)
    q = q.copy()
    active = np.arange(len(q))
    last = np.full(len(q), np.inf)
    i = 0
    while i < max_iter and len(active) > 0:
        q0, b = q[active], betas[active]
        q1 = step(p, pyx, q0, b, alpha)
        q2 = step(p, pyx, q1, b, alpha)
        l0, l1, l2 = (np.log(np.maximum(t, _TINY)) for t in (q0, q1, q2))
        r, v = l1 - l0, l2 - 2 * l1 + l0
        norm_r = np.sqrt((r * r).sum((1, 2)))
        norm_v = np.sqrt((v * v).sum((1, 2)))
        s = -np.maximum(norm_r / np.maximum(norm_v, _TINY), 1.0)[:, None, None]
        with np.errstate(over="ignore", invalid="ignore"):  # an overshoot is caught below
            jump = step(p, pyx, _softmax(l0 - 2 * s * r + s * s * v), b, alpha)
            value = lagrangian(p, jump, b, alpha)
        worse = ~(value <= last[active])  # the jump overshot (or is not finite): keep the plain steps
        if worse.any():
            jump[worse] = q2[worse]
            value[worse] = lagrangian(p, q2[worse], b[worse], alpha)
        q[active] = jump
        going = last[active] - value > tol * (1 + np.abs(value))
        last[active] = value
        active, i = active[going], i + 3
    return q
