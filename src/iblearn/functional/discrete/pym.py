r"""The Pitman-Yor mixture (PYM) entropy estimate (Archer, Park & Pillow 2014): the posterior mean and
standard deviation of H for a law over a countable (unknown, possibly infinite) alphabet, under a
mixture of Pitman-Yor priors PY(d, alpha), d in [0, 1), alpha > 0, whose implied prior on H is about flat.

**Prior moments** (Archer et al. 2014, Sec. 4): under PY(d, alpha), with the size-biased first atom
W ~ Beta(1 - d, alpha + d),

    E[H | d, alpha] = psi(alpha + 1) - psi(1 - d),
    E[H^2 | d, alpha] = (1 - d)/(alpha + 1) [(psi(2 - d) - psi(alpha + 2))^2 + psi_1(2 - d)
                                             - psi_1(alpha + 2)]
                        + (alpha + d)/(alpha + 1) [(psi(1 - d) - psi(alpha + 2))^2 - psi_1(alpha + 2)].

**Posterior at fixed (d, alpha)** (Sec. 4; Pitman 1996): given K symbols seen with counts n_i, N in
all, the weights (p_1..p_K, p_*) are Dirichlet(n_i - d, alpha + K d) and the mass p_* is spread as a
PY(d, alpha + K d) law. With A = alpha + N,

    E[H | n, d, alpha] = psi(A + 1) - (alpha + K d)/A psi(1 - d) - (1/A) sum_i (n_i - d) psi(n_i - d + 1),

and E[H^2 | n, d, alpha] from the Dirichlet's second moments of -p log p (Wolpert & Wolf 1995) with
the residual's prior moments above (:func:`pitman_yor_posterior_moments`).

**Evidence**: the Ewens-Pitman sampling formula (Pitman 1995), the probability of the partition of
the N samples into the K symbols seen:

    p(n | d, alpha) = prod_{l=1}^{K-1} (alpha + l d) / (alpha + 1)_{N-1} prod_i (1 - d)_{n_i - 1}.

**Mixing prior** (Sec. 5, and the authors' reference code, PYMentropy's ``pymPriorFactory.m`` and
``convertfromPYparams.m``): in the coordinates eta = E[H | d, alpha] = psi(alpha + 1) - psi(1 - d), the
prior mean entropy, and gamma = (psi(1) - psi(1 - d)) / eta in [0, 1), the share of it that the
discount d carries, the mixing density is flat in eta and q(gamma) = exp(-10 / (1 - gamma)) in gamma,
the reference code's default (its README: "q(g) = exp(-10/(1-g))"): flat in eta makes the implied
prior on H approximately flat; q puts its mass on light tails and limits heavy ones. In (d, alpha),
alpha > 0, that is q(gamma) times the Jacobian

    |d(eta, gamma) / d(alpha, d)| = psi_1(alpha + 1) psi_1(1 - d) / eta

(:func:`log_mixing_density`). The weight is on gamma, not on d: a q of d, exp(-10 / (1 - d)), holds
d near 0 whatever the data (it costs e^-10 at d = 1/2 against d = 0), where power-law counts ask for
d near 1 / s for Zipf's exponent s. The reference code computes the Jacobian but leaves it out of the
density it integrates, whose posterior it then cuts to a box around the mode; with that box its
README's example (counts 1, 2, 2, 4: 2.1476 nats, variance 0.2715) is reproduced, and with the
Jacobian the estimate here is 1.8146, variance 0.2349. The density is improper in eta; the posterior
is proper once some symbol repeats (N > K). Without a coincidence the estimate is log N with an
infinite sd, as NSB's.

**Quadrature** (Sec. 5's integral over (d, alpha)): in the coordinates u = -log(1 - d) in [0, 30] and
t = log(alpha) in [-30, 30], which keep 1 - d and alpha exact near their ends. For each u the
integral over t is taken by Gauss-Legendre rules on pieces that widen geometrically away from the
peak of the log posterior in t (located on a grid, then on finer grids around its maximum, with its
width from the curvature there); pieces whose ends fall below e^-40 of the peak are dropped. The outer
integral over u of that marginal is taken the same way, so the nodes follow where the likelihood
lives, whether a ridge, a corner at d = 0 or a mass near d = 1. The posterior mean and variance of H
are the weighted moments over all nodes (the law of total variance). Every sum over symbols runs
over the distinct counts; counts may be floats or integers of any size (they are read as float64).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from iblearn.functional.discrete.estimators import Fingerprint

Array = NDArray[np.float64]
Index = NDArray[np.intp]
#: Quadrature nodes: the row of each, the node, its weight (or log weight).
Rule = tuple[Index, Array, Array]
#: The ranges of u = -log(1 - d) and t = log(alpha + d).
U_RANGE, T_RANGE = (0.0, 30.0), (-30.0, 30.0)
#: The first grid's points, the finer grids' points, and how many finer grids locate each peak.
GRID, FINE, REFINE = 41, 17, 4
#: Pieces of the quadrature: the first FIRST widths wide, each next GROWTH times wider, PIECES a side,
#: Gauss-Legendre of ORDER nodes on each; pieces below e^-DROP of the peak at both ends are dropped.
FIRST, GROWTH, PIECES, ORDER, DROP = 1.0, 1.8, 14, 8, 40.0
#: The mixing density's weight on gamma, q(gamma) = exp(-TAIL / (1 - gamma)) (module notes): it vanishes
#: as gamma -> 1, where the discount carries all of the prior mean entropy.
TAIL = 10.0
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(ORDER)


def _psi1(x: Any) -> Any:
    return special.zeta(2, x)


def pitman_yor_prior_moments(d: Any, alpha: Any) -> tuple[Any, Any]:
    """E[H] and E[H^2] (nats) of a law drawn from PY(d, alpha) (module notes)."""
    d, alpha = np.asarray(d, dtype=float), np.asarray(alpha, dtype=float)
    return _prior_moments(1 - d, alpha + d, alpha + 1)


def _prior_moments(omd: Any, apd: Any, ap1: Any) -> tuple[Any, Any]:
    """The prior moments from 1 - d, alpha + d and alpha + 1, each given exactly."""
    mean = special.digamma(ap1) - special.digamma(omd)
    c = _psi1(ap1 + 1)
    top = special.digamma(ap1 + 1)
    first = omd / ap1 * ((special.digamma(omd + 1) - top) ** 2 + _psi1(omd + 1) - c)
    second = apd / ap1 * ((special.digamma(omd) - top) ** 2 - c)
    return mean, first + second


def _posterior(f: Fingerprint, omd: Array, row: Index, s: Array) -> tuple[Array, Array]:
    """E[H | n, d, alpha] and E[H^2 | n, d, alpha] at alpha + d = ``s`` and 1 - d = ``omd[row]`` (module
    notes). The terms of each symbol depend on d alone: they are computed once for each d of ``omd``."""
    values, mult, n, k = f.values, f.multiplicities, float(f.n), f.observed
    a_rows = values - 1 + omd[:, None]  # n_i - d, exact near d = 1
    psi_rows, psi1_rows = special.digamma(a_rows + 1), _psi1(a_rows + 2)
    omd = omd[row]
    a, psi_a, psi1_a = a_rows[row], psi_rows[row], psi1_rows[row]
    d = 1 - omd
    star = s + (k - 1) * d  # alpha + K d
    total = s + omd + (n - 1)  # A = alpha + N
    psi_total = special.digamma(total + 2)
    seen = (mult * a * psi_a).sum(axis=-1)
    mean = psi_total - 1 / (total + 1) - (star * special.digamma(omd) + seen) / total  # psi(A + 1) - ...
    # The Dirichlet's second moments over the K symbols and the rest (Wolpert & Wolf 1995): the
    # pairs through (sum a phi)^2, each symbol with itself through psi(a + 2) = psi(a + 1) + 1 / (a + 1).
    aa = np.concatenate([a, star[:, None]], axis=-1)
    mm = np.append(mult, 1.0)
    c = _psi1(total + 2)[:, None]
    phi = np.concatenate([psi_a, special.digamma(star + 1)[:, None]], axis=-1) - psi_total[:, None]
    phi2 = phi + 1 / (aa + 1)
    s1 = (mm * aa * phi).sum(axis=-1)
    cross = s1**2 - c[:, 0] * total**2 - (mm * aa**2 * (phi**2 - c)).sum(axis=-1)
    psi1_aa = np.concatenate([psi1_a, _psi1(star + 2)[:, None]], axis=-1)
    self_ = (mm * aa * (aa + 1) * (phi2**2 + psi1_aa - c)).sum(axis=-1)
    norm = total * (total + 1)
    # E[p_* sum_j h(p_j)] and E[p_*^2], which carry the residual law's entropy.
    with_rest = (star * (mult * a * -phi[:, :-1]).sum(axis=-1) + star * (star + 1) * -phi2[:, -1]) / norm
    rest1, rest2 = _prior_moments(omd, s + k * d, star + 1)
    second = (cross + self_) / norm + 2 * rest1 * with_rest + rest2 * star * (star + 1) / norm
    return mean, second


def pitman_yor_posterior_moments(counts: Any, d: Any, alpha: Any) -> tuple[Any, Any]:
    """The posterior mean and variance of H (nats) under PY(d, ``alpha``) given the ``counts`` of the
    symbols seen (module notes); ``d`` and ``alpha`` broadcast against each other (floats for scalars).

    Example:
        >>> mean, var = pitman_yor_posterior_moments([3, 1, 1], 0.0, 1.0)
        >>> round(mean, 4)  # psi(7) - (3 psi(4) + 2 psi(2) + psi(1)) / 6
        1.2
    """
    f = _fingerprint(counts)
    dd, aa = np.broadcast_arrays(np.asarray(d, dtype=float), np.asarray(alpha, dtype=float))
    if not ((dd >= 0) & (dd < 1) & (aa > -dd)).all():
        raise ValueError(f"d: expected 0 <= d < 1 and alpha > -d, got d={d!r}, alpha={alpha!r}")
    flat = dd.ravel()
    mean, second = _posterior(f, 1 - flat, np.arange(flat.size), aa.ravel() + flat)
    var = np.maximum(second - mean**2, 0.0).reshape(dd.shape)
    mean = mean.reshape(dd.shape)
    return (float(mean), float(var)) if dd.ndim == 0 else (mean, var)


def log_mixing_density(d: Any, alpha: Any) -> Any:
    """log of the PYM mixing density over (d, alpha), up to a constant (module notes, eq. of the
    mixing prior): q(gamma) |d(eta, gamma) / d(alpha, d)| = q(gamma) psi_1(alpha + 1) psi_1(1 - d) / eta,
    with eta = E[H | d, alpha] and gamma = (psi(1) - psi(1 - d)) / eta; minus infinity at alpha <= 0."""
    d, alpha = np.asarray(d, dtype=float), np.asarray(alpha, dtype=float)
    return _log_mixing(1 - d, alpha)


def _log_mixing(omd: Any, alpha: Any) -> Any:
    """:func:`log_mixing_density` from 1 - d, given exactly."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = special.digamma(alpha + 1) - special.digamma(1.0)  # eta (1 - gamma)
        eta = rise + special.digamma(1.0) - special.digamma(omd)
        out = np.log(_psi1(alpha + 1) * _psi1(omd) / eta) - TAIL * eta / rise
    return np.where(alpha > 0, out, -np.inf)


