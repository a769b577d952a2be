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
#: Betas of the grid solved at once while looking for the next critical beta along the branch (the first
#: unstable one ends the look; those past it are wasted work).
SECTIONS = 5


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
    clusters t fails the second-order condition beta lambda_2(p(x, y | t)) <= 1, found by regula falsi.
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
        g_lo = float(_margin(p, q_lo[None], torch.tensor([lo], dtype=torch.float64, device=p.device)))
        if g_lo > 0:
            q = _split(p, q_lo, lo)
            continue
        ahead = betas[betas > lo]
        hi, g_hi = None, math.nan
        for start in range(0, len(ahead), SECTIONS):
            chunk = ahead[start : start + SECTIONS]
            lo, hi, q_lo, g_lo, g_hi = _first_unstable(p, q_lo, lo, g_lo, chunk, tol, max_iter)
            if hi is not None:
                break
        if hi is None:
            break
        lo, hi, q_lo = _bracket(p, q_lo, (lo, g_lo), (hi, g_hi), tol, max_iter)
        beta = math.sqrt(lo * hi)
        found.append(beta)
        q = _split(p, q_lo, hi)
    return found


def _follow(p: Tensor, q: Tensor, beta: float, tol: float, max_iter: int) -> Tensor:
    """The IB's fixed point at ``beta`` reached from the encoder ``q (X, T)``."""
    at = torch.tensor([beta], dtype=torch.float64, device=p.device)
    return solve(p, q[None], at, 1.0, tol, max_iter, bounded=False)[0]


def _margin(p: Tensor, q: Tensor, betas: Tensor) -> Tensor:
    """The most unstable cluster's beta lambda_2(t) - 1 of each encoder ``q (B, X, T)`` at its beta: along
    a branch a smooth function of beta, negative where the branch is stable, zero at its bifurcation."""
    mass, lam2, _ = directions(p, q, False)
    return torch.where(mass > 1e-12, betas[:, None] * lam2 - 1, -math.inf).amax(1)


def _first_unstable(
    p: Tensor, q_lo: Tensor, lo: float, g_lo: float, betas: Tensor, tol: float, max_iter: int
) -> tuple[float, float | None, Tensor, float, float]:
    """The branch through ``q_lo`` (stable at ``lo``, of margin ``g_lo``) solved at the increasing
    ``betas`` at once, each from ``q_lo``: the last stable beta before the first unstable one, that one
    (None if all are stable), the solution at the former and the two margins (:func:`_margin`)."""
    q = solve(p, q_lo.expand(len(betas), *q_lo.shape), betas, 1.0, tol, max_iter, bounded=False)
    margin = _margin(p, q, betas).tolist()
    first = next((i for i, g in enumerate(margin) if g > 0), len(betas))
    if first > 0:
        lo, q_lo, g_lo = float(betas[first - 1]), q[first - 1], margin[first - 1]
    if first == len(betas):
        return lo, None, q_lo, g_lo, math.nan
    return lo, float(betas[first]), q_lo, g_lo, margin[first]


def _bracket(
    p: Tensor, q_lo: Tensor, lower: tuple[float, float], upper: tuple[float, float], tol: float, max_iter: int
) -> tuple[float, float, Tensor]:
    """The interval [lo, hi] (stable at lo, unstable at hi; ``lower`` and ``upper`` each a beta and its
    margin, :func:`_margin`) narrowed to a relative width of 1e-7, each beta solved from the stable
    solution at lo. The margin is smooth along the branch, so a round solves two betas a little either
    side of the secant's root at once (the Illinois variant of regula falsi: an end kept twice has its
    margin halved), which brackets the root in a few rounds; a round that does not halve the interval
    is followed by a bisection step (the margin is known only to the iteration's accuracy)."""
    (lo, g_lo), (hi, g_hi) = lower, upper
    kept, secant = "", True
    while hi / lo - 1 > 1e-7:
        width = hi / lo
        if secant and g_lo < 0 < g_hi:
            root = lo + (hi - lo) * (-g_lo) / (g_hi - g_lo)
            step = max(3e-8, 1e-3 * (width - 1))  # the secant's error shrinks as the interval's square
            near = [b for b in (root * (1 - step), root * (1 + step)) if lo < b < hi] or [root]
        else:
            near = [math.sqrt(lo * hi)]
        mids = torch.tensor(near, dtype=torch.float64, device=p.device)
        new_lo, found, q_lo, g_new, g_found = _first_unstable(p, q_lo, lo, g_lo, mids, tol, max_iter)
        lo_kept = new_lo == lo
        lo, g_lo = new_lo, (g_lo / 2 if lo_kept and kept == "lo" else g_new)
        if found is None:
            g_hi = g_hi / 2 if kept == "hi" else g_hi
        else:
            hi, g_hi = found, g_found
        kept = "hi" if found is None else "lo" if lo_kept else ""
        secant = math.log(hi / lo) < 0.5 * math.log(width)
    return lo, hi, q_lo


def _excess(p: Tensor, q: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """Each cluster's beta lambda_2(t) - 1 (-inf for an empty one) and direction of splitting."""
    mass, lam2, h = directions(p, q[None])
    return torch.where(mass[0] > 1e-12, beta * lam2[0] - 1, -math.inf), h[0]


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
