"""The self-consistent equations of the (generalized, deterministic) information bottleneck, iterated on a
batch of encoders (Tishby, Pereira & Bialek 1999; Strouse & Schwab 2017)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

import iblearn.functional.ib.iterate_np as iterate_np
from iblearn.functional.ib.deterministic import lagrangian, xlogx

_TINY = 1e-300
#: Batches of at least this many encoder entries (batch x |X| x |T|) are solved in groups by the number
#: of values of T they use; below, one group costs less.
GROUP_WORK = 1 << 16
#: Soft batches on the CPU of at most this many encoder entries are iterated in numpy (of any size in the
#: compiled kernel, where it was built).
NUMPY_WORK = 1 << 16
#: Whether soft batches on the CPU are iterated in the compiled kernel.
COMPILED = iterate_np.HAVE_KERNEL


def step(p: Tensor, pyx: Tensor, q: Tensor, betas: Tensor, alpha: float) -> Tensor:
    """One pass of the self-consistent equations on a batch of encoders ``(B, X, T)``."""
    qt = p.sum(1) @ q
    pty = q.transpose(-1, -2) @ p
    log_qyt = torch.log(pty.clamp_min(_TINY)) - torch.log(qt.clamp_min(_TINY))[..., None]
    # -D_KL(p(y|x) || q(y|t)) up to a term of x alone, which the normalisation over t removes.
    logits = torch.log(qt)[:, None, :] + betas[:, None, None] * (pyx @ log_qyt.transpose(-1, -2))
    if alpha == 0:
        best = logits.argmax(-1)
        return torch.nn.functional.one_hot(best, q.shape[-1]).to(q.dtype)
    return torch.softmax(logits / alpha, dim=-1)


def merge(p: Tensor, q: Tensor, betas: Tensor) -> tuple[Tensor, Tensor]:
    """Deterministic encoders with, in each, pairs of clusters merged greedily while a merge lowers the
    DIB's Lagrangian (the best pair first, then the best pair of clusters not yet touched, ...), and which
    were merged. Merging s and t of mass m = q(s) + q(t), pi = q(s) / m, changes H(T) by -m H_2(pi) and
    I(T; Y) by -m JS_pi(q(y|s), q(y|t)) (the agglomerative IB of Slonim & Tishby 2000), so
    L = H(T) - beta I(T; Y) changes by -m (H_2(pi) - beta JS_pi); the changes of disjoint pairs add up,
    so the pairs of one round lower L by the sum of their gains."""
    n_t = q.shape[-1]
    qt = p.sum(1) @ q
    pty = q.transpose(-1, -2) @ p
    first, second = torch.triu_indices(n_t, n_t, 1, device=q.device)  # each pair once, s < t
    m = qt[:, first] + qt[:, second]
    pair = pty[:, first, :] + pty[:, second, :]
    own_h, whole = xlogx(qt), xlogx(m)
    own = xlogx(pty).sum(-1)
    shared = own[:, first] + own[:, second] - xlogx(pair).sum(-1)
    # m H_2(pi) rounds differently in the two orders of the pair: the order of larger gain is the one
    # taken, and which of the two clusters keeps its label follows it
    h_st = whole - own_h[:, first] - own_h[:, second]
    h_ts = whole - own_h[:, second] - own_h[:, first]
    gain_st = h_st - betas[:, None] * (shared + h_st)  # the decrease of L
    gain_ts = h_ts - betas[:, None] * (shared + h_ts)
    flip = gain_ts > gain_st
    used = qt > 0
    gain = torch.where(used[:, first] & used[:, second], torch.maximum(gain_st, gain_ts), -math.inf)
    target = torch.arange(n_t, device=q.device).expand(len(q), n_t).clone()
    merged = torch.zeros(len(q), dtype=torch.bool, device=q.device)
    rows = torch.arange(len(q), device=q.device)
    for _ in range(n_t // 2):
        best, where = gain.max(1)
        take = best > 1e-12
        if not bool(take.any()):
            break
        turned = flip[rows[take], where[take]]
        s = torch.where(turned, second[where[take]], first[where[take]])
        t = torch.where(turned, first[where[take]], second[where[take]])
        target[rows[take], t] = s
        merged |= take
        # neither cluster takes part in another merge of this round
        hit = (first == s[:, None]) | (second == s[:, None]) | (first == t[:, None]) | (second == t[:, None])
        gain[rows[take]] = gain[rows[take]].masked_fill(hit, -math.inf)
    out = torch.zeros_like(q).scatter_add_(-1, target[:, None, :].expand_as(q), q)
    return out, merged


def solve(
    p: Tensor, q: Tensor, betas: Tensor, alpha: float, tol: float, max_iter: int, bounded: bool = True
) -> Tensor:
    """Iterate each encoder of the batch until its Lagrangian settles (or ``max_iter``); deterministic
    encoders (alpha = 0) then merge clusters while that lowers L, iterating after each.

    A value of T without mass stays without it, so a large batch is solved in groups of encoders that
    use about as many values, each group over only its used values (their labels kept). ``bounded``: see
    :func:`iterate`."""
    batch, _, n_t = q.shape
    if batch < 2 or n_t <= 4 or q.numel() < GROUP_WORK:
        return _solve(p, q, betas, alpha, tol, max_iter, bounded)
    used = (p.sum(1) @ q) > 1e-14
    order = torch.argsort((~used).to(torch.int8), dim=1, stable=True)
    index = order[:, None, :].expand_as(q)
    packed = torch.gather(q, 2, index)
    width = (2 ** torch.ceil(torch.log2(used.sum(1).clamp_min(1).double()))).long().clamp_max(n_t)
    out = torch.zeros_like(q)
    for w in torch.unique(width).tolist():
        rows = (width == w).nonzero().flatten()
        out[rows, :, :w] = _solve(p, packed[rows, :, :w], betas[rows], alpha, tol, max_iter, bounded)
    return torch.zeros_like(q).scatter_(2, index, out)


def _solve(
    p: Tensor, q: Tensor, betas: Tensor, alpha: float, tol: float, max_iter: int, bounded: bool
) -> Tensor:
    q = iterate(p, q, betas, alpha, tol, max_iter, bounded)
    if alpha > 0:
        return q
    active = torch.arange(len(q), device=q.device)
    for _ in range(q.shape[-1]):
        merged_q, merged = merge(p, q[active], betas[active])
        active = active[merged]
        if len(active) == 0:
            break
        q[active] = iterate(p, merged_q[merged], betas[active], alpha, tol, max_iter)
    return q


def _step_cap(cap: Tensor, length: Tensor, worse: Tensor) -> Tensor:
    """:func:`iblearn.functional.ib.iterate_np._step_cap`: the extrapolation's bound after a cycle."""
    return torch.where(worse, (length / 4).clamp_min(1.0), torch.where(length >= cap, 4 * cap, cap))