def _log_posterior(f: Fingerprint, u: Array, t: Array) -> Array:
    """log of evidence x mixing density x the Jacobian alpha (1 - d), at d = 1 - e^-u and alpha = e^t, up
    to a constant, less the symbols' terms that depend on d alone (:func:`_tables`). The products of the
    Ewens-Pitman formula are log-gamma ratios kept exact for any counts: betaln for (alpha + 1)_{N-1}
    and for prod (alpha + l d)."""
    omd, d, alpha = np.exp(-u), -np.expm1(-u), np.exp(t)
    k, n = f.observed, float(f.n)
    prior = _log_mixing(omd, alpha)
    out = t - u + prior
    if n > 1:
        out = out + special.betaln(alpha + 1, n - 1)
    if k > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            seats = (k - 1) * np.log(d) + special.gammaln(k - 1) - special.betaln(alpha / d + 1, k - 1)
        out = out + np.where(d > 0, seats, (k - 1) * t)
    return out  # type: ignore[no-any-return]


def _tables(f: Fingerprint, u: Array) -> Array:
    """sum_i log (1 - d)_{n_i - 1} less log Gamma(n_i), at d = 1 - e^-u: poch(n, -d) keeps it exact for
    counts of any size. It depends on d alone, so it is computed once for each u, not for each node."""
    many = f.values > 1
    if not many.any():
        return np.zeros_like(u)
    v, m = f.values[many], f.multiplicities[many]
    d, omd = -np.expm1(-u), np.exp(-u)
    per_symbol = np.log(special.poch(v, -d[:, None])) - special.gammaln(omd)[:, None]
    return (m * per_symbol).sum(axis=-1)  # type: ignore[no-any-return]


