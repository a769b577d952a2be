"""The exact information bottleneck (IB) curve of a discrete joint distribution p(x, y).

The IB (Tishby, Pereira & Bialek 1999) asks for the encoder q(t|x) that minimises

    L = I(X; T) - beta I(T; Y)

and the generalized IB (Strouse & Schwab 2017) for the one minimising

    L_alpha = H(T) - alpha H(T|X) - beta I(T; Y),

which is the IB at ``alpha = 1`` and the deterministic IB (DIB) at ``alpha = 0``. Their minimisers are
the fixed points of the self-consistent equations (Tishby et al. 1999; Strouse & Schwab 2017 for
alpha < 1)

    q(t|x) proportional to exp[(log q(t) - beta D_KL(p(y|x) || q(y|t))) / alpha],
    q(t) = sum_x p(x) q(t|x),   q(y|t) = sum_x p(y|x) p(x) q(t|x) / q(t),

solved by iterating them (a Blahut-Arimoto iteration; at ``alpha = 0`` each x goes to the t of the
largest ``log q(t) - beta D_KL``). :func:`ib_curve` solves every beta of a grid at once, as one batch of
float64 tensors on any device, from several starts, then anneals: each beta is warm-started from the
solutions of its two neighbours on the grid, and keeps whichever of its candidates has the lowest
Lagrangian, until no beta improves (a solution travels one step of the grid a pass, upward and downward
at once: the two directions of deterministic annealing, Rose 1998).

What is certified: the trivial solution q(t|x) = q(t) is a local minimum of L exactly up to
beta = 1 / lambda_2, lambda_2 the second largest eigenvalue of the matrix
M[x, x'] = sum_y p(y|x) p(x'|y), i.e. the square of the Hirschfeld-Gebelein-Renyi maximal correlation of
X and Y. The second-order condition: with q(t|x) = q(t) (1 + eps h_t(x)), sum_t q(t) h_t(x) = 0, to
second order in eps

    I(X; T) = eps^2 / 2 sum_t q(t) Var[h_t(X)],   I(T; Y) = eps^2 / 2 sum_t q(t) Var[E[h_t(X) | Y]],

so L >= 0 = L(trivial) near it for every h iff beta Var[E[h(X) | Y]] <= Var[h(X)], i.e.
beta <= 1 / lambda_2, lambda_2 = sup_h Var[E[h | Y]] / Var[h], the top eigenvalue of M off the constants.
Where the third-order term does not vanish (a joint without the symmetry of a binary symmetric channel)
a solution of finite size can beat the trivial one below 1 / lambda_2, a first-order transition that the
sweep finds and the condition does not: 1 / lambda_2 bounds the beta at which T starts to learn from
above (Wu, Fischer, Chuang & Tegmark 2019, on IB-learnability and the maximal correlation). The later
critical betas are where a cluster t of the continuing solution fails the same condition on its own
joint p(x, y | t) (a symmetry-breaking bifurcation, Parker, Gedeon & Dimitrov 2002). And, for small
alphabets, the DIB's optimum over every deterministic encoder is exact (:func:`dib_exhaustive`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from iblearn import _checks as V

Method = Literal["ib", "dib", "gib"]
#: Joint probability tables must sum to 1 within this.
SUM_TOLERANCE = 1e-6
#: The largest |X| (after merging the x with equal p(y|x)) :func:`dib_exhaustive` enumerates by
#: default. Measured on one CPU thread with |Y| = 4: B(11) = 678,570 set partitions in 0.5 s,
#: B(12) = 4,213,597 in 2.3 s; each further x multiplies the count by about 5 (B(13) = 27,644,437).
MAX_EXHAUSTIVE = 12
_TINY = 1e-300


def joint_table(pxy: Any, name: str = "pxy") -> Tensor:
    """``pxy`` as a float64 matrix ``(|X|, |Y|)`` of nonnegative entries summing to 1, or a ValueError
    naming ``name``."""
    p = V.as_tensor(pxy, name)
    if p.is_complex() or p.dtype == torch.bool:
        raise ValueError(f"{name}: expected a table of probabilities, got dtype {p.dtype}")
    p = p.to(torch.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(
            f"{name}: expected a joint probability table of shape (|X|, |Y|), got {tuple(p.shape)}"
        )
    if not bool(torch.isfinite(p).all()):
        raise ValueError(f"{name}: contains NaN or Inf")
    if bool((p < 0).any()):
        raise ValueError(f"{name}: has negative entries (min {float(p.min()):.3g}); probabilities are >= 0")
    total = float(p.sum())
    if abs(total - 1) > SUM_TOLERANCE:
        raise ValueError(f"{name}: must sum to 1, sums to {total:.9g}")
    return p / total


def _merged(p: Tensor) -> tuple[Tensor, Tensor]:
    """The joint of X' (the x of positive probability with equal p(y|x) merged) and Y, and the index of
    each x's x' (-1 for an x of probability 0). The IB curve of (X', Y) is that of (X, Y): T = f(X') is
    an encoder of X, and an encoder of X gives one of X' that is no worse (Y - X' - X - T)."""
    px = p.sum(1)
    keep = (px > 0).nonzero().flatten()
    rows = p[keep] / px[keep, None]
    _, inverse = torch.unique(torch.round(rows * 1e12), dim=0, return_inverse=True)
    merged = torch.zeros(int(inverse.max()) + 1, p.shape[1], dtype=p.dtype, device=p.device)
    merged.index_add_(0, inverse, p[keep])
    index = torch.full((p.shape[0],), -1, dtype=torch.long, device=p.device)
    index[keep] = inverse
    return merged[:, merged.sum(0) > 0], index


def _xlogx(t: Tensor) -> Tensor:
    return torch.special.xlogy(t, t)


def _terms(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """H(T), H(T|X) and I(T; Y) in nats of encoders ``q (B, X, T)`` on the joint ``p (X, Y)``."""
    px, py = p.sum(1), p.sum(0)
    pxt = px[:, None] * q
    qt = pxt.sum(-2)
    h_t = -_xlogx(qt).sum(-1)
    h_t_x = -(px[:, None] * _xlogx(q)).sum((-2, -1))
    pty = q.transpose(-1, -2) @ p
    i_ty = (_xlogx(pty).sum((-2, -1)) + h_t + torch.special.xlogy(py, 1 / py).sum()).clamp_min(0)
    return h_t, h_t_x, i_ty


def _lagrangian(p: Tensor, q: Tensor, betas: Tensor, alpha: float) -> Tensor:
    h_t, h_t_x, i_ty = _terms(p, q)
    return h_t - alpha * h_t_x - betas * i_ty


def _step(p: Tensor, pyx: Tensor, q: Tensor, betas: Tensor, alpha: float) -> Tensor:
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


def _merge(p: Tensor, q: Tensor, betas: Tensor) -> tuple[Tensor, Tensor]:
    """Deterministic encoders with, in each, the pair of clusters whose merging lowers the DIB's
    Lagrangian most merged (where one does), and which were merged. Merging s and t of mass
    m = q(s) + q(t), pi = q(s) / m, changes H(T) by -m H_2(pi) and I(T; Y) by -m JS_pi(q(y|s), q(y|t))
    (the agglomerative IB of Slonim & Tishby 2000), so L = H(T) - beta I(T; Y) changes by
    -m (H_2(pi) - beta JS_pi)."""
    qt = p.sum(1) @ q
    pty = q.transpose(-1, -2) @ p
    m = qt[:, :, None] + qt[:, None, :]
    pair = pty[:, :, None, :] + pty[:, None, :, :]
    h_pair = _xlogx(m) - _xlogx(qt)[:, :, None] - _xlogx(qt)[:, None, :]  # m H_2(pi)
    js = (_xlogx(pty).sum(-1)[:, :, None] + _xlogx(pty).sum(-1)[:, None, :] - _xlogx(pair).sum(-1)) + h_pair
    gain = h_pair - betas[:, None, None] * js  # the decrease of L
    used = qt > 0
    ok = used[:, :, None] & used[:, None, :] & ~torch.eye(q.shape[-1], dtype=torch.bool, device=q.device)
    gain = torch.where(ok, gain, -math.inf)
    best, where = gain.flatten(1).max(1)
    merged = best > 1e-12
    s, t = where // q.shape[-1], where % q.shape[-1]
    rows = torch.arange(len(q), device=q.device)[merged]
    q = q.clone()
    q[rows, :, s[merged]] += q[rows, :, t[merged]]
    q[rows, :, t[merged]] = 0
    return q, merged


def _solve(p: Tensor, q: Tensor, betas: Tensor, alpha: float, tol: float, max_iter: int) -> Tensor:
    """Iterate each encoder of the batch until no entry moves by more than ``tol`` (or ``max_iter``);
    deterministic encoders (alpha = 0) then merge clusters while that lowers L, iterating after each."""
    q = _iterate(p, q, betas, alpha, tol, max_iter)
    if alpha > 0:
        return q
    active = torch.arange(len(q), device=q.device)
    for _ in range(q.shape[-1]):
        merged_q, merged = _merge(p, q[active], betas[active])
        active = active[merged]
        if len(active) == 0:
            break
        q[active] = _iterate(p, merged_q[merged], betas[active], alpha, tol, max_iter)
    return q


def _iterate(p: Tensor, q: Tensor, betas: Tensor, alpha: float, tol: float, max_iter: int) -> Tensor:
    """The self-consistent iteration until each encoder's Lagrangian falls by less than ``tol``
    (relative) in a cycle (L converges as the square of the encoder, and its error is that of the point
    on the curve; a mass split between two identical clusters, which moves without changing L, never
    holds a run up), or until a deterministic encoder stops changing.

    Soft encoders are iterated in cycles of SQUAREM (Varadhan & Roland 2008): two steps, an
    extrapolation of log q along them, and a step from there, kept only where it lowers L. Near a
    critical beta the plain iteration slows down (its slowest mode's rate tends to 1); the extrapolation
    jumps along that mode."""
    pyx = p / p.sum(1, keepdim=True)
    q = q.clone()
    active = torch.arange(len(q), device=q.device)
    last = torch.full((len(q),), math.inf, dtype=q.dtype, device=q.device)
    i = 0
    while i < max_iter and len(active) > 0:
        q0, b = q[active], betas[active]
        if alpha == 0:
            new = _step(p, pyx, q0, b, alpha)
            moved = (new != q0).flatten(1).any(1)
            q[active], active, i = new, active[moved], i + 1
            continue
        q1 = _step(p, pyx, q0, b, alpha)
        q2 = _step(p, pyx, q1, b, alpha)
        l0, l1, l2 = (torch.log(t.clamp_min(_TINY)) for t in (q0, q1, q2))
        r, v = l1 - l0, l2 - 2 * l1 + l0
        step = -(r.flatten(1).norm(dim=1) / v.flatten(1).norm(dim=1).clamp_min(_TINY)).clamp_min(1.0)
        s = step[:, None, None]
        jump = _step(p, pyx, torch.softmax(l0 - 2 * s * r + s * s * v, -1), b, alpha)
        value = _lagrangian(p, jump, b, alpha)
        worse = ~(value <= last[active])  # the jump overshot (or is not finite): keep the plain steps
        if bool(worse.any()):
            jump[worse] = q2[worse]
            value[worse] = _lagrangian(p, q2[worse], b[worse], alpha)
        q[active] = jump
        going = last[active] - value > tol * (1 + value.abs())
        last[active] = value
        active, i = active[going], i + 3
    return q


def _starts(n_x: int, n_t: int, batch: int, alpha: float, gen: torch.Generator, device: Any) -> list[Tensor]:
    """Encoders to start from: x to its own t (the DIB's start, Strouse & Schwab 2017, Sec. 3.1), softened
    for alpha > 0; and random soft encoders."""
    eye = torch.eye(n_x, n_t, dtype=torch.float64)
    eye[n_t:, :] = torch.nn.functional.one_hot(torch.arange(n_t, n_x) % n_t, n_t).to(torch.float64)
    if alpha > 0:
        eye = 0.9 * eye + 0.1 / n_t
    noise = torch.rand(batch, n_x, n_t, generator=gen, dtype=torch.float64)
    if alpha == 0:
        rand = torch.nn.functional.one_hot(noise.argmax(-1), n_t).to(torch.float64)
    else:
        rand = noise / noise.sum(-1, keepdim=True)
    return [eye.expand(batch, n_x, n_t).to(device), rand.to(device)]


def _anneal(p: Tensor, betas: Tensor, alpha: float, n_t: int, tol: float, max_iter: int, seed: int) -> Tensor:
    """The best encoder found for every beta: several starts, then neighbours' warm starts until no
    beta's Lagrangian improves by more than ``tol`` (at most one pass per beta)."""
    gen = torch.Generator().manual_seed(seed)
    batch, n_x = len(betas), p.shape[0]
    q = best = torch.empty(0)
    loss = torch.full((batch,), math.inf, dtype=torch.float64, device=p.device)
    starts = _starts(n_x, n_t, batch, alpha, gen, p.device)
    if alpha > 0:  # the deterministic IB's partitions, softened: near the optimum where beta is large
        starts.append(0.9 * _anneal(p, betas, 0.0, n_t, tol, max_iter, seed) + 0.1 / n_t)
    for start in starts:
        found = _solve(p, start, betas, alpha, tol, max_iter)
        value = _lagrangian(p, found, betas, alpha)
        better = value < loss
        best = found if q.numel() == 0 else torch.where(better[:, None, None], found, best)
        q, loss = best, torch.minimum(loss, value)
    fresh = torch.ones(batch, dtype=torch.bool, device=p.device)  # changed in the last pass
    rows = torch.arange(batch, device=p.device)
    for _ in range(batch):
        # Beta i starts from beta i-1's encoder (upward) and from beta i+1's (downward), where that one
        # changed in the last pass, slightly shaken so that a solution that is a fixed point at every
        # beta (the trivial one) can still break its symmetry.
        up, down = rows[1:][fresh[:-1]], rows[:-1][fresh[1:]]
        target = torch.cat([up, down])
        if len(target) == 0:
            break
        warm = q[torch.cat([up - 1, down + 1])]
        if alpha > 0:
            shake = torch.rand(warm.shape, generator=gen, dtype=torch.float64).to(p.device)
            warm = 0.99 * warm + 0.01 * shake / shake.sum(-1, keepdim=True)
        found = _solve(p, warm, betas[target], alpha, tol, max_iter)
        value = _lagrangian(p, found, betas[target], alpha)
        fresh = torch.zeros(batch, dtype=torch.bool, device=p.device)
        better = value < loss[target] - tol * (1 + loss[target].abs())
        for k in torch.argsort(value, descending=True)[
            better[torch.argsort(value, descending=True)]
        ].tolist():
            t = int(target[k])
            if value[k] < loss[t]:
                q[t], loss[t], fresh[t] = found[k], value[k], True
    return q


@dataclass(frozen=True)
class IBCurve:
    """Points of an information bottleneck curve, one per beta, in nats.

    Attributes:
        betas: ``(B,)`` the trade-off parameters, increasing.
        i_xt, i_ty, h_t: ``(B,)`` I(X; T), I(T; Y) and H(T) of the solution at each beta (for a Gaussian
            joint H(T) is a differential entropy and is NaN: the curve does not depend on it).
        encoders: ``(B, |X|, |T|)`` the encoders q(t|x) (for a Gaussian joint, the matrices A of
            T = A X + xi, xi standard normal, ``(B, dx, dx)``).
        critical_betas: ``(K,)`` increasing: for the IB, the betas at which the continuing solution
            loses its second-order stability and T gains a value (a first-order jump can come before,
            see the module's text); for the DIB, where the optimal partition changes; for a Gaussian
            joint, where T gains a dimension.
        h_x, i_xy: H(X) and I(X; Y), the data-processing bounds I(X; T) <= H(X), I(T; Y) <= I(X; Y)
            (H(X) is infinite for a Gaussian joint).
        method: ``"ib"``, ``"dib"``, ``"gib"`` or ``"gaussian"``; alpha: the generalized IB's alpha.
    """

    betas: Tensor
    i_xt: Tensor
    i_ty: Tensor
    h_t: Tensor
    encoders: Tensor
    critical_betas: Tensor
    h_x: float
    i_xy: float
    method: str
    alpha: float = 1.0
    lagrangian: Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.float64))

    def envelope(self) -> tuple[Tensor, Tensor]:
        """The upper concave envelope of the curve's points and (0, 0): I(X; T) and I(T; Y) ``(K,)`` of
        its vertices, increasing. Every point on it is achievable (time-sharing between two encoders,
        or for the IB a T that is a mixture), so it is a certified lower bound on the true curve."""
        return upper_envelope(self.i_xt, self.i_ty)

    def i_ty_at(self, i_xt: Any) -> Tensor:
        """The envelope's I(T; Y) at given I(X; T) (linear between vertices, flat past the last)."""
        ex, ey = self.envelope()
        at = torch.as_tensor(i_xt, dtype=torch.float64)
        return _interp(at, ex, ey)

    def plot(
        self, path: str | os.PathLike[str] | None = None, *, base: float = math.e, title: str = ""
    ) -> Any:
        """The curve in the information plane with its data-processing bounds; returns the matplotlib
        ``Figure`` (written to ``path`` if given). Needs matplotlib (``iblearn[plot]``)."""
        from iblearn import _plotting

        fig, axes = _plotting.figure(figsize=(5.0, 3.8))
        draw(self, axes[0, 0], scale=1 / math.log(base))
        unit = "bits" if base == 2 else "nats" if base == math.e else f"log base {base:g}"
        axes[0, 0].set_xlabel(f"I(X; T) [{unit}]")
        axes[0, 0].set_ylabel(f"I(T; Y) [{unit}]")
        axes[0, 0].legend(fontsize=7)
        axes[0, 0].set_title(title or f"{self.method.upper()} curve")
        return _plotting.finish(fig, path, dpi=120)