def iterate(
    p: Tensor, q: Tensor, betas: Tensor, alpha: float, tol: float, max_iter: int, bounded: bool = True
) -> Tensor:
    """The self-consistent iteration until each encoder's Lagrangian falls by less than ``tol``
    (relative) in a cycle (L converges as the square of the encoder, and its error is that of the point
    on the curve; a mass split between two identical clusters, which moves without changing L, never
    holds a run up), or until a deterministic encoder stops changing.

    Soft encoders are iterated in cycles of SQUAREM (Varadhan & Roland 2008): two steps, an
    extrapolation of log q along them, and a step from there, kept only where it lowers L; the
    extrapolation's length is bounded, the bound cut to a quarter of a length that overshot and raised
    fourfold after a jump at the bound held (Varadhan & Roland 2008, Sec. 7); unbounded where not
    ``bounded`` (the critical betas' search follows its branch with the plain rule). Near a
    critical beta the plain iteration slows down (its slowest mode's rate tends to 1); the extrapolation
    jumps along that mode, and a run still going after ``iterate_np.DRIFT_START`` steps also jumps along
    its drift over the last cycles (:func:`iblearn.functional.ib.iterate_np.drift`)."""
    if alpha > 0 and q.device.type == "cpu" and (COMPILED or q.numel() <= NUMPY_WORK):
        args = (p.numpy(), q.numpy(), betas.numpy(), alpha, tol, max_iter, bounded)
        return torch.from_numpy(iterate_np.iterate(*args, compiled=COMPILED))
    pyx = p / p.sum(1, keepdim=True)
    q = q.clone()
    active = torch.arange(len(q), device=q.device)
    last = torch.full((len(q),), math.inf, dtype=q.dtype, device=q.device)
    cap = torch.full_like(last, math.inf)  # stays inf where not bounded
    i, mark, hist = 0, -1, q
    while i < max_iter and len(active) > 0:
        q0, b = q[active], betas[active]
        if alpha == 0:
            new = step(p, pyx, q0, b, alpha)
            moved = (new != q0).flatten(1).any(1)
            q[active], active, i = new, active[moved], i + 1
            continue
        q1 = step(p, pyx, q0, b, alpha)
        q2 = step(p, pyx, q1, b, alpha)
        l0, l1, l2 = (torch.log(t.clamp_min(_TINY)) for t in (q0, q1, q2))
        r, v = l1 - l0, l2 - 2 * l1 + l0
        length = (r.flatten(1).norm(dim=1) / v.flatten(1).norm(dim=1).clamp_min(_TINY)).clamp_min(1.0)
        length = torch.minimum(length, cap[active])
        s = -length[:, None, None]
        jump = step(p, pyx, torch.softmax(l0 - 2 * s * r + s * s * v, -1), b, alpha)
        value = lagrangian(p, jump, b, alpha)
        worse = ~(value <= last[active])  # the jump overshot (or is not finite): keep the plain steps
        if bounded:
            cap[active] = _step_cap(cap[active], length, worse)
        if bool(worse.any()):
            jump[worse] = q2[worse]
            value[worse] = lagrangian(p, q2[worse], b[worse], alpha)
        q[active] = jump
        going = last[active] - value > tol * (1 + value.abs())
        last[active] = value
        active, i = active[going], i + 3
        # the jumps along a slow run's drift, on iterate_np.drift's steps
        if iterate_np.drift_due(i, mark) and len(active) > 0:
            q[active], last[active] = drift(
                p, pyx, q[active], hist[active], betas[active], alpha, last[active]
            )
            cap[active] = math.inf if bounded else cap[active]
            i, mark = i + 3, -1
        if iterate_np.drift_marks(i, mark):
            hist, mark = torch.log(q.clamp_min(_TINY)), i
    return q


def drift(
    p: Tensor, pyx: Tensor, q: Tensor, hist: Tensor, betas: Tensor, alpha: float, last: Tensor
) -> tuple[Tensor, Tensor]:
    """:func:`iblearn.functional.ib.iterate_np.drift` on a batch of soft encoders: the jumps along each
    one's drift since ``hist`` (its log q then), kept where below ``last``; the encoders and their
    Lagrangians."""
    q, best = q.clone(), last.clone()
    l0 = torch.log(q.clamp_min(_TINY))
    trying = torch.arange(len(q), device=q.device)
    c = 2.0
    while c <= iterate_np.DRIFT_MAX and len(trying) > 0:
        moved = torch.softmax(l0[trying] + c * (l0[trying] - hist[trying]), -1)
        jump = step(p, pyx, moved, betas[trying], alpha)
        value = lagrangian(p, jump, betas[trying], alpha)
        lower = value < best[trying]
        kept = trying[lower]
        q[kept], best[kept] = jump[lower], value[lower]
        trying, c = kept, 2 * c
    return q, best