def _peaks(log_f: Callable[[Index, Array], Array], rows: int, lo: float, hi: float) -> tuple[Array, Array]:
    """Each row's maximum of ``log_f(row, x)`` over [lo, hi] and its width (1 / sqrt of minus the
    curvature, or 1 / |slope| at an end): a grid, then finer grids around the largest value."""
    r = np.arange(rows)[:, None]
    grid = np.broadcast_to(np.linspace(lo, hi, GRID), (rows, GRID))
    for step in range(REFINE + 1):
        vals = np.nan_to_num(log_f(r, grid), nan=-np.inf)
        i = vals.argmax(axis=1)
        if step == REFINE:
            break
        left = grid[r[:, 0], np.maximum(i - 1, 0)][:, None]
        right = grid[r[:, 0], np.minimum(i + 1, grid.shape[1] - 1)][:, None]
        grid = left + (right - left) * np.linspace(0.0, 1.0, FINE)
    top = grid[r[:, 0], i]
    h = grid[:, 1] - grid[:, 0]
    at = vals[r[:, 0], i]
    below = vals[r[:, 0], np.maximum(i - 1, 0)]
    above = vals[r[:, 0], np.minimum(i + 1, grid.shape[1] - 1)]
    curve = (above - 2 * at + below) / h**2
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(curve < 0, 1 / np.sqrt(np.abs(curve)), hi - lo)
    ends = (i == 0) | (i == grid.shape[1] - 1)
    slope = np.abs(np.where(i == 0, above - at, below - at)) / h
    width = np.where(ends & (slope > 0), np.minimum(width, 1 / np.where(slope > 0, slope, 1.0)), width)
    return top, np.clip(np.nan_to_num(width, nan=hi - lo), h, hi - lo)


