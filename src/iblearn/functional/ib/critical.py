"""The critical betas of the exact IB: where the continuing solution of the IB loses its second-order
stability (a cluster splits), and where the deterministic and generalized IBs' solutions change."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from iblearn.functional.ib.deterministic import terms
from iblearn.functional.ib.iterate import solve
from iblearn.functional.ib.solver import directions

_TINY = 1e-300


def lambda2(p: Tensor) -> Tensor:
    px, py = p.sum(1), p.sum(0)
    p = p[px > 0][:, py > 0]
    px, py = p.sum(1), p.sum(0)
    if min(p.shape) < 2:
        return torch.zeros((), dtype=torch.float64)
    s = torch.linalg.svdvals(p / torch.sqrt(px[:, None] * py[None, :]))
    return (s[1] ** 2).clamp(0, 1)


def split_betas(p: Tensor, betas: Tensor, tol: float, max_iter: int) -> list[float]:
    """The critical betas of the IB's continuing branch up to ``betas[-1]``: the first is 1 / lambda_2 of
    the joint; after each, the branch with more clusters (each unstable cluster's two halves pushed
    apart along its eigenvector) is followed on the grid, and the next is the beta at which one of its
    clusters t fails the second-order condition beta lambda_2(p(x, y | t)) <= 1, found by bisection.
    Where the branch is still unstable just past a split (a repeated eigenvalue: several directions
    break at once, as for Y = X) it splits again at the same critical beta."""
    lam2 = float(lambda2(p))
    if lam2 <= 0 or 1 / lam2 > float(betas[-1]):
        return []
    found = [1 / lam2]
    q = _split(p, torch.ones(p.shape[0], 1, dtype=torch.float64, device=p.device), found[0] * (1 + 1e-7))
    beta = found[0]
    while q.shape[1] < p.shape[0]:
        lo, q_lo = beta * 1.01, _follow(p, q, beta * 1.01, tol, max_iter)
        if _unstable(p, q_lo, lo):
            q = _split(p, q_lo, lo)
            continue
        hi = None
        for b in [b for b in betas.tolist() if b > lo]:
            q_b = _follow(p, q_lo, b, tol, max_iter)
            if _unstable(p, q_b, b):
                hi = b
                break
            lo, q_lo = b, q_b
        if hi is None:
            break
        while hi / lo - 1 > 1e-7:  # bisection
            mid = math.sqrt(lo * hi)
            q_mid = _follow(p, q_lo, mid, tol, max_iter)
            if _unstable(p, q_mid, mid):
                hi = mid
            else:
                lo, q_lo = mid, q_mid
        beta = math.sqrt(lo * hi)
        found.append(beta)
        q = _split(p, q_lo, hi)
    return found


def _follow(p: Tensor, q: Tensor, beta: float, tol: float, max_iter: int) -> Tensor:
    """The IB's fixed point at ``beta`` reached from the encoder ``q (X, T)``."""
    return solve(p, q[None], torch.tensor([beta], dtype=torch.float64, device=p.device), 1.0, tol, max_iter)[
        0
    ]


def _excess(p: Tensor, q: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """Each cluster's beta lambda_2(t) - 1 (-inf for an empty one) and direction of splitting."""
    mass, lam2, h = directions(p, q[None])
    return torch.where(mass[0] > 1e-12, beta * lam2[0] - 1, -math.inf), h[0]


def _unstable(p: Tensor, q: Tensor, beta: float) -> bool:
    return bool((_excess(p, q, beta)[0] > 0).any())


def _split(p: Tensor, q: Tensor, beta: float) -> Tensor:
    """Every cluster that is unstable at beta (clusters alike split together) in two halves."""
    parts = []
    for t, (value, h) in enumerate(zip(*_excess(p, q, beta), strict=True)):
        if float(value) > -1e-4:
            h = h / h.abs().max().clamp_min(_TINY)
            half = q[:, t] * (0.5 + 0.05 * h)
            parts += [half[:, None], (q[:, t] - half)[:, None]]
        else:
            parts.append(q[:, t : t + 1])
    return torch.cat(parts, 1)


def partition_changes(p: Tensor, q: Tensor, betas: Tensor, alpha: float) -> list[float]:
    """Between consecutive betas whose solutions differ, the beta at which the two Lagrangians are equal
    (L is linear in beta: L = A - beta I(T; Y))."""
    h_t, h_t_x, i_ty = terms(p, q)
    a = h_t - alpha * h_t_x
    out = []
    for i in range(len(betas) - 1):
        if float(i_ty[i + 1] - i_ty[i]) > 1e-9:
            out.append(float((a[i + 1] - a[i]) / (i_ty[i + 1] - i_ty[i])))
    return out
