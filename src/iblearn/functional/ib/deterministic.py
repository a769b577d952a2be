"""Deterministic encoders T = f(X) of a discrete joint: the information terms of any encoder, every
partition of a small X, and the agglomerative path of a large one.

A deterministic encoder has H(T | X) = 0, so its Lagrangian H(T) - alpha H(T | X) - beta I(T; Y) is
H(T) - beta I(T; Y) whatever alpha: the best partition at a beta is a point every solver of the IB, the
generalized IB and the deterministic IB can reach, and its Lagrangian a bound each answer must meet.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from iblearn.functional.ib.result import upper_envelope

#: Up to this many x (after merging the x of equal p(y|x)) the solvers start from the best of every
#: partition of X: B(9) = 21,147 partitions, a few milliseconds.
EXHAUSTIVE_START = 9
#: Up to this many x the agglomerative path keeps the |X| x |X| table of merge costs (128 MiB at 4,096).
AGGLOMERATIVE_MAX = 4096


def xlogx(t: Tensor) -> Tensor:
    return torch.special.xlogy(t, t)


def terms(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """H(T), H(T|X) and I(T; Y) in nats of encoders ``q (B, X, T)`` on the joint ``p (X, Y)``."""
    px, py = p.sum(1), p.sum(0)
    pxt = px[:, None] * q
    qt = pxt.sum(-2)
    h_t = -xlogx(qt).sum(-1)
    h_t_x = -(px[:, None] * xlogx(q)).sum((-2, -1))
    pty = q.transpose(-1, -2) @ p
    i_ty = (xlogx(pty).sum((-2, -1)) + h_t + torch.special.xlogy(py, 1 / py).sum()).clamp_min(0)
    return h_t, h_t_x, i_ty


def lagrangian(p: Tensor, q: Tensor, betas: Tensor, alpha: float) -> Tensor:
    """H(T) - alpha H(T|X) - beta I(T; Y) of each encoder of the batch ``q (B, X, T)`` at its beta."""
    h_t, h_t_x, i_ty = terms(p, q)
    return h_t - alpha * h_t_x - betas * i_ty


def partitions(n: int) -> Tensor:
    """Every set partition of n items as restricted growth strings ``(B(n), n)`` (int8): item i's block
    is at most 1 + the largest block of items 0..i-1."""
    rgs = torch.zeros(1, 1, dtype=torch.int8)
    top = torch.zeros(1, dtype=torch.int8)
    for _ in range(1, n):
        counts = (top + 2).long()
        rep = torch.repeat_interleave(torch.arange(len(rgs)), counts)
        start = torch.cumsum(counts, 0) - counts
        label = (torch.arange(len(rep)) - torch.repeat_interleave(start, counts)).to(torch.int8)
        rgs = torch.cat([rgs[rep], label[:, None]], 1)
        top = torch.maximum(top[rep], label)
    return rgs


def envelope_partitions(
    p: Tensor, chunk: int, max_blocks: int | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """The partitions of X (at most ``max_blocks`` blocks) on the upper concave envelope of the points
    (H(T), I(T; Y)): their H(T), I(T; Y) and labels ``(K, |X|)`` (int8), by H(T) increasing. At every
    beta one of them minimises H(T) - beta I(T; Y) over all partitions."""
    n = p.shape[0]
    rgs = partitions(n)
    if max_blocks is not None and max_blocks < n:
        rgs = rgs[rgs.max(1).values < max_blocks]
    best_h, best_i, best_rows = [torch.zeros(1, dtype=p.dtype)], [torch.zeros(1, dtype=p.dtype)], [rgs[:1]]
    for start in range(0, len(rgs), chunk):
        part = rgs[start : start + chunk].long()
        h_t, i_ty = partition_terms(p, part)
        ex, ey = upper_envelope(h_t, i_ty)
        keep = torch.isin(h_t, ex) & torch.isin(i_ty, ey)
        best_h.append(h_t[keep])
        best_i.append(i_ty[keep])
        best_rows.append(part[keep].to(torch.int8))
    hs, is_, rows = torch.cat(best_h), torch.cat(best_i), torch.cat(best_rows)
    ex, ey = upper_envelope(hs, is_)
    vertex = [
        int(((hs - h).abs() + (is_ - i).abs()).argmin())
        for h, i in zip(ex.tolist(), ey.tolist(), strict=True)
    ]
    return ex, ey, rows[torch.tensor(vertex)]


def best_partitions(p: Tensor, betas: Tensor, max_blocks: int) -> Tensor:
    """The partition of least H(T) - beta I(T; Y) at each beta, over every partition of X into at most
    ``max_blocks`` blocks: labels ``(B, |X|)``."""
    ex, ey, rows = envelope_partitions(p.cpu(), 1 << 16, max_blocks)
    choice = (betas.cpu()[:, None] * ey[None, :] - ex[None, :]).argmax(1)
    return rows[choice].long().to(p.device)


def agglomerative(p: Tensor, max_blocks: int) -> tuple[Tensor, Tensor, Tensor]:
    """The agglomerative IB (Slonim & Tishby 2000): from one cluster per x, merge the pair whose merging
    loses least I(T; Y), m JS_pi(q(y|s), q(y|t)) for clusters of mass m = q(s) + q(t), pi = q(s) / m,
    until one is left. Returns H(T), I(T; Y) and labels ``(K, |X|)`` of the levels with at most
    ``max_blocks`` clusters, fewest first."""
    n = p.shape[0]
    pty = p.clone()
    alive = torch.ones(n, dtype=torch.bool, device=p.device)

    def loss(i: int) -> Tensor:  # the I(T; Y) lost by merging cluster i with each cluster
        pair = pty[i] + pty
        own = xlogx(pty).sum(1) - xlogx(pty.sum(1))
        out = own[i] + own - (xlogx(pair).sum(1) - xlogx(pair.sum(1)))
        out[i] = math.inf
        return torch.where(alive, out, math.inf)

    pair = pty[:, None, :] + pty[None, :, :]
    own = xlogx(pty).sum(1) - xlogx(pty.sum(1))
    cost = own[:, None] + own[None, :] - (xlogx(pair).sum(-1) - xlogx(pair.sum(-1)))
    cost.fill_diagonal_(math.inf)
    del pair
    labels = torch.arange(n, device=p.device)
    levels = [labels.clone()] if n <= max_blocks else []
    best, partner = cost.min(1)  # each row's cheapest merge, kept up to date: a merge changes two rows
    for k in range(n - 1, 0, -1):
        i = int(best.argmin())
        j = int(partner[i])
        pty[i] += pty[j]
        pty[j] = 0
        alive[j] = False
        labels[labels == j] = i
        cost[j, :] = math.inf
        cost[:, j] = math.inf
        row = loss(i)
        cost[i, :] = row
        cost[:, i] = row
        best[j] = math.inf
        stale = ((partner == i) | (partner == j)).nonzero().flatten()
        closer = row < best
        best, partner = torch.where(closer, row, best), torch.where(closer, i, partner)
        best[stale], partner[stale] = cost[stale].min(1)
        best[i], partner[i] = row.min(0)
        if k <= max_blocks:
            levels.append(torch.unique(labels, return_inverse=True)[1])
    rows = torch.stack(levels[::-1])
    h_t, i_ty = partition_terms(p, rows)
    return h_t, i_ty, rows


def partition_terms(p: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
    """H(T) and I(T; Y) of the partitions ``rows (K, |X|)`` (labels from 0), without one-hot encoders."""
    k, width = len(rows), int(rows.max()) + 1
    flat = (rows.long() + width * torch.arange(k, device=p.device)[:, None]).flatten()
    pty = torch.zeros(k * width, p.shape[1], dtype=p.dtype, device=p.device)
    pty = pty.index_add_(0, flat, p.repeat(k, 1)).view(k, width, -1)
    h_t = -xlogx(pty.sum(-1)).sum(-1)
    i_ty = (h_t - xlogx(p.sum(0)).sum() + xlogx(pty).sum((-2, -1))).clamp_min(0)
    return h_t, i_ty
