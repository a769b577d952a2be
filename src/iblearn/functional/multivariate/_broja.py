"""BROJA unique information (Bertschinger, Rauh, Olbrich, Jost & Ay 2014) by a sparse barrier method
whose optimum is certified by a Frank-Wolfe duality gap.

Over the tables Q with the ``(x1, t)`` and ``(x2, t)`` marginals of P,

    UI_1 = min_Q I_Q(X1; T | X2),

which is ``min_Q I_Q(X1, X2; T) - I(X2; T)``: the minimum of the convex ``f(Q) = -H_Q(T | X1, X2)``
(``H(T)`` is fixed) over a polytope. The barrier method (Boyd & Vandenberghe 2004, 11.3) follows the
central path by Newton steps from the strictly positive coupling ``p(x1, t) p(x2, t) / p(t)``.

Each Newton step solves the equality-constrained KKT system by its Schur complement. The Hessian of
``f - mu sum log q`` is block diagonal, one block per column ``(x1, x2)``: a diagonal minus a rank-one
term, inverted in closed form (Sherman-Morrison), so a step costs a dense solve of the size of the
constraints (``(|X1| + |X2| - 1) |T|``), never of the table. Every step is a short array call, so a
KeyboardInterrupt reaches Python between steps.

The answer ``Q`` is certified by the Frank-Wolfe gap

    gap = max_S <grad f(Q), Q - S> >= f(Q) - min f,

S over the polytope: a linear program that separates into one transport problem per ``t``. The
synergy ``I_P(X1, X2; T) - I_Q(X1, X2; T)`` is exact to within ``gap`` nats.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.optimize import linprog

#: The barrier method stops when (number of coordinates) * mu falls below this (nats).
BARRIER_TOLERANCE = 1e-14
#: Newton steps at most per value of the barrier weight mu.
MAX_NEWTON_STEPS = 100


class BrojaSolution(NamedTuple):
    """The minimiser ``q`` (a table like p), ``I_Q(X1, X2; T)`` at it, and the certified gap (nats)."""

    q: np.ndarray
    joint_mi: float
    gap: float


class _Problem(NamedTuple):
    """The support's cells, their column ``(x1, x2)`` and ``t``, and the marginal constraints."""

    cols: np.ndarray  # column index of each cell
    ts: np.ndarray  # t of each cell
    n_cols: int
    a: sp.csr_matrix  # A q = b, one redundant row per t dropped so that A has full row rank
    b: np.ndarray
    e: sp.csr_matrix  # cell -> column indicator, (cells, columns)


def _problem(p: np.ndarray, support: np.ndarray) -> _Problem:
    idx = np.argwhere(support)
    n = len(idx)
    cols = np.unique(idx[:, 0] * p.shape[1] + idx[:, 1], return_inverse=True)[1]
    n_cols = int(cols.max()) + 1
    rows, keys, b = [], [], []
    p1t, p2t = p.sum(1), p.sum(0)
    for axis, m in ((0, p1t), (1, p2t)):
        pairs = np.argwhere(m > 0)
        if axis == 1:  # the x2 rows of each t sum to its x1 rows: drop the first x2 row of each t
            first = np.unique(pairs[:, 1], return_index=True)[1]
            pairs = np.delete(pairs, first, axis=0)
        for a, t in pairs:
            keys.append((axis, a, t))
            b.append(m[a, t])
    lookup = {k: i for i, k in enumerate(keys)}
    cells = np.arange(n)
    for axis in (0, 1):
        r = [lookup.get((axis, int(v), int(t)), -1) for v, t in zip(idx[:, axis], idx[:, 2], strict=True)]
        r_arr = np.asarray(r)
        keep = r_arr >= 0
        rows.append((r_arr[keep], cells[keep]))
    ri = np.concatenate([r for r, _ in rows])
    ci = np.concatenate([c for _, c in rows])
    a = sp.csr_matrix((np.ones(len(ri)), (ri, ci)), shape=(len(keys), n))
    e = sp.csr_matrix((np.ones(n), (cells, cols)), shape=(n, n_cols))
    return _Problem(cols, idx[:, 2], n_cols, a, np.asarray(b, dtype=float), e)


def _f(q: np.ndarray, pr: _Problem) -> float:
    """``f = sum q log(q / q_col)``."""
    qcol = np.bincount(pr.cols, weights=q, minlength=pr.n_cols)[pr.cols]
    return float(q @ np.log(q / qcol))


