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
#: Betas solved at once in each round of narrowing an interval around a critical beta.
SECTIONS = 15


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
        ahead = betas[betas > lo]
        hi, q_lo, lo = None, q_lo, lo
        for start in range(0, len(ahead), SECTIONS):
            chunk = ahead[start : start + SECTIONS]
            lo, hi, q_lo = _first_unstable(p, q_lo, lo, chunk, tol, max_iter)
            if hi is not None:
                break
        if hi is None:
            break
        lo, hi, q_lo = _bracket(p, q_lo, lo, hi, tol, max_iter)
        beta = math.sqrt(lo * hi)
        found.append(beta)
        q = _split(p, q_lo, hi)
    return found


def _follow(p: Tensor, q: Tensor, beta: float, tol: float, max_iter: int) -> Tensor:
    """The IB's fixed point at ``beta`` reached from the encoder ``q (X, T)``."""
    at = torch.tensor([beta], dtype=torch.float64, device=p.device)
    return solve(p, q[None], at, 1.0, tol, max_iter, bounded=False)[0]


def _first_unstable(
    p: Tensor, q_lo: Tensor, lo: float, betas: Tensor, tol: float, max_iter: int
) -> tuple[float, float | None, Tensor]:
    """The branch through ``q_lo`` (stable at ``lo``) solved at the increasing ``betas`` at once, each
    from ``q_lo``: the last stable beta before the first unstable one, that one (None if all are
    stable), and the solution at the former."""
    q = solve(p, q_lo.expand(len(betas), *q_lo.shape), betas, 1.0, tol, max_iter, bounded=False)
    mass, lam2, _ = directions(p, q)
    unstable = (torch.where(mass > 1e-12, betas[:, None] * lam2 - 1, -math.inf) > 0).any(1).tolist()
    first = unstable.index(True) if True in unstable else len(betas)
    if first > 0:
        lo, q_lo = float(betas[first - 1]), q[first - 1]
    return lo, float(betas[first]) if first < len(betas) else None, q_lo


def _bracket(
    p: Tensor, q_lo: Tensor, lo: float, hi: float, tol: float, max_iter: int
) -> tuple[float, float, Tensor]:
    """The interval [lo, hi] (stable at lo, unstable at hi) narrowed to a relative width of 1e-7: each
    round solves :data:`SECTIONS` betas inside it at once from the stable solution at lo and keeps the
    interval between the last stable one and the first unstable one (a bisection in a few rounds)."""
    while hi / lo - 1 > 1e-7:
        mids = torch.logspace(
            math.log10(lo), math.log10(hi), SECTIONS + 2, dtype=torch.float64, device=p.device
        )[1:-1]
        lo, found, q_lo = _first_unstable(p, q_lo, lo, mids, tol, max_iter)
        hi = hi if found is None else found
    return lo, hi, q_lo


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