def draw(curve: IBCurve, ax: Any, *, scale: float = 1.0) -> None:
    """Draw ``curve`` (its envelope, the solutions as dots) and the data-processing bounds on ``ax``,
    values multiplied by ``scale`` (``1 / log 2`` for bits)."""
    ex, ey = curve.envelope()
    if math.isfinite(curve.h_x) and curve.h_x > float(ex[-1]):  # flat from where I(T; Y) is all of I(X; Y)
        ex, ey = torch.cat([ex, ex.new_tensor([curve.h_x])]), torch.cat([ey, ey[-1:]])
    ax.plot(
        (ex * scale).tolist(), (ey * scale).tolist(), color="k", lw=1.5, label=f"{curve.method.upper()} curve"
    )
    ax.plot((curve.i_xt * scale).tolist(), (curve.i_ty * scale).tolist(), ls="", marker=".", ms=3, color="k")
    ax.axhline(curve.i_xy * scale, color="0.5", ls="--", lw=0.8, label="I(X; Y)")
    if math.isfinite(curve.h_x):
        ax.axvline(curve.h_x * scale, color="0.5", ls=":", lw=0.8, label="H(X)")


def _interp(at: Tensor, ex: Tensor, ey: Tensor) -> Tensor:
    i = torch.searchsorted(ex, at.clamp(0, float(ex[-1]))).clamp(1, len(ex) - 1) if len(ex) > 1 else None
    if i is None:
        return torch.full_like(at, float(ey[0]))
    x0, x1, y0, y1 = ex[i - 1], ex[i], ey[i - 1], ey[i]
    w = ((at.clamp(0, float(ex[-1])) - x0) / (x1 - x0).clamp_min(_TINY)).clamp(0, 1)
    return y0 + w * (y1 - y0)


