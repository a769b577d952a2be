"""The exact IB's search over encoders at every beta of a grid: the best deterministic encoders first, then
the self-consistent iteration from them, annealing across the grid, and cluster splits.

Every encoder tried is a feasible point of the same Lagrangian, and each beta keeps the lowest found, so
the answer is never worse than any start: in particular than the best deterministic encoder found (every
partition of X where |X| is small, the agglomerative path refined by the deterministic IB otherwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from iblearn.functional.ib.deterministic import (
    AGGLOMERATIVE_MAX,
    EXHAUSTIVE_START,
    agglomerative,
    best_partitions,
    lagrangian,
)
from iblearn.functional.ib.iterate import solve

#: Up to this many x, T gets a value per x from the start; above, T starts with half as many values
#: again as the best deterministic encoders use, and doubles while some beta uses all its values.
FULL_T = 16
#: Up to this many x the deterministic IB also starts from x to its own t and from random partitions.
FULL_DIB = 64
#: Split candidates solved at once are capped at about this many encoder entries (batch x |X| x |T|).
SPLIT_BUDGET = 1 << 21
#: The search's solves stop after this many iterations (the best at each beta is then iterated up to
#: ``max_iter``): a start that holds more clusters than its beta needs merges them only slowly.
SEARCH_ITER = 100
#: The search's solves stop when the Lagrangian falls by less than this (relative) in a cycle, whatever
#: the caller's ``tol``: a start is compared with the others, and only the best is polished to ``tol``.
SEARCH_TOL = 1e-6
#: The best encoder at each beta is iterated until its Lagrangian falls by less than this (relative) in
#: a cycle, or less where the caller's ``tol`` is below it.
POLISH_TOL = 1e-10
#: A soft warm start of the annealing is iterated this many steps (two extrapolation cycles), and further
#: only where it then lies below its beta's best.
SCREEN_ITER = 6
#: A split is kept where it lowers the Lagrangian by more than this (relative).
SPLIT_GAIN = 1e-8
#: Each round splits at most this many clusters of each beta's encoder (the most unstable), and the
#: rounds stop when none gains, or after this many (plus one for each doubling of T).
SPLIT_PER_BETA = 2
SPLIT_ROUNDS = 3
_TINY = 1e-300


@dataclass
class Search:
    """The problem and the best encoder found so far at each beta, with its Lagrangian."""

    p: Tensor
    betas: Tensor
    alpha: float
    tol: float
    max_iter: int
    gen: torch.Generator
    q: Tensor
    loss: Tensor

    def offer(self, found: Tensor, rows: Tensor | None = None, gain: float | None = None) -> Tensor:
        """Keep each candidate encoder (for the betas ``rows``, default all) that lowers its beta's
        Lagrangian by more than ``gain`` (relative; default ``tol``); returns which rows improved."""
        rows = torch.arange(len(self.betas), device=self.p.device) if rows is None else rows
        value = lagrangian(self.p, found, self.betas[rows], self.alpha)
        value = torch.where(torch.isnan(value), math.inf, value)
        best = torch.full_like(self.loss, math.inf).scatter_reduce(0, rows, value, "amin")
        winner = torch.full(self.loss.shape, -1, dtype=torch.long, device=self.p.device)
        chosen = value <= best[rows]  # each beta's best candidate (one of them where several tie)
        winner[rows[chosen]] = torch.arange(len(rows), device=self.p.device)[chosen]
        margin = (self.tol if gain is None else gain) * (1 + self.loss.abs())
        bound = torch.where(torch.isfinite(self.loss), self.loss - margin, self.loss)
        improved = best < bound
        take = improved.nonzero().flatten()
        self.q[take], self.loss[take] = found[winner[take]], best[take]
        return improved

    def solve(self, start: Tensor, rows: Tensor | None = None) -> Tensor:
        rows = torch.arange(len(self.betas), device=self.p.device) if rows is None else rows
        return self.offer(solve(self.p, start, self.betas[rows], self.alpha, self.tol, self.max_iter), rows)

    def screened(self, start: Tensor, rows: Tensor) -> Tensor:
        """:meth:`solve` for the soft starts that, after :data:`SCREEN_ITER` steps, already lie below
        their beta's Lagrangian: a warm start from a neighbour on the grid mostly falls back to the
        solution its beta holds, and this test spends the full iteration only on those that do not."""
        if self.alpha == 0 or len(rows) == 0:
            return self.solve(start, rows)
        short = solve(self.p, start, self.betas[rows], self.alpha, self.tol, SCREEN_ITER)
        value = lagrangian(self.p, short, self.betas[rows], self.alpha)
        keep = value < self.loss[rows] - self.tol * (1 + self.loss[rows].abs())
        if not bool(keep.any()):
            return torch.zeros(len(self.betas), dtype=torch.bool, device=self.p.device)
        return self.solve(short[keep], rows[keep])

    def pad(self, n_t: int) -> None:
        extra = n_t - self.q.shape[-1]
        if extra > 0:
            self.q = torch.cat([self.q, self.q.new_zeros(*self.q.shape[:-1], extra)], -1)


def solve_curve(
    p: Tensor, betas: Tensor, alpha: float, n_t: int, grow: bool, tol: float, max_iter: int, seed: int
) -> Tensor:
    """The best encoders ``(B, |X|, T)`` found at each beta, T at most ``n_t`` (grown up to |X| from a
    smaller start when ``grow``, a default the caller did not fix)."""
    gen = torch.Generator().manual_seed(seed)
    n_x = p.shape[0]
    # a loose ``tol`` does not make the deterministic search keep worse encoders than the soft one would
    det = deterministic(p, betas, n_t, min(tol, SEARCH_TOL), max_iter, gen, alpha == 0)
    if alpha == 0:
        return det
    det = packed(det)
    used = det.shape[-1]
    width = n_t if not grow or n_x <= FULL_T else min(n_x, max(used + 2 + used // 2, 8))
    det = torch.cat([det, det.new_zeros(*det.shape[:-1], width - used)], -1)
    loss = lagrangian(p, det, betas, alpha)
    s = Search(p, betas, alpha, SEARCH_TOL, min(max_iter, SEARCH_ITER), gen, det.clone(), loss)
    s.solve(det)
    anneal(s)
    rounds = 0
    while rounds < SPLIT_ROUNDS:
        improved, saturated = split_round(s)
        if saturated and grow and s.q.shape[-1] < n_x:
            s.pad(min(n_x, 2 * s.q.shape[-1]))
            continue
        if not bool(improved.any()):
            break
        anneal(s, improved)
        rounds += 1
    # each beta's best, iterated to convergence: never looser than POLISH_TOL, so that a loose ``tol``
    # still ends at the fixed point's Lagrangian, and kept wherever it is lower at all
    s.max_iter = max_iter
    s.offer(solve(p, s.q, betas, alpha, min(tol, POLISH_TOL), max_iter), gain=0.0)
    return packed(s.q) if grow else s.q


def packed(q: Tensor) -> Tensor:
    """The encoders ``q (B, X, T)`` with each one's used values of T first, and the values no encoder
    uses left out (a relabelling of T, which changes no term)."""
    used = q.sum(1) > 0
    order = torch.argsort((~used).to(torch.int8), dim=1, stable=True)
    q = torch.gather(q, 2, order[:, None, :].expand_as(q))
    return q[..., : max(1, int(used.sum(1).max()))]


def deterministic(
    p: Tensor, betas: Tensor, n_t: int, tol: float, max_iter: int, gen: torch.Generator, full: bool = True
) -> Tensor:
    """The best deterministic encoders found, one-hot ``(B, |X|, n_t)`` (where not ``full``, over only
    the values of T the search used): exact (every partition into at
    most ``n_t`` blocks) up to :data:`EXHAUSTIVE_START` x; above, the deterministic IB solved from the
    agglomerative path's best level at each beta and a finer one, annealed across the grid; where ``full``
    (the deterministic IB's own answer, not a start of the soft search) also from x to its own t and
    from random partitions."""
    n_x = p.shape[0]
    if n_x <= EXHAUSTIVE_START:
        return torch.nn.functional.one_hot(best_partitions(p, betas, n_t), n_t).to(p.dtype)
    starts = []
    if n_x <= AGGLOMERATIVE_MAX:
        h_t, i_ty, rows = agglomerative(p, n_t)
        best = (h_t[None, :] - betas[:, None] * i_ty[None, :]).argmin(1)
        finer = (2 * best + 1).clamp_max(len(rows) - 1)  # level k has k + 1 clusters
        starts += [rows[best], rows[finer]]
    if (full and n_x <= FULL_DIB) or not starts:
        starts.append(torch.arange(n_x, device=p.device).expand(len(betas), n_x) % n_t)
        starts.append(torch.randint(n_t, (len(betas), n_x), generator=gen).to(p.device))
    width = min(n_t, int(max(int(s.max()) for s in starts)) + 1)
    s = Search(
        p,
        betas,
        0.0,
        tol,
        max_iter,
        gen,
        p.new_zeros(len(betas), n_x, width),
        betas.new_full(betas.shape, math.inf),
    )
    one_hot = torch.nn.functional.one_hot(torch.cat(starts) % width, width).to(p.dtype)
    s.solve(one_hot, torch.arange(len(betas), device=p.device).repeat(len(starts)))
    anneal(s)
    if not full:  # a start of the soft search, which packs it: padding |X| x n_t per beta is wasted
        return s.q
    return torch.cat([s.q, s.q.new_zeros(*s.q.shape[:-1], n_t - width)], -1)


def anneal(s: Search, fresh: Tensor | None = None) -> None:
    """Warm starts across the grid until no beta improves: beta i from beta i-1's encoder (upward) and
    from beta i+1's (downward), where that one changed in the last pass (the two directions of
    deterministic annealing, Rose 1998), from the betas ``fresh`` (default all). A warm start keeps its
    clusters: the splits give T new values."""
    batch = len(s.betas)
    rows = torch.arange(batch, device=s.p.device)
    fresh = torch.ones(batch, dtype=torch.bool, device=s.p.device) if fresh is None else fresh
    for _ in range(batch):
        up, down = rows[1:][fresh[:-1]], rows[:-1][fresh[1:]]
        target, source = torch.cat([up, down]), torch.cat([up - 1, down + 1])
        # a start equal to the encoder its beta holds reaches that encoder again
        differ = (s.q[source] != s.q[target]).flatten(1).any(1)
        target, source = target[differ], source[differ]
        if len(target) == 0:
            break
        fresh = s.screened(s.q[source], target)


def directions(p: Tensor, q: Tensor, which: bool | Tensor = True) -> tuple[Tensor, Tensor, Tensor]:
    """For each cluster t of each encoder ``q (B, X, T)``: its mass q(t), lambda_2 of its own joint
    p(x, y | t) (the second-order condition of a split, beta lambda_2 <= 1) and the direction h(x) of its
    splitting (M's second eigenvector, zero off the cluster), ``(B, T)``, ``(B, T)``, ``(B, T, X)``.
    ``which``: False for lambda_2 alone (h is zero), or a mask ``(B, T)`` of the clusters wanted (both
    are zero at the others).

    With A[x, y] = p(x, y | t) / sqrt(p(x | t) p(y | t)), M's eigenvalues are those of the Y x Y matrix
    A'A[y, y'] = sum_x q(t|x) p(x, y) p(x, y') / (p(x) q(t) sqrt(p(y|t) p(y'|t))), one product of the
    encoders with the table p(x, y) p(x, y') / p(x), and the eigenvector v of A'A gives
    h(x) = sum_y p(y|x) v(y) / sqrt(p(y|t))."""
    n_x, n_y = p.shape
    px = p.sum(1)
    qt = q.transpose(1, 2)  # (B, T, X)
    mass = qt @ px
    if n_y < 2:
        return mass, torch.zeros_like(mass), torch.zeros_like(qt)
    used = mass > 1e-14  # an empty cluster has no joint of its own (and most are empty at low beta)
    if isinstance(which, Tensor):
        used &= which
    rows = qt[used]  # (U, X): only the clusters asked for
    own = mass[used]
    pyt = (rows @ p) / own.clamp_min(_TINY)[:, None]
    pyx = p / px[:, None]
    if n_x * n_y * n_y <= 1 << 22:
        gram = (rows @ (pyx[:, :, None] * p[:, None, :]).reshape(n_x, -1)).view(-1, n_y, n_y)
    else:
        gram = torch.einsum("ux,xy,xz->uyz", rows, pyx, p)
    root = torch.sqrt(pyt)
    gram = gram / (own[:, None, None] * root[:, :, None] * root[:, None, :]).clamp_min(_TINY)
    lam2 = mass.new_zeros(mass.shape)
    if which is False:
        lam2[used] = torch.linalg.eigvalsh(gram)[:, -2]
        return mass, lam2, torch.zeros_like(qt)
    values, vectors = torch.linalg.eigh(gram)
    lam2[used] = values[:, -2]
    h = qt.new_zeros(qt.shape)
    h[used] = (vectors[..., -2] / root.clamp_min(_TINY)) @ pyx.T  # (U, X)
    return mass, lam2, torch.where(qt > 0, h, 0.0)


def split_round(s: Search) -> tuple[Tensor, bool]:
    """Each beta's clusters split in two along their directions into an empty value of T, solved again
    and kept where that lowers the Lagrangian: softly, each cluster past its second-order condition
    (beta lambda_2(t) > 1, a saddle that a split leaves downhill); with its members apart, the cluster
    nearest to it (a split that only a finite step finds). Returns the betas that improved, and whether
    some beta had no empty value to split into."""
    compact(s)
    batch, n_x, n_t = s.q.shape
    mass, lam2, _ = directions(s.p, s.q, False)
    empty = mass <= 1e-14
    spare = torch.where(empty.any(1), empty.long().argmax(1), -1)
    excess = torch.where(mass > 1e-14, s.betas[:, None] * lam2 - 1, -math.inf)
    excess[spare < 0] = -math.inf
    per_beta = max(1, min(SPLIT_PER_BETA, n_t, SPLIT_BUDGET // (2 * batch * n_x * n_t)))
    order = torch.argsort(excess, 1, descending=True)[:, :per_beta]
    top = torch.gather(excess, 1, order)
    kinds = (("soft", top > 0), ("hard", torch.isfinite(top) & (torch.arange(per_beta) == 0)))
    wanted = torch.zeros_like(empty).scatter_(1, order, kinds[0][1] | kinds[1][1])
    h = directions(s.p, s.q, wanted)[2]  # the directions of only the clusters to split
    starts, rows = [], []
    for kind, chosen in kinds:
        b, k = torch.nonzero(chosen, as_tuple=True)
        if len(b) == 0:
            continue
        t = order[b, k]
        d = h[b, t] / h[b, t].abs().amax(1, keepdim=True).clamp_min(_TINY)
        col = s.q[b, :, t]
        kept = col * (0.5 + 0.45 * d) if kind == "soft" else col * (d >= 0)
        start = s.q[b].clone()
        start[torch.arange(len(b)), :, t] = kept
        start[torch.arange(len(b)), :, spare[b]] += col - kept
        starts.append(start)
        rows.append(b)
    saturated = bool((spare < 0).any())
    if not starts:
        return torch.zeros(batch, dtype=torch.bool), saturated
    found = solve(s.p, torch.cat(starts), s.betas[torch.cat(rows)], s.alpha, s.tol, s.max_iter)
    return s.offer(found, torch.cat(rows), SPLIT_GAIN), saturated


def compact(s: Search) -> None:
    """Clusters of equal q(y|t) merged into one at each beta, where that does not raise the Lagrangian
    (at alpha = 1 it leaves it as it is; below, it lowers H(T) more than alpha H(T|X)): the iteration
    keeps such twins apart forever, and each holds a value of T that a split could use."""
    pty = s.q.transpose(1, 2) @ s.p
    qt = pty.sum(-1)
    cond = pty / qt.clamp_min(_TINY)[..., None]
    used = qt > 1e-14
    # Equal rows have equal weighted sums (weights in (0, 1]): only the pairs whose sums agree are
    # compared entry by entry, not every pair over every y.
    weights = torch.arange(1, cond.shape[-1] + 1, dtype=cond.dtype, device=cond.device) / cond.shape[-1]
    key = cond @ weights
    near = (key[:, :, None] - key[:, None, :]).abs() < 1e-9 * float(weights.sum())
    near &= used[:, :, None] & used[:, None, :]
    near &= torch.ones_like(near[0]).tril(-1)  # t joins the first s < t it equals
    b, t, u = near.nonzero(as_tuple=True)
    equal = (cond[b, t] - cond[b, u]).abs().amax(-1) < 1e-9
    if not bool(equal.any()):
        return
    same = torch.zeros_like(near)
    same[b[equal], t[equal], u[equal]] = True
    rows = same.flatten(1).any(1).nonzero().flatten()
    same = same[rows]
    arange = torch.arange(qt.shape[1], device=qt.device)
    target = torch.where(same.any(-1), same.long().argmax(-1), arange)
    merged = torch.zeros_like(s.q[rows]).scatter_add_(-1, target[:, None, :].expand_as(s.q[rows]), s.q[rows])
    value = lagrangian(s.p, merged, s.betas[rows], s.alpha)
    loss = s.loss[rows]
    keep = value <= loss + 1e-12 * (1 + loss.abs())
    s.q[rows[keep]], s.loss[rows[keep]] = merged[keep], torch.minimum(value, loss)[keep]