def _rule(log_f: Callable[[Index, Array], Array], rows: int, lo: float, hi: float) -> Rule:
    """Gauss-Legendre nodes for each row's integral of exp(log_f) over [lo, hi] (module notes): the row
    of each node, the node and its quadrature weight."""
    top, width = _peaks(log_f, rows, lo, hi)
    steps = np.concatenate([[0.0], FIRST * GROWTH ** np.arange(PIECES)]).cumsum()
    reach = width[:, None] * steps
    edges = np.clip(
        np.concatenate([top[:, None] - reach[:, ::-1], top[:, None] + reach[:, 1:]], axis=1), lo, hi
    )
    r = np.arange(rows)[:, None]
    at = np.nan_to_num(log_f(r, edges), nan=-np.inf)
    peak = np.maximum(at.max(axis=1), at[:, PIECES])[:, None]
    live = np.maximum(at[:, :-1], at[:, 1:]) > peak - DROP
    live[:, PIECES - 1 : PIECES + 1] = True  # the two pieces beside the peak, whatever their ends
    live &= edges[:, 1:] > edges[:, :-1]
    row, piece = np.nonzero(live)
    left, right = edges[row, piece], edges[row, piece + 1]
    half = (right - left)[:, None] / 2
    x = (left + right)[:, None] / 2 + half * _NODES
    return np.repeat(row, ORDER), x.ravel(), (half * _WEIGHTS).ravel()