def upper_envelope(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    """The upper concave envelope of points ``(x, y)`` and the origin, as its vertices sorted by x, up to
    the first of largest y (an envelope of achievable points, so nondecreasing).

    Example:
        >>> ex, ey = upper_envelope(torch.tensor([1.0, 2.0, 2.0]), torch.tensor([1.0, 1.25, 0.5]))
        >>> ex.tolist(), ey.tolist()
        ([0.0, 1.0, 2.0], [0.0, 1.0, 1.25])
    """
    xs = torch.cat(
        [torch.zeros(1, dtype=torch.float64), torch.as_tensor(x, dtype=torch.float64).flatten().cpu()]
    )
    ys = torch.cat(
        [torch.zeros(1, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64).flatten().cpu()]
    )
    order = torch.argsort(xs * 0 + ys, descending=True, stable=True)
    order = order[torch.argsort(xs[order], stable=True)]
    xs, ys = xs[order], ys[order]
    # The Pareto front first (each point above every point left of it), then Andrew's monotone chain.
    front = ys > torch.cat([torch.tensor([-math.inf], dtype=torch.float64), torch.cummax(ys, 0).values[:-1]])
    px, py = xs[front].tolist(), ys[front].tolist()
    hull: list[tuple[float, float]] = []
    for point in zip(px, py, strict=True):
        while len(hull) >= 2:
            (ax_, ay), (bx, by) = hull[-2], hull[-1]
            if (bx - ax_) * (point[1] - ay) - (by - ay) * (point[0] - ax_) >= 0:  # b is on or below a-point
                hull.pop()
            else:
                break
        hull.append(point)
    return (
        torch.tensor([h[0] for h in hull], dtype=torch.float64),
        torch.tensor([h[1] for h in hull], dtype=torch.float64),
    )


def _check_betas(betas: Any) -> Tensor:
    b = V.as_tensor(betas, "betas").to(torch.float64).flatten()
    if b.numel() == 0 or not bool(torch.isfinite(b).all()) or bool((b <= 0).any()):
        raise ValueError(f"betas: expected positive finite numbers, got {b.tolist()[:5]}")
    return torch.sort(b).values


def maximal_correlation_squared(pxy: Any) -> Tensor:
    """lambda_2 = rho_m(X; Y)^2, the second largest eigenvalue of M[x, x'] = sum_y p(y|x) p(x'|y): the
    squared singular values of Q[x, y] = p(x, y) / sqrt(p(x) p(y)) are M's eigenvalues, the largest 1.

    Example:
        >>> eps = 0.1  # a binary symmetric channel: lambda_2 = (1 - 2 eps)^2
        >>> round(float(maximal_correlation_squared([[0.45, 0.05], [0.05, 0.45]])), 6)
        0.64
    """
    p = joint_table(pxy)
    return _lambda2(p)


def _lambda2(p: Tensor) -> Tensor:
    px, py = p.sum(1), p.sum(0)
    p = p[px > 0][:, py > 0]
    px, py = p.sum(1), p.sum(0)
    if min(p.shape) < 2:
        return torch.zeros((), dtype=torch.float64)
    s = torch.linalg.svdvals(p / torch.sqrt(px[:, None] * py[None, :]))
    return (s[1] ** 2).clamp(0, 1)


def _split_betas(p: Tensor, betas: Tensor, tol: float, max_iter: int) -> list[float]:
    """The critical betas of the IB's continuing branch up to ``betas[-1]``: the first is 1 / lambda_2 of
    the joint; after each, the branch with one more cluster (the splitting cluster's two halves pushed
    apart along its eigenvector) is followed on the grid, and the next is the beta at which one of its
    clusters t fails the second-order condition beta lambda_2(p(x, y | t)) <= 1, found by bisection."""
    px = p.sum(1)
    first = 1 / float(_lambda2(p))
    if not math.isfinite(first) or first > float(betas[-1]):
        return []
    found = [first]
    q = torch.ones(p.shape[0], 1, dtype=torch.float64, device=p.device)

    def excess(q: Tensor, beta: float) -> list[tuple[float, Tensor]]:
        """Each cluster's beta lambda_2(t) - 1 and direction of splitting (zero for an empty one)."""
        out = []
        for t in range(q.shape[1]):
            joint = q[:, t : t + 1] * p
            mass = float(joint.sum())
            if mass <= 1e-12:
                out.append((-math.inf, torch.zeros_like(px)))
                continue
            joint = joint / mass
            pxt, pyt = joint.sum(1), joint.sum(0)
            keep_x, keep_y = pxt > 1e-14, pyt > 1e-14  # a mass of 1e-320 underflows below
            a = joint[keep_x][:, keep_y] / torch.sqrt(pxt[keep_x, None] * pyt[None, keep_y])
            if min(a.shape) < 2:
                out.append((-1.0, torch.zeros_like(px)))
                continue
            # M's eigenvalues are those of a a' (symmetric: eigh, which repeated eigenvalues, as in a
            # block-diagonal joint, do not trouble as they can an SVD); its top one is 1 (constants).
            values, vectors = torch.linalg.eigh(a @ a.T)
            direction = torch.zeros_like(px)
            direction[keep_x] = vectors[:, -2] / torch.sqrt(pxt[keep_x])
            out.append((beta * float(values[-2]) - 1, direction))
        return out

    def unstable(q: Tensor, beta: float) -> bool:
        return max(v for v, _ in excess(q, beta)) > 0

    def solve(q: Tensor, beta: float) -> Tensor:
        return _solve(
            p, q[None], torch.tensor([beta], dtype=torch.float64, device=p.device), 1.0, tol, max_iter
        )[0]

    def split(q: Tensor, beta: float) -> Tensor:
        """Every cluster that is unstable at beta (clusters alike split together) in two halves."""
        parts = []
        for t, (value, h) in enumerate(excess(q, beta)):
            if value > -1e-4:
                h = h / h.abs().max().clamp_min(_TINY)
                half = q[:, t] * (0.5 + 0.05 * h)
                parts += [half[:, None], (q[:, t] - half)[:, None]]
            else:
                parts.append(q[:, t : t + 1])
        return torch.cat(parts, 1)

    q = split(q, first * (1 + 1e-7))
    beta = first
    while q.shape[1] < p.shape[0]:
        lo, q_lo = beta * 1.01, solve(q, beta * 1.01)
        hi = None
        for b in [b for b in betas.tolist() if b > lo]:
            q_b = solve(q_lo, b)
            if unstable(q_b, b):
                hi = b
                break
            lo, q_lo = b, q_b
        if hi is None:
            break
        while hi / lo - 1 > 1e-7:  # bisection
            mid = math.sqrt(lo * hi)
            q_mid = solve(q_lo, mid)
            if unstable(q_mid, mid):
                hi = mid
            else:
                lo, q_lo = mid, q_mid
        beta = math.sqrt(lo * hi)
        found.append(beta)
        q = split(q_lo, hi)
    return found


def ib_curve(
    pxy: Any,
    betas: Any = None,
    *,
    method: Method = "ib",
    alpha: float | None = None,
    n_t: int | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
    critical: bool = True,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> IBCurve:
    """The information bottleneck curve of a discrete joint ``pxy``: the optimal encoder at every beta.

    Minimises L = H(T) - alpha H(T|X) - beta I(T; Y) (Strouse & Schwab 2017; the IB of Tishby, Pereira
    & Bialek 1999 at alpha = 1) for each beta by iterating the self-consistent equations from several
    starts, then annealing
    across the grid (see the module's text). X values of equal p(y|x) are merged first, which changes
    no point of the curve; the returned encoders are over the original X.

    Args:
        pxy: the joint probability table ``(|X|, |Y|)``: nonnegative, summing to 1.
        betas: the trade-off parameters (default: 50 from 1 to 1000, geometrically spaced).
        method: ``"ib"`` (alpha = 1), ``"dib"`` (alpha = 0, deterministic encoders) or ``"gib"``.
        alpha: the generalized IB's alpha in (0, 1], for ``method="gib"`` only.
        n_t: the number of values of T (default |X| after merging: T can then copy X).
        tol: a start's iteration stops when its Lagrangian falls by less than ``tol`` (relative) over
            four steps, the annealing when no beta's falls by more.
        max_iter: at most this many iterations a start (near a critical beta the iteration slows down,
            as a continuous phase transition does: the cap bounds the time there).
        critical: find the critical betas (for the IB, a bisection along the continuing solution that
            can take longer than the sweep itself); False leaves ``critical_betas`` empty.
        seed: the random starts' seed.
        device: where to compute (default: ``pxy``'s device, or the CPU).

    Returns:
        An :class:`IBCurve`: I(X; T), I(T; Y), H(T) (nats) and q(t|x) at each beta, and the critical
        betas (for the IB: the bifurcations of the continuing solution, the first 1 / lambda_2;
        for the DIB and GIB: the betas between grid points where the solution's partition changes, at
        which the two partitions' Lagrangians are equal, exact for the DIB).

    Example:
        >>> curve = ib_curve([[0.45, 0.05], [0.05, 0.45]], [1.0, 2.0, 4.0])  # eps = 0.1: beta_c = 1/0.64
        >>> [round(v, 4) for v in curve.i_ty.tolist()], round(float(curve.critical_betas[0]), 4)
        ([0.0, 0.2823, 0.3665], 1.5625)
    """
    V.choice(method, "method", ("ib", "dib", "gib"))
    if method == "gib":
        if alpha is None or not isinstance(alpha, int | float) or not 0 < alpha <= 1:
            raise ValueError(f"alpha: method='gib' needs alpha in (0, 1], got {alpha!r}")
    elif alpha is not None:
        raise ValueError(f"alpha: only used with method='gib' (method={method!r} fixes it)")
    a = {"ib": 1.0, "dib": 0.0}.get(method, float(alpha or 0))
    raw = joint_table(pxy)
    dev = torch.device(device) if device is not None else raw.device
    raw = raw.to(dev)
    b = _check_betas(torch.logspace(0, 3, 50, dtype=torch.float64) if betas is None else betas).to(dev)
    V.positive(tol, "tol")
    V.positive_int(max_iter, "max_iter")
    p, index = _merged(raw)
    n_t = p.shape[0] if n_t is None else V.positive_int(n_t, "n_t")
    q = _anneal(p, b, a, n_t, tol, max_iter, V.seed(seed))
    value = _lagrangian(p, q, b, a)
    h_t, h_t_x, i_ty = _terms(p, q)
    if not V.flag(critical, "critical"):
        found = []
    elif method == "ib":
        found = _split_betas(p, b, tol, max_iter)
    else:
        found = _partition_changes(p, q, b, a)
    full = q[:, index.clamp_min(0)]
    full[:, index < 0] = q.new_tensor(1.0 / n_t)
    return IBCurve(
        betas=b.cpu(),
        i_xt=(h_t - h_t_x).clamp_min(0).cpu(),
        i_ty=i_ty.cpu(),
        h_t=h_t.cpu(),
        encoders=full.cpu(),
        critical_betas=torch.tensor(found, dtype=torch.float64),
        h_x=float(-_xlogx(raw.sum(1)).sum()),
        i_xy=float(_terms(p, torch.eye(p.shape[0], dtype=p.dtype, device=dev)[None])[2][0]),
        method=method,
        alpha=a,
        lagrangian=value.cpu(),
    )


def _partition_changes(p: Tensor, q: Tensor, betas: Tensor, alpha: float) -> list[float]:
    """Between consecutive betas whose solutions differ, the beta at which the two Lagrangians are equal
    (L is linear in beta: L = A - beta I(T; Y))."""
    h_t, h_t_x, i_ty = _terms(p, q)
    a = h_t - alpha * h_t_x
    out = []
    for i in range(len(betas) - 1):
        if float(i_ty[i + 1] - i_ty[i]) > 1e-9:
            out.append(float((a[i + 1] - a[i]) / (i_ty[i + 1] - i_ty[i])))
    return out


def _partitions(n: int) -> Tensor:
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


def dib_exhaustive(
    pxy: Any, betas: Any = None, *, max_x: int = MAX_EXHAUSTIVE, chunk: int = 1 << 16
) -> IBCurve:
    """The deterministic IB's exact optimum: every deterministic encoder T = f(X) tried.

    A deterministic encoder is a partition of X (after merging the x of equal p(y|x)), so there are
    B(|X|) of them (Bell numbers: 115,975 for |X| = 10, 4,213,597 for 12). Each gives a point
    (H(T), I(T; Y)) (I(X; T) = H(T)); the DIB optimum at beta maximises beta I(T; Y) - H(T), a vertex of the
    points' upper concave envelope, and the critical betas are where the optimal vertex changes:
    (H_(k+1) - H_k) / (I_(k+1) - I_k) between consecutive vertices. Exact (to round-off) for the DIB.

    Args:
        pxy: the joint probability table ``(|X|, |Y|)``.
        betas: where to report the optimum (default as :func:`ib_curve`).
        max_x: refuse more than this many distinct x (the time grows as B(|X|)).
        chunk: partitions evaluated at once (memory: about ``chunk * |X| * |Y| * 8`` bytes).

    Example:
        >>> pxy = torch.tensor([[0.2, 0.05], [0.2, 0.05], [0.05, 0.2], [0.05, 0.2]])
        >>> ref = dib_exhaustive(pxy, [1.0, 10.0])
        >>> [round(v, 4) for v in ref.h_t.tolist()], round(float(ref.i_ty[1]), 4)
        ([0.0, 0.6931], 0.1927)
    """
    p, index = _merged(joint_table(pxy).cpu())
    n = p.shape[0]
    if n > V.positive_int(max_x, "max_x"):
        raise ValueError(
            f"pxy: {n} distinct x values: the search over B({n}) partitions exceeds max_x={max_x}"
        )
    b = _check_betas(torch.logspace(0, 3, 50, dtype=torch.float64) if betas is None else betas)
    rgs = _partitions(n)
    py = p.sum(0)
    h_y = float(-_xlogx(py).sum())
    best_h, best_i, best_rows = (
        [torch.zeros(1, dtype=torch.float64)],
        [torch.zeros(1, dtype=torch.float64)],
        [rgs[:1]],
    )
    for start in range(0, len(rgs), V.positive_int(chunk, "chunk")):
        part = rgs[start : start + chunk].long()
        k = len(part)
        flat = (part + n * torch.arange(k)[:, None]).flatten()
        pty = (
            torch.zeros(k * n, p.shape[1], dtype=torch.float64)
            .index_add_(0, flat, p.repeat(k, 1))
            .view(k, n, -1)
        )
        qt = pty.sum(-1)
        h_t = -_xlogx(qt).sum(-1)
        i_ty = (h_t + h_y + _xlogx(pty).sum((-2, -1))).clamp_min(0)
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
    choice = (b[:, None] * ey[None, :] - ex[None, :]).argmax(1)
    chosen = rows[torch.tensor(vertex)][choice].long()
    enc = torch.nn.functional.one_hot(chosen, n).to(torch.float64)
    full = enc[:, index.clamp_min(0)]
    full[:, index < 0] = 1.0 / n
    critical = ((ex[1:] - ex[:-1]) / (ey[1:] - ey[:-1]).clamp_min(_TINY)).tolist()
    return IBCurve(
        betas=b,
        i_xt=ex[choice],
        i_ty=ey[choice],
        h_t=ex[choice],
        encoders=full,
        critical_betas=torch.tensor(critical, dtype=torch.float64),
        h_x=float(-_xlogx(p.sum(1)).sum()),
        i_xy=float(ey[-1]),
        method="dib",
        alpha=0.0,
        lagrangian=ex[choice] - b * ey[choice],
    )


def gaussian_ib_curve(cov: Any, dx: int, betas: Any = None) -> IBCurve:
    """The IB curve of jointly Gaussian X ``(dx,)`` and Y in closed form (Chechik, Globerson, Tishby &
    Weiss 2005).

    With lambda_1 <= ... the eigenvalues of Sigma_(x|y) Sigma_x^(-1) (lambda_i = 1 - rho_i^2, rho_i the
    canonical correlations) and v_i its left eigenvectors scaled to v_i' Sigma_x v_i = 1, the optimal T is
    A X + xi, xi standard normal, A's rows alpha_i v_i with alpha_i^2 = (beta (1 - lambda_i) - 1) / lambda_i
    for the i with beta > beta_i = 1 / (1 - lambda_i) (the critical betas), zero otherwise, and

        I(X; T) = 1/2 sum_i log((beta - 1) (1 - lambda_i) / lambda_i),
        I(T; Y) = 1/2 sum_i log((beta - 1) / (beta lambda_i)),

    summed over those i. H(T) is a differential entropy here (``h_t`` is NaN) and H(X) infinite.

    Args:
        cov: the joint covariance ``(dx + dy, dx + dy)`` of X then Y, positive definite.
        dx: X's dimension.
        betas: as :func:`ib_curve` (default: 50 from 1 to 1000, geometrically spaced).

    Example:
        >>> curve = gaussian_ib_curve([[1.0, 0.8], [0.8, 1.0]], 1, [2.0, 4.0])  # rho = 0.8: beta_c = 1/0.64
        >>> round(float(curve.critical_betas[0]), 4), [round(v, 4) for v in curve.i_ty.tolist()]
        (1.5625, [0.1643, 0.367])
    """
    c = V.covariance(cov, "cov")
    if not V.positive_int(dx, "dx") < c.shape[0]:
        raise ValueError(f"dx: must be between 1 and {c.shape[0] - 1}, got {dx}")
    b = _check_betas(torch.logspace(0, 3, 50, dtype=torch.float64) if betas is None else betas)
    sxx, sxy, syy = c[:dx, :dx], c[:dx, dx:], c[dx:, dx:]
    w, u = torch.linalg.eigh(sxx)
    root_inv = u @ torch.diag(w.rsqrt()) @ u.T  # Sigma_x^(-1/2)
    cond = sxx - sxy @ torch.linalg.solve(syy, sxy.T)
    lam, vec = torch.linalg.eigh(root_inv @ cond @ root_inv)  # ascending; lambda_i = 1 - rho_i^2
    lam = lam.clamp(1e-300, 1.0)
    v = (root_inv @ vec).T  # rows v_i: v_i' Sigma_x v_i = 1
    critical = 1 / (1 - lam).clamp_min(1e-300)
    active = b[:, None] > critical[None, :]
    a2 = torch.where(active, (b[:, None] * (1 - lam) - 1) / lam, 0.0)
    gain_x = ((b[:, None] - 1) * (1 - lam) / lam).clamp_min(1.0)
    gain_y = ((b[:, None] - 1) / (b[:, None] * lam)).clamp_min(1.0)
    i_xt = torch.where(active, 0.5 * torch.log(gain_x), 0.0).sum(1)
    i_ty = torch.where(active, 0.5 * torch.log(gain_y), 0.0).sum(1)
    enc = a2.sqrt()[:, :, None] * v[None, :, :]
    return IBCurve(
        betas=b,
        i_xt=i_xt,
        i_ty=i_ty,
        h_t=torch.full_like(b, math.nan),
        encoders=enc,
        critical_betas=critical[lam < 1],
        h_x=math.inf,
        i_xy=float(-0.5 * torch.log(lam).sum()),
        method="gaussian",
        alpha=1.0,
        lagrangian=i_xt - b * i_ty,
    )