def _newton_step(q: np.ndarray, pr: _Problem, mu: float) -> tuple[np.ndarray, np.ndarray]:
    """The Newton direction of ``f - mu sum log q`` on ``A q = b``, and the gradient there.

    The Hessian is ``D - E diag(1 / q_col) E^T`` with ``D = diag(1/q + mu/q^2)``. With
    ``y = E^T d / q_col`` and ``W = D^-1`` eliminated, the KKT system is a dense symmetric one in
    ``(y, lambda)`` of the size of the columns plus the constraints:

        [[diag(sigma), (A W E)^T], [A W E, -A W A^T]] [y, lambda] = [-E^T W g, r + A W g],

    with ``sigma = q_col - E^T W 1 = sum_col q mu / (q + mu)`` summed without cancellation. It is
    factored as it stands (symmetric indefinite): inverting the Hessian first would divide by sigma,
    which vanishes with mu along the column scalings where ``f`` is linear, and lose every digit.
    """
    qcol = np.bincount(pr.cols, weights=q, minlength=pr.n_cols)
    g = np.log(q / qcol[pr.cols]) - mu / q
    w = q * q / (q + mu)
    sigma = np.bincount(pr.cols, weights=q * mu / (q + mu), minlength=pr.n_cols)
    aw = pr.a.multiply(w[None, :]).tocsr()
    b_ = (aw @ pr.e).toarray()
    k0 = (aw @ pr.a.T).toarray()
    c, m = pr.n_cols, pr.a.shape[0]
    kkt = np.empty((c + m, c + m))
    kkt[:c, :c] = np.diag(sigma)
    kkt[:c, c:] = b_.T
    kkt[c:, :c] = b_
    kkt[c:, c:] = -k0
    wg = w * g
    rhs = np.concatenate([-np.bincount(pr.cols, weights=wg, minlength=c), pr.b - pr.a @ q + pr.a @ wg])
    # scale rows and columns alike so that each diagonal block is of order one
    scale = 1 / np.sqrt(np.concatenate([qcol, np.maximum(np.diag(k0), 1e-300)]))
    scaled = kkt * scale[:, None] * scale[None, :]
    with warnings.catch_warnings():
        # near-flat directions of f make the system ill-conditioned late on the path, as expected
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        try:
            sol = scipy.linalg.solve(scaled, rhs * scale, assume_a="sym", check_finite=False)
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(scaled, rhs * scale, rcond=None)[0]
    sol = sol * scale
    y, lam = sol[:c], sol[c:]
    return w * (-g + y[pr.cols] - pr.a.T @ lam), g


def _center(q: np.ndarray, pr: _Problem, mu: float) -> np.ndarray:
    """Newton's method on ``f - mu sum log q`` in the affine hull, with backtracking."""
    for _ in range(MAX_NEWTON_STEPS):
        d, g = _newton_step(q, pr, mu)
        decrement = float(-g @ d)
        if decrement / 2 < 1e-16:
            break
        step = 1.0
        neg = d < 0
        if neg.any():
            step = min(1.0, 0.99 * float(np.min(-q[neg] / d[neg])))
        value = _f(q, pr) - mu * np.log(q).sum()
        while step > 1e-16:
            qn = q + step * d
            if (qn > 0).all() and _f(qn, pr) - mu * np.log(qn).sum() <= value - 0.25 * step * decrement:
                break
            step /= 2
        q = q + step * d
    return q


def _gap(q: np.ndarray, grad: np.ndarray, p: np.ndarray, support: np.ndarray) -> float:
    """The Frank-Wolfe gap ``<g, q> - min_{S >= 0, S has p's marginals} <g, S>``: the linear program
    separates over t into transport problems, each solved on its own."""
    table = np.zeros(p.shape)
    table[support] = grad
    p1t, p2t = p.sum(1), p.sum(0)
    low = 0.0
    for t in np.flatnonzero(p.sum((0, 1)) > 0):
        r, c = np.flatnonzero(p1t[:, t] > 0), np.flatnonzero(p2t[:, t] > 0)
        cost = table[np.ix_(r, c, [t])][..., 0]
        n1, n2 = len(r), len(c)
        rows = sp.vstack([sp.kron(sp.eye(n1), np.ones((1, n2))), sp.kron(np.ones((1, n1)), sp.eye(n2))])
        res = linprog(
            cost.ravel(),
            A_eq=rows.tocsr(),
            b_eq=np.concatenate([p1t[r, t], p2t[c, t]]),
            bounds=(0, None),
            method="highs",
        )
        if res.status != 0:
            return float("inf")
        low += float(res.fun)
    return max(float(grad @ q) - low, 0.0)


def solve_broja(p: np.ndarray) -> BrojaSolution:
    """Minimise ``I_Q(X1, X2; T)`` over the tables with the ``(x_i, t)`` marginals of ``p[x1, x2, t]``."""
    p1t, p2t, pt = p.sum(1), p.sum(0), p.sum((0, 1))
    prod = np.divide(p1t[:, None, :] * p2t[None, :, :], pt, out=np.zeros(p.shape), where=pt > 0)
    support = prod > 0
    pr = _problem(p, support)
    q = prod[support]
    free = len(q) > pr.a.shape[0]  # a polytope of more than one point
    if free:
        mu = 1.0
        while len(q) * mu > BARRIER_TOLERANCE:
            q = _center(q, pr, mu)
            mu /= 8
    qcol = np.bincount(pr.cols, weights=q, minlength=pr.n_cols)[pr.cols]
    grad = np.log(q / qcol)
    gap = _gap(q, grad, p, support) if free else 0.0
    table = np.zeros(p.shape)
    table[support] = q
    qcol3 = table.sum(2, keepdims=True)
    joint = float((table * np.log(np.where(table > 0, table, 1) / np.where(table > 0, qcol3 * pt, 1))).sum())
    return BrojaSolution(table, joint, gap)
