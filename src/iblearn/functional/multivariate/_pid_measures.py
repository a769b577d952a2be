"""Redundancy measures on a joint probability table ``p[x_1, ..., x_n, t]`` (numpy float64, nats).

Each measure maps an antichain of the redundancy lattice (sets of source axes) to the information the
sets share about the target, the last axis. Only the sources a node names enter its value.

References:
    P. Williams, R. Beer. Nonnegative decomposition of multivariate information. arXiv:1004.2515 (2010).
    A. Barrett. Exploration of synergistic and redundant information sharing in static and dynamical
    Gaussian systems. Phys. Rev. E 91, 052802 (2015).
    R. Ince. Measuring multivariate redundant information with pointwise common change in surprisal.
    Entropy 19, 318 (2017).
    A. Makkeh, A. Gutknecht, M. Wibral. Introducing a differentiable measure of pointwise shared
    information. Phys. Rev. E 103, 032149 (2021).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog

Sets = Sequence[Sequence[int]]

#: IPF stops when every constrained marginal is within this of its target.
IPF_TOLERANCE = 1e-15
IPF_MAX_ITERATIONS = 100_000
#: IPF's iterations before it looks for cells that must be empty.
IPF_QUICK_ITERATIONS = 500
#: Pointwise values within this of zero have no sign (the convention of dit's I_ccs: 1e-8 bits).
SIGN_TOLERANCE = 1e-8 * math.log(2)


def marginal(p: np.ndarray, keep: Sequence[int]) -> np.ndarray:
    """The marginal on the axes ``keep``, the others summed out and kept with length 1."""
    drop = tuple(i for i in range(p.ndim) if i not in keep)
    return p.sum(axis=drop, keepdims=True) if drop else p


def xlogy_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``log(num / den)`` where ``num > 0``, 0 elsewhere (the terms that probability 0 weights)."""
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    num, den = np.broadcast_to(num, out.shape), np.broadcast_to(den, out.shape)
    pos = num > 0
    out[pos] = np.log(num[pos] / den[pos])
    return out


def mutual_information(p: np.ndarray, axes: Sequence[int]) -> float:
    """``I(X_axes; T)`` of the table, T its last axis."""
    t = p.ndim - 1
    keep = sorted(set(axes))
    pxt, px, pt = marginal(p, [*keep, t]), marginal(p, keep), marginal(p, [t])
    return float((pxt * xlogy_ratio(pxt, px * pt)).sum())


def union_axes(sets: Sets) -> list[int]:
    return sorted({i for s in sets for i in s})


def mmi(p: np.ndarray, sets: Sets) -> float:
    """Minimum mutual information: ``min_i I(A_i; T)`` (Barrett 2015)."""
    return min(mutual_information(p, s) for s in sets)


def i_min(p: np.ndarray, sets: Sets) -> float:
    """Williams & Beer's ``I_min = sum_t p(t) min_i I(T = t; A_i)``, the specific information
    ``I(T = t; A) = sum_a p(a | t) log(p(t | a) / p(t))``."""
    t = p.ndim - 1
    pt = marginal(p, [t])
    specific = []
    for s in sets:
        pat, pa = marginal(p, [*sorted(s), t]), marginal(p, sorted(s))
        pa_given_t = np.divide(pat, pt, out=np.zeros_like(pat), where=pt > 0)
        spec = pa_given_t * xlogy_ratio(pat, pa * pt)
        specific.append(spec.sum(axis=tuple(range(p.ndim - 1))).ravel())
    return float((pt.ravel() * np.min(np.stack(specific), axis=0)).sum())


def i_sx_pointwise(p: np.ndarray, sets: Sets) -> np.ndarray:
    """The shared-exclusion redundancy of each outcome (Makkeh et al. 2021), a table like ``p``:

        ``i_sx = log( P(T = t, U) / (P(T = t) P(U)) )``,  U = the union of the events {A_i = a_i},

    0 where ``p`` is 0. Its mean under ``p`` is :func:`i_sx`."""
    shape, t = p.shape, p.ndim - 1
    configs = np.array(list(itertools.product(*(range(c) for c in shape[:-1]))))  # (M, n)
    same = np.zeros((len(configs), len(configs)), dtype=bool)
    for s in sets:
        sub = configs[:, sorted(s)]
        same |= (sub[:, None, :] == sub[None, :, :]).all(-1)
    pst = p.reshape(-1, shape[-1])
    union_t, union = same @ pst, same @ pst.sum(1)
    pt = marginal(p, [t]).reshape(1, -1)
    return xlogy_ratio(np.where(pst > 0, union_t, 0.0), union[:, None] * pt).reshape(shape)


def i_sx(p: np.ndarray, sets: Sets) -> float:
    """Shared-exclusion redundancy (Makkeh et al. 2021), the mean of :func:`i_sx_pointwise`."""
    return float((p * i_sx_pointwise(p, sets)).sum())


