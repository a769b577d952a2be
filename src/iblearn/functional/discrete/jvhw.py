"""The JVHW entropy estimator (Jiao, Venkat, Han & Weissman 2015): the best polynomial approximation of
-p log p where p is small, the bias-corrected plug-in where it is not.

For a symbol seen n times in N samples, p = n / N. Below a threshold T = 4 c1 log(N) / N the
estimator replaces -p log p by an unbiased estimate of the best uniform (minimax) polynomial
approximation of degree L of -u log u on [0, 1], rescaled to [0, T]: -p log p = T (-(p/T) log(p/T))
- p log T, and u^k is estimated without bias by the falling factorial prod_{q<k} (n - q) / (T (N - q)).
Above 2T it is the plug-in plus 1/(2N); in between the two are mixed linearly. The degree is
L = min(4 + ceil(1.2 log N), 22) and c1 a fitted function of N / f1, both as in the authors' code.

The coefficients are computed here by the Remez exchange algorithm (in the Chebyshev basis on [0, 1],
converted to powers of u), once per degree and cached.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numpy.polynomial import Chebyshev, Polynomial
from numpy.typing import NDArray

from iblearn.functional.discrete.estimators import Fingerprint

Array = NDArray[np.float64]

#: The degree's ceiling in the authors' code: above it the power-basis coefficients lose the error
#: they should achieve to floating-point cancellation.
MAX_DEGREE = 22


def _neg_u_log_u(u: Array) -> Array:
    out = np.zeros_like(u)
    inside = u > 0
    out[inside] = -u[inside] * np.log(u[inside])
    return out


def _alternating_extrema(u: Array, e: Array, count: int) -> Array:
    """``count`` points of ``u`` where the error ``e`` takes alternating signs at its largest: the
    largest |e| of each run of one sign, then the smallest of neighbours merged away."""
    sign = np.sign(e)
    sign[sign == 0] = 1
    cuts = np.flatnonzero(np.diff(sign) != 0) + 1
    runs = np.split(np.arange(len(u)), cuts)
    points = [r[np.argmax(np.abs(e[r]))] for r in runs]
    while len(points) > count:  # drop the weaker end, keeping alternation
        if abs(e[points[0]]) < abs(e[points[-1]]):
            points.pop(0)
        else:
            points.pop()
    return u[np.array(points)]


@cache
def coefficients(degree: int) -> tuple[float, ...]:
    """The best uniform approximation of -u log u on [0, 1] by a polynomial of ``degree``, as its
    power coefficients g_0, ..., g_L (Remez exchange; g_0 is the minimax error at u = 0)."""
    m = degree + 2
    theta = np.linspace(0, math.pi, 200_001)
    grid = (1 - np.cos(theta)) / 2  # dense near 0, where -u log u bends hardest
    grid = np.unique(np.concatenate([grid, np.geomspace(1e-16, 1e-3, 20_000)]))
    f_grid = _neg_u_log_u(grid)
    ref = (1 - np.cos(np.linspace(0, math.pi, m))) / 2
    cheb = Chebyshev(np.zeros(degree + 1), domain=[0, 1])
    for _ in range(60):
        basis = np.polynomial.chebyshev.chebvander(2 * ref - 1, degree)
        system = np.hstack([basis, ((-1.0) ** np.arange(m))[:, None]])
        solution = np.linalg.solve(system, _neg_u_log_u(ref))
        cheb = Chebyshev(solution[:-1], domain=[0, 1])
        err = f_grid - cheb(grid)
        level = abs(solution[-1])
        ref = _alternating_extrema(grid, err, m)
        if float(np.abs(err).max()) <= level * (1 + 1e-9):
            break
    power = cheb.convert(kind=Polynomial, domain=[0, 1], window=[0, 1])
    return tuple(float(c) for c in power.coef)


def degree(n: float) -> int:
    """L = min(4 + ceil(1.2 log N), 22), as the authors' code sets it."""
    return min(4 + math.ceil(1.2 * math.log(n)), MAX_DEGREE)


def _c1(n: float, f1: int, order: int) -> float:
    """The threshold's constant c1 as a function of log(N / f1) (the authors' fitted pieces)."""
    if n < order or f1 == 0:
        return 0.0
    r = math.log(n / f1)
    if n >= 200 and r <= 1.5:
        c = -0.530556484842359 * r * r + 1.09787328176926 * r + 0.184831781602259
    else:
        c = 0.3303 * r + 0.4679
    return max(c, 1 / (1.9 * math.log(n)))


def jvhw(f: Fingerprint) -> float:
    """The JVHW estimate of H in nats (module notes). Unseen symbols contribute nothing, whatever K."""
    n = f.n
    if n < 2:
        return 0.0
    order = degree(n)
    g = np.asarray(coefficients(order))
    x = f.values / n
    plug = -x * np.log(x) + 1 / (2 * n)
    c1 = _c1(n, f.singletons, order)
    if c1 == 0:
        return float(np.maximum(plug, 0).dot(f.multiplicities))
    t = 4 * c1 * math.log(n) / n
    q = np.arange(order)
    with np.errstate(over="ignore", invalid="ignore"):  # a count far above t N: its plug-in is kept
        falling = np.cumprod((f.values[:, None] - q) / (t * (n - q)), axis=1)  # u^k's unbiased estimates
        poly = t * (g[0] + falling @ g[1:]) - x * math.log(t)
    poly = np.where(np.isfinite(poly), poly, plug)
    ratio = np.clip(2 * x / t - 1, 0, 1)
    return float(np.maximum(ratio * plug + (1 - ratio) * poly, 0).dot(f.multiplicities))
