"""The NSB entropy estimate (Nemenman, Shafee & Bialek 2002): the posterior mean and standard deviation
of H under a mixture of symmetric Dirichlet priors that is flat in the prior's expected entropy.

With concentration a over K symbols, the prior expected entropy is xi(a) = psi(K a + 1) - psi(a + 1);
NSB weighs a by d xi / d a = K psi_1(K a + 1) - psi_1(a + 1) times the Dirichlet-multinomial evidence
p(n | a) = Gamma(K a) / Gamma(N + K a) prod_i Gamma(n_i + a) / Gamma(a), and averages the posterior
moments of H given a (Wolpert & Wolf 1995) over that weight. The integral runs over t = log a: the
log weight's maximum is located first (its derivative's sign change, on a grid and a finer one), then
the weight is integrated by Gauss-Legendre quadrature on pieces that widen away from the peak, over
the whole range where it exceeds e^-40 of its peak (ndd integrates within 4 posterior sds of log a,
so the two differ where the weight has a heavy tail). Every sum over symbols is
over the distinct counts (the unseen K - m symbols are one group), so K = 10^6 costs what K = 100 does.

With K unknown the estimate follows ndd (Marsili): no coincidences gives log N and an infinite sd; a
strongly undersampled sample (coincidences under a tenth of N) the asymptotic NSB of Nemenman (2011,
eqs. 29-30); otherwise NSB with K guessed by growing it tenfold from the symbols seen until the
estimate stops rising (by 10^-3 nats per e-fold), then stepping back by sqrt(10).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

from iblearn.functional.discrete.estimators import Fingerprint

Array = NDArray[np.float64]
#: Where the weight's peak is sought: a from 10^-8 to 10^8 times 1 / K (ndd's range).
SPAN = 8 * math.log(10)
#: How far the integral may reach beyond it: a tail in a^-1 (a sample with almost no coincidences)
#: still holds mass past 10^8 / K.
REACH = 50.0
#: Above this concentration the prior's two trigamma terms cancel to their leading orders: their
#: expansion in 1/a is used instead.
LARGE = 1e3
#: Where the weight is negligible: e^-40 of its peak.
DROP = 40.0
#: The quadrature's pieces: the first a fraction of the weight's width, each next one GROWTH times as
#: wide, Gauss-Legendre of ORDER nodes on each.
FIRST, GROWTH, PIECES, ORDER = 0.7, 1.8, 40, 12
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(ORDER)
#: Arrays of at most this many values take psi_1 from scipy's zeta (:func:`_trigamma`).
SHORT = 256
#: The slope's grid over ndd's range, and the finer grids within the bracket of its sign change.
GRID, FINE, REFINE = 47, 17, 2


def _trigamma(x: Array) -> Array:
    """psi_1(x) for x >= 1: the recurrence psi_1(x) = 1/x^2 + psi_1(x + 1) ten times, then the
    asymptotic series 1/y + 1/(2y^2) + sum B_2j / y^(2j+1) at y = x + 10 (its first omitted term is
    below 1e-13 there). scipy's Hurwitz zeta gives the same to a few ulps; it costs more per value
    but less per call, so it serves the short arrays."""
    if x.size <= SHORT:
        return special.zeta(2, x)  # type: ignore[no-any-return]
    total = np.zeros_like(x)
    for j in range(10):
        total += 1 / (x + j) ** 2
    y = x + 10
    r = 1 / (y * y)
    series = 1 + r * (1 / 6 - r * (1 / 30 - r * (1 / 42 - r * (1 / 30 - r * 5 / 66))))
    return total + (series / y + r / 2)


def _groups(f: Fingerprint, k: float) -> tuple[Array, Array]:
    """Counts and multiplicities with the K - m unseen symbols as one group of count 0."""
    unseen = k - f.observed
    if unseen <= 0:
        return f.values, f.multiplicities
    return np.append(f.values, 0.0), np.append(f.multiplicities, unseen)


def _prior(a: Array, k: float, slope: bool = False) -> tuple[Array, Array | None]:
    """d xi / d a = K psi_1(K a + 1) - psi_1(a + 1) (and, with ``slope``, its derivative in a), by the
    expansion psi_1(x + 1) = 1/x - 1/(2x^2) + 1/(6x^3) - 1/(30x^5) + ... where a > LARGE. psi_1 and
    psi_2 are Hurwitz zetas: zeta(2, x) and -2 zeta(3, x)."""
    big = a > LARGE
    small = np.where(big, 1.0, a)
    u1, u2, u4 = 1 - 1 / k, 1 - 1 / k**2, 1 - 1 / k**4
    value = k * _trigamma(k * small + 1) - _trigamma(small + 1)
    value = np.where(big, u1 / (2 * a**2) - u2 / (6 * a**3) + u4 / (30 * a**5), value)
    if not slope:
        return value, None
    d = -2 * (k * k * special.zeta(3, k * small + 1) - special.zeta(3, small + 1))
    return value, np.where(big, -u1 / a**3 + u2 / (2 * a**4) - u4 / (6 * a**6), d)


def _log_weight(t: Array, f: Fingerprint, k: float) -> Array:
    """log of (d xi / d a) p(n | a) a at a = e^t, up to a constant (the a is t's Jacobian). The
    log-gamma differences are written as betaln, which stays exact where a dwarfs the counts."""
    a = np.exp(t)
    seen = (f.multiplicities * (special.gammaln(f.values) - special.betaln(a[:, None], f.values))).sum(axis=1)
    evidence = special.betaln(k * a, f.n) - special.gammaln(f.n) + seen
    return np.log(_prior(a, k)[0]) + evidence + t


def _slope(t: Array, f: Fingerprint, k: float) -> Array:
    """d/dt of :func:`_log_weight`, at every t of ``t``."""
    a = np.exp(t)
    prior, dprior = _prior(a, k, slope=True)
    col = a[:, None]
    seen = (f.multiplicities * (special.digamma(f.values + col) - special.digamma(col))).sum(axis=1)
    devidence = k * (special.digamma(k * a) - special.digamma(f.n + k * a)) + seen
    return a * (dprior / prior + devidence) + 1  # type: ignore[operator]


def _moments(t: Array, f: Fingerprint, k: float) -> tuple[Array, Array]:
    """E[H | n, a] and Var[H | n, a] at a = e^t (Wolpert & Wolf 1995), summed over distinct counts."""
    values, mult = _groups(f, k)
    a = np.exp(t)[:, None]
    nu = f.n + k * a  # (T, 1)
    na = values + a  # (T, G)
    mean = special.digamma(nu[:, 0] + 1) - (mult * na * special.digamma(na + 1)).sum(axis=1) / nu[:, 0]
    phi = special.digamma(na + 1) - special.digamma(nu + 2)
    c = _trigamma(nu + 2)
    s1 = (mult * na * phi).sum(axis=1)
    cross = s1**2 - c[:, 0] * nu[:, 0] ** 2 - (mult * na**2 * (phi**2 - c)).sum(axis=1)
    phi2 = phi + 1 / (na + 1)
    self_ = (mult * na * (na + 1) * (phi2**2 + _trigamma(na + 2) - c)).sum(axis=1)
    second = (cross + self_) / (nu[:, 0] * (nu[:, 0] + 1))
    return mean, np.maximum(second - mean**2, 0.0)


def _peak(f: Fingerprint, k: float) -> tuple[float, float]:
    """The log weight's maximum t* within ndd's range, and the weight's width there (1 / sqrt of the
    log weight's curvature): the slope on a grid, then on finer grids within the bracket where it turns
    negative. The quadrature needs the peak to a fraction of the width, not to machine precision."""
    lo, hi = -math.log(k) - SPAN, -math.log(k) + SPAN
    grid = np.linspace(lo, hi, GRID)
    for _ in range(REFINE):
        s = _slope(grid, f, k)
        below = np.flatnonzero(s <= 0)
        if len(below) == 0 or below[0] == 0:
            break
        i = int(below[0])
        step = grid[i] - grid[i - 1]
        if s[i - 1] - s[i] > 0:
            curve = (s[i - 1] - s[i]) / step
            top = float(grid[i - 1] + s[i - 1] / curve)
        grid = np.linspace(grid[i - 1], grid[i], FINE)
    else:
        return top, 1 / math.sqrt(curve)
    top = float(grid[-1] if len(below) == 0 else grid[0])
    # A maximum at an end of the range: the weight falls away from it on one side only.
    return top, 1.0


def _nodes(f: Fingerprint, k: float) -> tuple[Array, Array, Array]:
    """Gauss-Legendre nodes, their weights and the log weight there, on pieces that widen away from the
    peak (a quarter of the weight's width near it, growing geometrically into the tails) out to REACH
    beyond ndd's range; only the pieces where the weight exceeds e^-DROP of its peak at an end are
    kept (the weight is unimodal in t)."""
    top, width = _peak(f, k)
    lo, hi = -math.log(k) - SPAN - REACH, -math.log(k) + SPAN + REACH
    steps = width * np.concatenate([[0.0], FIRST * GROWTH ** np.arange(PIECES)]).cumsum()
    edges = np.unique(np.clip(np.concatenate([top - steps, top + steps]), lo, hi))
    at = _log_weight(edges, f, k)
    live = np.maximum(at[:-1], at[1:]) > at.max() - DROP
    left, right = edges[:-1][live], edges[1:][live]
    half = (right - left)[:, None] / 2
    t = ((left + right)[:, None] / 2 + half * _NODES).ravel()
    return t, (half * _WEIGHTS).ravel(), _log_weight(t, f, k)


def nsb(f: Fingerprint, k: float) -> tuple[float, float]:
    """The NSB posterior mean and standard deviation of H (nats) over K = ``k`` symbols."""
    if k <= 1 or f.observed == 0:
        return 0.0, 0.0
    t, weights, log_w = _nodes(f, k)
    w = weights * np.exp(log_w - log_w.max())
    keep = w > w.max() * 1e-18  # nodes below float64's resolution of the sum add nothing
    w, t = w[keep] / w[keep].sum(), t[keep]
    mean_a, var_a = _moments(t, f, k)
    mean = float(w @ mean_a)
    var = float(w @ (var_a + (mean_a - mean) ** 2))
    return mean, math.sqrt(max(var, 0.0))


def asymptotic_nsb(f: Fingerprint) -> tuple[float, float]:
    """H = C_gamma - log 2 + 2 log N - psi(Delta), sd = sqrt(psi_1(Delta)), Delta = N - m the
    coincidences (Nemenman 2011, eqs. 29-30), for K unknown or infinite and Delta << N."""
    d = f.coincidences
    return (
        float(np.euler_gamma - math.log(2) + 2 * math.log(f.n) - special.digamma(d)),
        float(math.sqrt(special.polygamma(1, d))),
    )


def guess_alphabet(f: Fingerprint) -> float | None:
    """K as ndd guesses it (module notes); None where the NSB estimate at K reaches the asymptotic one
    (ndd then has no guess) before it settles."""
    step = math.log(10)
    k1 = float(max(f.observed, 1))
    h0 = nsb(f, k1)[0]
    h_asym = asymptotic_nsb(f)[0] if f.coincidences > 0 else None
    for _ in range(40):
        k1 = float(round(k1 * 10))
        h1 = nsb(f, k1)[0]
        if (h1 - h0) / step < 1e-3:
            break
        if h_asym is not None and h1 >= h_asym:
            return None
        h0 = h1
    return float(round(k1 / math.sqrt(10)))


def nsb_unknown(f: Fingerprint) -> tuple[float, float]:
    """NSB with K unknown, as ndd chooses among no estimate, the asymptotic form and a guessed K."""
    if f.coincidences == 0:
        return math.log(f.n), math.inf
    if f.coincidences / f.n < 0.1:
        return asymptotic_nsb(f)
    k = guess_alphabet(f)
    return asymptotic_nsb(f) if k is None else nsb(f, k)
