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

solved by iterating them (a Blahut-Arimoto iteration; at ``alpha = 0`` each x goes to the t of the largest
``log q(t) - beta D_KL``). :func:`ib_curve` solves every beta of a grid at once, as one batch of float64
tensors on any device. By default (``search="combined"``) it follows one path of deterministic annealing down
the grid (:mod:`iblearn.functional.ib.anneal`), takes the best deterministic encoder at a beta where that is
lower (every partition of X up to 9 distinct x) and iterates once more each beta's best that the path did not
leave settled. The thorough search (``search="thorough"``, and the DIB's) starts from the best deterministic
encoders T = f(X) (every partition of X up to 9 distinct x, the agglomerative IB's path refined by the DIB
above): a deterministic encoder has H(T | X) = 0, so its Lagrangian is H(T) - beta I(T; Y) for every alpha, a
point each method can reach. From them it iterates; then it anneals (each beta is warm-started from the
solutions of its two neighbours on the grid, until no beta improves: a solution travels one step of the grid a
pass, upward and downward at once, the two directions of deterministic annealing, Rose 1998; a warm start is
iterated in full only where a few steps already take it below its beta's best) and splits clusters (each
cluster, the most unstable first, cut in two along its second eigenvector, softly and with its members apart,
and solved again). Each beta keeps the lowest Lagrangian of everything tried.

What is certified: no answer is worse than the best deterministic encoder found (for up to 9 distinct x,
than every deterministic encoder), and each is a fixed point of the self-consistent equations reached
by iterating them (a local optimum; the global one is not certified except for the DIB's exhaustive
search). The trivial solution q(t|x) = q(t) is a local minimum of L exactly up to
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

import contextlib
import math
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn._threads import one_thread, one_torch_thread
from iblearn.functional.ib.anneal import anneal_curve
from iblearn.functional.ib.critical import lambda2 as _lambda2
from iblearn.functional.ib.critical import partition_changes, split_betas
from iblearn.functional.ib.deterministic import (
    EXHAUSTIVE_START,
    best_partitions,
    envelope_partitions,
    lagrangian,
    terms,
    xlogx,
)
from iblearn.functional.ib.iterate import solve
from iblearn.functional.ib.result import IBCurve, upper_envelope
from iblearn.functional.ib.solver import POLISH_TOL, packed, solve_curve

__all__ = [
    "IBCurve",
    "dib_exhaustive",
    "gaussian_ib_curve",
    "ib_curve",
    "joint_table",
    "maximal_correlation_squared",
    "upper_envelope",
]

Method = Literal["ib", "dib", "gib"]
Search = Literal["combined", "thorough", "anneal"]
#: Joint probability tables must sum to 1 within this.
SUM_TOLERANCE = 1e-6
#: The largest |X| (after merging the x with equal p(y|x)) :func:`dib_exhaustive` enumerates by
#: default: B(12) = 4,213,597 set partitions, seconds on one thread (docs/guide/exact-ib.md), and each
#: further x multiplies the count by about 5 (B(13) = 27,644,437).
MAX_EXHAUSTIVE = 12
_TINY = 1e-300
#: Up to this many encoder entries (betas x |X| x |T|) a batch is small: one torch thread runs it faster
#: than several, above all on shared cores (see :mod:`iblearn._threads`).
SMALL_WORK = 1 << 22


def joint_table(pxy: Any, name: str = "pxy", *, normalize: bool | None = None) -> Tensor:
    """``pxy`` as a float64 matrix ``(|X|, |Y|)`` of nonnegative entries summing to 1, or a ValueError
    naming ``name``; with ``normalize`` True, a nonnegative table of any positive sum (counts) divided
    by it. ``normalize`` False: the caller takes ``normalize=``, which the refusal of a sum off 1 names;
    None: it takes none."""
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
    total = float(p.detach().sum())
    if normalize is not None and V.flag(normalize, "normalize") and total > 0:
        return p / total
    if abs(total - 1) > SUM_TOLERANCE:
        named = normalize is not None and total > 0
        counts = "; a table of counts: pass normalize=True to divide it by its sum" if named else ""
        raise ValueError(f"{name}: must sum to 1, sums to {total:.9g}{counts}")
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


def default_betas() -> Tensor:
    """The grid of beta a solver takes by default: 50 values from 1 to 1,000, geometrically spaced."""
    return torch.logspace(0, 3, 50, dtype=torch.float64)


def _betas(betas: Any) -> Tensor:
    """``betas`` checked, or the default grid where None."""
    return _check_betas(default_betas() if betas is None else betas)


def _check_betas(betas: Any) -> Tensor:
    """``betas`` as a sorted float64 vector: one number or a 1-D sequence of positive finite numbers (a
    boolean is not a number here)."""
    if _has_bool(betas):
        raise ValueError(f"betas: expected positive finite numbers, got a boolean in {betas!r}")
    raw = V.as_tensor(betas, "betas")
    if raw.is_complex() or raw.ndim > 1:
        raise ValueError(
            f"betas: expected a 1-D sequence of real numbers, got {raw.dtype} of shape {tuple(raw.shape)}"
        )
    b = raw.to(torch.float64).flatten()
    if b.numel() == 0 or not bool(torch.isfinite(b).all()) or bool((b <= 0).any()):
        raise ValueError(f"betas: expected positive finite numbers, got {b.tolist()[:5]}")
    return torch.sort(b).values


def _has_bool(values: Any) -> bool:
    if isinstance(values, Tensor):
        return values.dtype == torch.bool
    try:
        items = np.asarray(values, dtype=object).reshape(-1)
    except ValueError:  # ragged: as_tensor names it
        return False
    return any(isinstance(v, bool | np.bool_) for v in items)


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
    search: Search = "combined",
    normalize: bool = False,
) -> IBCurve:
    """The information bottleneck curve of a discrete joint ``pxy``: at every beta, the best encoder found
    by an annealing path and the best deterministic encoders.

    Minimises L = H(T) - alpha H(T|X) - beta I(T; Y) (Strouse & Schwab 2017; the IB of Tishby, Pereira &
    Bialek 1999 at alpha = 1) for each beta by an annealing path down the grid and the best deterministic
    encoders, or by a thorough search with restarts and cluster splits (see the module's text). Each
    answer is a fixed point of the self-consistent equations and never worse than the best deterministic
    encoder found: for up to 9 distinct x, than every deterministic encoder (the DIB's answer is then its
    exact optimum). X values of equal p(y|x) are merged
    first, which changes no point of the curve; the returned encoders are over the original X. Where X and Y
    are independent the curve is the trivial one: I(X; T) = I(T; Y) = 0 with one value of T.

    Args:
        pxy: the joint probability table ``(|X|, |Y|)``: nonnegative, summing to 1.
        betas: the trade-off parameters, a 1-D sequence of positive finite numbers (default:
            :func:`default_betas`).
        method: ``"ib"`` (alpha = 1), ``"dib"`` (alpha = 0, deterministic encoders) or ``"gib"``.
        alpha: the generalized IB's alpha in (0, 1], for ``method="gib"`` only.
        n_t: at most this many values of T, clamped to |X| after merging (an optimum needs no more: L is
            a sum over t of q(t) times a function of p(x|t) whose mixture is p(x), minimised at a vertex of
            at most |X| atoms). Default: T starts with half as many values again as the best deterministic
            encoders use (every x its own value up to 16 distinct x) and doubles while some beta uses all of
            them; the values no beta uses are left out of ``encoders``.
        tol: a start's iteration stops when its Lagrangian falls by less than ``tol`` (relative) over
            four steps, the annealing when no beta's falls by more; the best encoder at each beta is
            iterated to at most 1e-10 whatever ``tol`` (a looser one would give up Lagrangian).
        max_iter: at most this many iterations a start (near a critical beta the iteration slows down,
            as a continuous phase transition does: the cap bounds the time there).
        critical: find the critical betas (for the IB along the continuing solution); False: none.
        seed: the seed of the deterministic IB's random starts (where |X| is above 9).
        device: where to compute (default: ``pxy``'s device, or the CPU). On the CPU the small batches
            run on one torch thread (the caller's setting is restored on return).
        search: ``"combined"``: one path of deterministic annealing from the largest beta down
            (:mod:`iblearn.functional.ib.anneal`) iterated to ``min(tol, 1e-10)``, the best deterministic
            encoder where lower (up to 9 distinct x), each beta's best not left settled by the
            path iterated once more; never worse than ``"anneal"`` at the same ``tol``.
            ``"thorough"``: the search of restarts, annealing both ways and cluster splits, several
            times the work (the DIB's search under either).
            ``"anneal"``: the path alone, each beta iterated to at most ``min(tol, 1e-6)``. Each answer
            is a fixed point, but a local optimum that a restart or a split could improve stays.
        normalize: divide ``pxy`` by its sum, so that a table of counts (a contingency table of
            samples) is taken as the joint they estimate; False: a table not summing to 1 is refused.

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
    a = _check_alpha(method, alpha)
    raw = joint_table(pxy, normalize=normalize).detach()  # the solver reads values: no gradient
    raw = raw.to(V.device(device) if device is not None else raw.device)
    dev, b = raw.device, _betas(betas).to(raw.device)
    tol, max_iter = V.positive(tol, "tol"), V.positive_int(max_iter, "max_iter")
    critical = V.flag(critical, "critical")
    V.choice(search, "search", ("combined", "thorough", "anneal"))
    p, index = _merged(raw)
    n_x = p.shape[0]
    width = n_x if n_t is None else min(V.positive_int(n_t, "n_t"), n_x)
    with _threads(dev.type == "cpu" and len(b) * n_x * min(n_x, 64) <= SMALL_WORK, search, critical):
        q, value = _encoders(p, b, a, (width, n_t is None), (tol, max_iter), setting("seed", seed), search)
        if not critical:
            found = []
        elif method == "ib":
            found = split_betas(p, b, tol, max_iter)
        else:
            found = partition_changes(p, q, b, a)
    return _curve(raw, p, index, q, b, value, method, a, found)


def _threads(small: bool, search: Search, critical: bool) -> Any:
    """One thread for a small problem on the CPU: the light search's numpy work is a single encoder at
    a time, too small for the BLAS pools to split, so without the critical betas only torch's pool
    (which costs nothing to set) is held to one thread."""
    if search != "thorough" and not critical:
        return one_torch_thread(small)
    return one_thread() if small else contextlib.nullcontext()


def _encoders(
    p: Tensor,
    b: Tensor,
    a: float,
    width: tuple[int, bool],
    stop: tuple[float, int],
    seed: int,
    search: Search,
) -> tuple[Tensor, Tensor]:
    """:func:`ib_curve`'s encoders at each beta and their Lagrangians, by the ``search`` asked for
    (``width``: at most this many values of T, and whether T may grow; ``stop``: tol and max_iter)."""
    if p.shape[0] == 1:  # X and Y independent: T can learn nothing
        q = torch.ones(len(b), 1, 1, dtype=p.dtype, device=p.device)
    elif search == "anneal":
        q, value, _ = anneal_curve(p, b, a, width[0], *stop)
        return (packed(q) if width[1] else q), value
    elif search == "combined" and a > 0:
        return _combined(p, b, a, width[0], width[1], *stop)
    else:
        q = solve_curve(p, b, a, width[0], width[1], *stop, seed)
    return q, lagrangian(p, q, b, a)


def _combined(
    p: Tensor, betas: Tensor, alpha: float, n_t: int, grow: bool, tol: float, max_iter: int
) -> tuple[Tensor, Tensor]:
    """The encoders ``(B, |X|, T)`` of the default search and their Lagrangians (``alpha > 0``): one
    annealing path down the betas (:func:`iblearn.functional.ib.anneal.anneal_curve`), each beta
    iterated to ``min(tol, POLISH_TOL)`` (a looser ``tol`` would give up Lagrangian), its answer replaced by
    the best deterministic encoder where that is lower (every partition into at most ``n_t`` blocks, up
    to :data:`EXHAUSTIVE_START` x), then each beta's best that is not already settled iterated again,
    over the values of T it uses, and kept where that lowers it (a deterministic encoder, an answer the
    path compacted, or one whose iteration slowed down near a critical beta; a settled answer is the
    iteration's own at this tolerance). Never worse than the path, nor, for up to
    :data:`EXHAUSTIVE_START` x, than any deterministic encoder."""
    tol = min(tol, POLISH_TOL)
    q, value, settled = anneal_curve(p, betas, alpha, n_t, tol, max_iter)
    if p.shape[0] <= EXHAUSTIVE_START:
        det = torch.nn.functional.one_hot(best_partitions(p, betas, n_t), n_t).to(p.dtype)
        det_value = lagrangian(p, det, betas, alpha)
        lower = det_value < value
        q[lower], value[lower], settled[lower] = det[lower], det_value[lower], False
    q = packed(q)
    rows = (~settled).nonzero().flatten()
    if len(rows) > 0:
        # each over only its used values (packed first): the values it leaves empty cost a step's work
        # each and, at the floor of log q, let a free first jump grow a cluster far from the answer
        used = (q[rows].sum(1) > 0).sum(1)
        polished = q.new_zeros(len(rows), *q.shape[1:])
        for width in used.unique().tolist():
            group = (used == width).nonzero().flatten()
            start = q[rows[group], :, :width].contiguous()
            polished[group, :, :width] = solve(p, start, betas[rows[group]], alpha, tol, max_iter)
        polished_value = lagrangian(p, polished, betas[rows], alpha)
        lower = polished_value < value[rows]
        q[rows[lower]], value[rows[lower]] = polished[lower], polished_value[lower]
    if not grow:
        q = torch.cat([q, q.new_zeros(*q.shape[:-1], n_t - q.shape[-1])], -1)
    return q, value


def _curve(
    raw: Tensor,
    p: Tensor,
    index: Tensor,
    q: Tensor,
    b: Tensor,
    value: Tensor,
    method: Method,
    alpha: float,
    found: list[float],
) -> IBCurve:
    """The :class:`IBCurve` of encoders ``q`` over the merged X of ``p`` (``index`` maps the original X
    onto them, -1 for an x of probability 0, which gets the uniform encoder)."""
    full = q[:, index.clamp_min(0)]
    full[:, index < 0] = q.new_tensor(1.0 / q.shape[-1])
    h_t, h_t_x, i_ty = terms(p, q)
    identity = torch.eye(p.shape[0], dtype=p.dtype, device=p.device)[None]
    return IBCurve(
        betas=b.cpu(),
        i_xt=(h_t - h_t_x).clamp_min(0).cpu(),
        i_ty=i_ty.cpu(),
        h_t=h_t.cpu(),
        encoders=full.cpu(),
        critical_betas=torch.tensor(found, dtype=torch.float64),
        h_x=float(-xlogx(raw.sum(1)).sum()),
        i_xy=float(terms(p, identity)[2][0]),
        method=method,
        alpha=alpha,
        lagrangian=value.cpu(),
    )


def _check_alpha(method: str, alpha: Any) -> float:
    """The alpha of ``method``: ``alpha`` itself, in (0, 1], for the GIB (a boolean is refused)."""
    V.choice(method, "method", ("ib", "dib", "gib"))
    if method != "gib":
        if alpha is not None:
            raise ValueError(f"alpha: only used with method='gib' (method={method!r} fixes it)")
        return 1.0 if method == "ib" else 0.0
    number = isinstance(alpha, int | float | np.integer | np.floating) and not isinstance(
        alpha, bool | np.bool_
    )
    if not number or not 0 < float(alpha) <= 1:
        raise ValueError(f"alpha: method='gib' needs a number in (0, 1], got {alpha!r}")
    return float(alpha)


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
    p, index = _merged(joint_table(pxy).detach().cpu())
    n = p.shape[0]
    if n > V.positive_int(max_x, "max_x"):
        raise ValueError(
            f"pxy: {n} distinct x values: the search over B({n}) partitions exceeds max_x={max_x}"
        )
    b = _betas(betas)
    ex, ey, vertices = envelope_partitions(p, V.positive_int(chunk, "chunk"))
    choice = (b[:, None] * ey[None, :] - ex[None, :]).argmax(1)
    chosen = vertices[choice].long()
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
        h_x=float(-xlogx(p.sum(1)).sum()),
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
        betas: as :func:`ib_curve` (default: :func:`default_betas`).

    Example:
        >>> curve = gaussian_ib_curve([[1.0, 0.8], [0.8, 1.0]], 1, [2.0, 4.0])  # rho = 0.8: beta_c = 1/0.64
        >>> round(float(curve.critical_betas[0]), 4), [round(v, 4) for v in curve.i_ty.tolist()]
        (1.5625, [0.1643, 0.367])
    """
    c = V.covariance(cov, "cov")
    if not V.positive_int(dx, "dx") < c.shape[0]:
        raise ValueError(f"dx: must be between 1 and {c.shape[0] - 1}, got {dx}")
    b = _betas(betas)
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