def pointwise_mi(p: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """``i(x_axes; t) = log p(x_axes, t) / (p(x_axes) p(t))`` of each outcome, a table like ``p``."""
    t = p.ndim - 1
    keep = sorted(set(axes))
    pxt, px, pt = marginal(p, [*keep, t]), marginal(p, keep), marginal(p, [t])
    return np.broadcast_to(xlogy_ratio(pxt, px * pt), p.shape)


def _ipf(
    q: np.ndarray, targets: list[tuple[Sequence[int], np.ndarray]], iterations: int
) -> tuple[np.ndarray, bool]:
    for _ in range(iterations):
        for c, target in targets:
            qc = marginal(q, c)
            q = q * np.divide(target, qc, out=np.zeros_like(qc), where=qc > 0)
        if max(float(np.abs(marginal(q, c) - target).max()) for c, target in targets) < IPF_TOLERANCE:
            return q, True
    return q, False


def _possible(p: np.ndarray, constraints: Sets, candidates: np.ndarray) -> np.ndarray:
    """The cells some table with the constrained marginals of ``p`` puts mass on: a cell is
    possible iff the linear program ``max q[cell]`` over those tables is positive."""
    cells = np.argwhere(candidates)
    rows, b = [], []
    for c in constraints:
        m = marginal(p, c)
        for idx in np.argwhere(m > -1):
            rows.append(np.all([cells[:, ax] == idx[ax] for ax in c], axis=0))
            b.append(m[tuple(idx)])
    a_eq = np.array(rows, dtype=float)
    out = np.zeros(p.shape, dtype=bool)
    for j, cell in enumerate(cells):
        cost = np.zeros(len(cells))
        cost[j] = -1.0
        res = linprog(cost, A_eq=a_eq, b_eq=np.array(b), bounds=(0, None), method="highs")
        out[tuple(cell)] = res.status == 0 and -res.fun > 1e-12
    return out


def maxent(p: np.ndarray, constraints: Sets) -> np.ndarray:
    """The maximum-entropy table with the marginals of ``p`` on each set of axes in ``constraints``,
    by iterative proportional fitting (Csiszar 1975) from the uniform table. Where the maximum lies on
    the boundary (cells that every such table leaves empty though no one marginal does) IPF converges
    slowly: it is restarted on the cells a linear program finds possible, where it converges fast."""
    targets = [(c, marginal(p, c)) for c in constraints]
    q, done = _ipf(np.full(p.shape, 1.0 / p.size), targets, IPF_QUICK_ITERATIONS)
    if not done:
        support = _possible(p, constraints, q > 0)
        q, done = _ipf(support / support.sum(), targets, IPF_MAX_ITERATIONS)
    return q


def i_ccs(p: np.ndarray, sets: Sets) -> float:
    """Ince's common change in surprisal: on the maximum-entropy table ``q`` with the sources' joint
    marginal and each ``(A_i, T)`` marginal of ``p``, the mean of the pointwise co-information
    ``c = sum_{S nonempty} (-1)^{|S|} log q(S)`` (S a subset of {A_1, ..., A_k, T}) over the outcomes
    where ``c``, every ``i(a_i; t)`` and ``i(a_1..a_k; t)`` share one sign."""
    t = p.ndim - 1
    axes = union_axes(sets)
    q = maxent(p, [axes] + [[*sorted(s), t] for s in sets])
    variables = [list(s) for s in sets] + [[t]]
    coinfo = np.zeros(q.shape)
    for r in range(1, len(variables) + 1):
        for sub in itertools.combinations(variables, r):
            qs = marginal(q, sorted({i for v in sub for i in v}))
            coinfo = coinfo + (-1) ** r * np.log(np.where(qs > 0, qs, 1.0))
    coinfo[np.abs(coinfo) < SIGN_TOLERANCE] = 0.0
    sign, agree = np.sign(coinfo), np.ones(q.shape, dtype=bool)
    for s in sets:
        pmi = xlogy_ratio(marginal(q, [*sorted(s), t]), marginal(q, sorted(s)) * marginal(q, [t]))
        pmi[np.abs(pmi) < SIGN_TOLERANCE] = 0.0
        agree &= np.sign(pmi) == sign
    joint = xlogy_ratio(marginal(q, [*axes, t]), marginal(q, axes) * marginal(q, [t]))
    agree &= np.sign(joint) == sign
    return float((q * coinfo)[agree & (q > 0)].sum())


def dep_uniques(p: np.ndarray) -> tuple[float, float]:
    """James, Emenheiser & Crutchfield's unique informations of two sources: the least increase of
    ``I(X1, X2; T)`` over the edges of the dependency lattice of (X1, X2, T) that add the constraint
    ``(X_i, T)``. Of its four such edges two add ``I(X_i; T)``; the others add ``I_ci - I_j`` and
    ``I_pw - I_j``, with ``I_ci`` of ``p(t) p(x1|t) p(x2|t)`` and ``I_pw`` of the maximum-entropy table
    with all three pairwise marginals."""
    i1, i2 = mutual_information(p, [0]), mutual_information(p, [1])
    pt = marginal(p, [2])
    ci = np.divide(marginal(p, [0, 2]) * marginal(p, [1, 2]), pt, out=np.zeros(p.shape), where=pt > 0)
    i_ci = mutual_information(ci, [0, 1])
    i_pw = mutual_information(maxent(p, [[0, 1], [0, 2], [1, 2]]), [0, 1])
    return min(i1, i_ci - i2, i_pw - i2), min(i2, i_ci - i1, i_pw - i1)
