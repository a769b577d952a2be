"""Entropy estimators of a discrete law from its counts, computed on the counts of counts.

Every estimator here reads a :class:`Fingerprint`: the distinct positive counts ``values`` and how
many symbols have each (``multiplicities``), so the cost is in the number of distinct counts, never
in the alphabet size. Values are in nats, as float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, special

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Fingerprint:
    """A sample's counts of counts.

    Attributes:
        values: the distinct positive counts, ascending, as floats.
        multiplicities: how many symbols were seen exactly ``values[i]`` times.
        n: the sample size N (the sum of the counts): an int, or a float past 2^53.
        observed: the number of distinct symbols seen, m.
        alphabet: the alphabet size K where it is known, else None.
    """

    values: Array
    multiplicities: Array
    n: int | float
    observed: int
    alphabet: int | None

    @property
    def singletons(self) -> int:
        """f1: symbols seen once."""
        return int(self.multiplicities[0]) if len(self.values) and self.values[0] == 1 else 0

    @property
    def doubletons(self) -> int:
        """f2: symbols seen twice."""
        hit = np.flatnonzero(self.values == 2)
        return int(self.multiplicities[hit[0]]) if len(hit) else 0

    @property
    def coincidences(self) -> int | float:
        """N - m: the samples that repeat a symbol already seen."""
        return self.n - self.observed


def fingerprint(counts: NDArray[np.int64] | NDArray[np.float64], alphabet: int | None = None) -> Fingerprint:
    """The :class:`Fingerprint` of a vector of non-negative whole counts (zeros are unseen symbols):
    int64, or float64 where the total passes 2^53 (``n`` is then a float and every estimator reaches
    its plug-in limit)."""
    positive = counts[counts > 0]
    exact = positive.dtype.kind in "iu"
    if exact and len(positive) and int(positive.max()) <= 4 * len(counts) + 1024:
        tally = np.bincount(positive)  # linear in K + max count: no sort of a long vector
        values = np.flatnonzero(tally)
        mult = tally[values]
    else:
        values, mult = np.unique(positive, return_counts=True)
    return Fingerprint(
        values.astype(np.float64),
        mult.astype(np.float64),
        int(positive.sum()) if exact else float(positive.sum(dtype=np.float64)),
        len(positive),
        alphabet,
    )


def plugin(f: Fingerprint) -> float:
    """H = -sum_i p_i log p_i with p_i = n_i / N (maximum likelihood)."""
    p = f.values / f.n
    return float(-(f.multiplicities * p * np.log(p)).sum())


def miller_madow(f: Fingerprint) -> float:
    """Plug-in plus (m - 1) / (2N), m the symbols seen (Miller 1955)."""
    return plugin(f) + (f.observed - 1) / (2 * f.n)


def grassberger_g(n: Array) -> Array:
    """Grassberger's G_n = psi(n) + (-1)^n / 2 (psi((n + 1) / 2) - psi(n / 2)) (Grassberger 2003, eq. 35)."""
    sign = np.where(np.mod(n, 2) == 0, 1.0, -1.0)
    return special.digamma(n) + 0.5 * sign * (special.digamma((n + 1) / 2) - special.digamma(n / 2))


def grassberger(f: Fingerprint) -> float:
    """H = log N - (1/N) sum_i n_i G(n_i) (Grassberger 2003, eq. 35)."""
    return float(math.log(f.n) - (f.multiplicities * f.values * grassberger_g(f.values)).sum() / f.n)


def chao_shen(f: Fingerprint) -> float:
    """Coverage-adjusted Horvitz-Thompson estimate (Chao & Shen 2003, eq. 9).

    The sample coverage C = 1 - f1 / N (Good-Turing; f1 set to N - 1 when every symbol is a singleton)
    shrinks each p_i to C n_i / N, and each term is divided by the chance 1 - (1 - C p_i)^N that its
    symbol is seen at all: H = -sum_i C p_i log(C p_i) / (1 - (1 - C p_i)^N).
    """
    f1: int | float = f.singletons
    if f1 == f.n:
        f1 = f.n - 1
    pa = (1 - f1 / f.n) * f.values / f.n
    with np.errstate(divide="ignore"):  # pa = 1 (one symbol, no singleton): seen for sure
        seen = -np.expm1(f.n * np.log1p(-pa))
    return float(-(f.multiplicities * pa * np.log(pa) / seen).sum())


