"""BROJA unique information (Bertschinger, Rauh, Olbrich, Jost & Ay 2014) by a barrier method whose
optimum is certified by a Frank-Wolfe duality gap.

Over the tables Q with the ``(x1, t)`` and ``(x2, t)`` marginals of P,

    UI_1 = min_Q I_Q(X1; T | X2),

which is ``min_Q I_Q(X1, X2; T) - I(X2; T)``: the minimum of the convex ``f(Q) = -H_Q(T | X1, X2)``
(``H(T)`` is fixed) over a polytope. The barrier method (Boyd & Vandenberghe 2004, 11.3) follows the
central path by Newton steps in the polytope's affine hull from the strictly positive coupling
``p(x1, t) p(x2, t) / p(t)``. Its answer ``Q`` is certified by the Frank-Wolfe gap

    gap = max_S <grad f(Q), Q - S> >= f(Q) - min f,

S over the polytope (a linear program), so the synergy ``I_P(X1, X2; T) - I_Q(X1, X2; T)`` is exact to
within ``gap`` nats.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import linprog

#: The barrier method stops when (number of coordinates) * mu falls below this (nats).
BARRIER_TOLERANCE = 1e-14


class BrojaSolution(NamedTuple):
    """The minimiser ``q`` (a table like p), ``I_Q(X1, X2; T)`` at it, and the certified gap (nats)."""

    q: np.ndarray
    joint_mi: float
    gap: float


def _constraints(p: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``A q = b`` (the two source-target marginals) on the support's coordinates."""
    idx = np.argwhere(support)
    rows, b = [], []
    for axis in (0, 1):
        m = p.sum(axis=1 - axis)
        for a, t in np.argwhere(m > 0):
            rows.append((idx[:, axis] == a) & (idx[:, 2] == t))
            b.append(m[a, t])
    return np.array(rows, dtype=float), np.array(b)


def _objective(q: np.ndarray, cols: np.ndarray, n_cols: int) -> tuple[float, np.ndarray, np.ndarray]:
    """``f = sum q log(q / q_col)``, its gradient ``log(q / q_col)`` and Hessian
    ``diag(1 / q) - [same column] / q_col``."""
    qcol = np.bincount(cols, weights=q, minlength=n_cols)[cols]
    grad = np.log(q / qcol)
    hess = np.diag(1.0 / q) - (cols[:, None] == cols[None, :]) / qcol[:, None]
    return float(q @ grad), grad, hess


def _center(q: np.ndarray, basis: np.ndarray, cols: np.ndarray, n_cols: int, mu: float) -> np.ndarray:
    """Newton's method on ``f - mu sum log q`` in the affine hull, with backtracking."""
    for _ in range(100):
        f, g, h = _objective(q, cols, n_cols)
        g, h = g - mu / q, h + np.diag(mu / q**2)
        gz, hz = basis.T @ g, basis.T @ h @ basis
        # f is linear along each column's own direction; late on the path only mu's tiny term bends it
        dz = -np.linalg.lstsq(hz, gz, rcond=None)[0]
        decrement = float(-gz @ dz)
        if decrement / 2 < 1e-16:
            break
        d, step = basis @ dz, 1.0
        neg = d < 0
        if neg.any():
            step = min(1.0, 0.99 * float(np.min(-q[neg] / d[neg])))
        value = f - mu * np.log(q).sum()
        while step > 1e-16:
            qn = q + step * d
            if (qn > 0).all():
                if _objective(qn, cols, n_cols)[0] - mu * np.log(qn).sum() <= value - 0.25 * step * decrement:
                    break
            step /= 2
        q = q + step * d
    return q


def _gap(q: np.ndarray, grad: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """The Frank-Wolfe gap ``<g, q> - min_{S >= 0, A S = b} <g, S>`` by a linear program."""
    res = linprog(grad, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
    return max(float(grad @ q - res.fun), 0.0) if res.status == 0 else float("inf")


def solve_broja(p: np.ndarray) -> BrojaSolution:
    """Minimise ``I_Q(X1, X2; T)`` over the tables with the ``(x_i, t)`` marginals of ``p[x1, x2, t]``."""
    p1t, p2t, pt = p.sum(1), p.sum(0), p.sum((0, 1))
    prod = np.divide(p1t[:, None, :] * p2t[None, :, :], pt, out=np.zeros(p.shape), where=pt > 0)
    support = prod > 0
    idx = np.argwhere(support)
    cols = idx[:, 0] * p.shape[1] + idx[:, 1]
    cols = np.unique(cols, return_inverse=True)[1]
    n_cols = int(cols.max()) + 1
    q = prod[support]
    a, b = _constraints(p, support)
    basis = null_space(a)
    if basis.shape[1] > 0:
        mu = 1.0
        while len(q) * mu > BARRIER_TOLERANCE:
            q = _center(q, basis, cols, n_cols, mu)
            mu /= 8
    _, grad, _ = _objective(q, cols, n_cols)
    gap = _gap(q, grad, a, b) if basis.shape[1] > 0 else 0.0
    table = np.zeros(p.shape)
    table[support] = q
    qcol = table.sum(2, keepdims=True)
    joint = float((table * np.log(np.where(table > 0, table, 1) / np.where(table > 0, qcol * pt, 1))).sum())
    return BrojaSolution(table, joint, gap)