def _row_logsumexp(row: Index, values: Array, rows: int) -> Array:
    top = np.full(rows, -np.inf)
    np.maximum.at(top, row, values)
    total = np.bincount(row, weights=np.exp(values - top[row]), minlength=rows)
    with np.errstate(divide="ignore"):
        return top + np.log(total)  # type: ignore[no-any-return]


def _inner(f: Fingerprint, u: Array) -> Rule:
    """Nodes over t for each u: their row, t, and log(quadrature weight x posterior)."""
    row, t, w = _rule(lambda r, x: _log_posterior(f, u[r], x), len(u), *T_RANGE)
    with np.errstate(divide="ignore"):
        return row, t, np.log(w) + _log_posterior(f, u[row], t) + _tables(f, u)[row]


def _log_marginal(f: Fingerprint, u: Array) -> Array:
    row, _, log_w = _inner(f, u)
    return _row_logsumexp(row, log_w, len(u))


def pym(f: Fingerprint) -> tuple[float, float]:
    """The PYM posterior mean and standard deviation of H (nats) for the counts ``f`` (module notes)."""
    if f.observed == 0:
        return 0.0, 0.0
    if f.n == f.observed:  # no coincidence: the posterior over alpha is improper
        return math.log(f.n), math.inf
    _, u, wu = _rule(lambda r, x: _log_marginal(f, x.ravel()).reshape(x.shape), 1, *U_RANGE)
    row, t, log_w = _inner(f, u)
    with np.errstate(divide="ignore"):
        log_w = log_w + np.log(wu[row])
    keep = log_w > log_w.max() - DROP
    w = np.exp(log_w[keep] - log_w[keep].max())
    w /= w.sum()
    s = np.exp(t[keep]) - np.expm1(-u[row[keep]])  # alpha + d
    mean_at, second_at = _posterior(f, np.exp(-u), row[keep], s)
    mean = float(w @ mean_at)
    var = float(w @ (np.maximum(second_at - mean_at**2, 0.0) + (mean_at - mean) ** 2))
    return mean, math.sqrt(max(var, 0.0))


def _fingerprint(counts: Any) -> Fingerprint:
    """The counts of counts of a 1-D vector of non-negative whole counts of any size, as float64."""
    try:
        c = np.asarray(counts)
        if c.dtype == object:
            c = c.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"counts: cannot be read as a vector of counts ({err})") from err
    if c.dtype.kind not in "iufb" or c.ndim != 1 or len(c) == 0:
        raise ValueError(f"counts: expected a 1-D vector of non-negative counts, got {counts!r}")
    c = c.astype(np.float64)
    if not np.isfinite(c).all() or (c < 0).any() or not np.array_equal(c, np.round(c)) or not c.any():
        raise ValueError(
            f"counts: expected whole, non-negative counts with at least one sample, got {counts!r}"
        )
    values, mult = np.unique(c[c > 0], return_counts=True)
    n = int((values * mult).sum())  # a Python int: exact where int64 would overflow
    return Fingerprint(values, mult.astype(np.float64), n, int(mult.sum()), None)


def pym_entropy(counts: Any) -> tuple[float, float]:
    """PYM's posterior mean and standard deviation of H in nats (Archer, Park & Pillow 2014) from the
    ``counts`` of the symbols seen (zeros are ignored: the alphabet is countable and unknown), by the
    quadrature of the module notes. With no symbol seen twice the sd is infinite and the mean log N.

    Example:
        >>> mean, sd = pym_entropy([4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2])
        >>> 2.7 < mean < 3.0 and 0.05 < sd < 0.3
        True
    """
    return pym(_fingerprint(counts))