def zhang(f: Fingerprint) -> float:
    """Zhang's (2012) estimator, H = sum_{v=1}^{N-1} Z_v / v, in its closed form.

    Summing the series of Zhang (2012, eq. 7) symbol by symbol gives, for a symbol seen n_i times,
    sum_{v=1}^{N-n_i} (1/v) prod_{j=0}^{v-1} (1 - (n_i - 1)/(N - 1 - j)) = psi(N) - psi(n_i), so
    H = sum_i (n_i / N) (psi(N) - psi(n_i)), which is also the first term of Chao, Wang & Jost (2013).
    """
    return float(
        (f.multiplicities * f.values / f.n * (special.digamma(f.n) - special.digamma(f.values))).sum()
    )


def _unseen_tail(n: float, a: float) -> float:
    """b^(1-N) (-log A - sum_{r=1}^{N-1} b^r / r), b = 1 - A, as the bounded integral
    (1/N) int_0^inf b e^{-w} / (A + b (1 - e^{-w/N})) dw: the series form overflows b^(1-N)."""
    b = 1.0 - a

    def g(w: float) -> float:
        return b * math.exp(-w) / (a + b * -math.expm1(-w / n))

    scale = min(1.0, a * n)  # the integrand falls from its peak over w ~ A N
    head = integrate.quad(g, 0.0, scale, limit=200, epsabs=0, epsrel=1e-12)[0]
    tail = integrate.quad(g, scale, 60.0, limit=200, epsabs=0, epsrel=1e-12)[0]
    return (head + tail) / n


def cwj(f: Fingerprint) -> float:
    """Chao, Wang & Jost (2013, eq. 7): Zhang's sum over the seen symbols plus the unseen part
    (f1 / N) (1 - A)^(1-N) (-log A - sum_{r=1}^{N-1} (1 - A)^r / r), with A = 2 f2 / ((N - 1) f1 + 2 f2),
    or 2 / ((N - 1)(f1 - 1) + 2) when f2 = 0, or 1 (no unseen part) when f1 = f2 = 0.
    """
    n, f1, f2 = f.n, f.singletons, f.doubletons
    seen = zhang(f)
    if f1 == 0 or n < 2:
        return seen
    a = 2 * f2 / ((n - 1) * f1 + 2 * f2) if f2 > 0 else 2 / ((n - 1) * (f1 - 1) + 2)
    if a >= 1:
        return seen
    return seen + f1 / n * _unseen_tail(n, a)


def shrinkage(f: Fingerprint) -> float:
    """James-Stein shrinkage of the frequencies toward the uniform law 1/K, then the plug-in
    (Hausser & Strimmer 2009, eqs. 5 and 8): lambda = (1 - sum p_i^2) / ((N - 1) sum (1/K - p_i)^2),
    clipped to [0, 1]. K is ``alphabet`` where known (the unseen symbols each get lambda / K), else
    the symbols seen.
    """
    k = f.alphabet if f.alphabet is not None else f.observed
    unseen = k - f.observed
    u, t, z = f.values / f.n, 1.0 / k, f.multiplicities
    spread = float((z * (u - t) ** 2).sum()) + unseen * t * t
    if f.n <= 1 or spread == 0:
        lam = 1.0
    else:
        lam = min(1.0, max(0.0, float((z * u * (1 - u)).sum()) / ((f.n - 1) * spread)))
    p = lam * t + (1 - lam) * u
    h = float(-(z * p * np.log(p)).sum())
    if unseen and lam > 0:
        h -= unseen * lam * t * math.log(lam * t)
    return h
