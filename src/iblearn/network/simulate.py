"""Random sparse vector-autoregressive networks with a known structure, to check network inference
against (the test networks of Novelli et al. 2019, "Results": random graphs, VAR dynamics)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iblearn import _checks as V


@dataclass(frozen=True)
class VARNetwork:
    """A simulated network: ``data`` ``(T, P)`` and its true ``edges`` ``(source, target, lag)``
    (self-loops, each process's own lag-1 memory, not listed)."""

    data: np.ndarray
    edges: tuple[tuple[int, int, int], ...]

    @property
    def adjacency(self) -> np.ndarray:
        p = self.data.shape[1]
        out = np.zeros((p, p), dtype=bool)
        for s, t, _ in self.edges:
            out[s, t] = True
        return out


def random_var_network(
    nodes: int,
    samples: int,
    *,
    in_degree: tuple[int, int] = (2, 3),
    lags: tuple[int, int] = (1, 3),
    nonlinear: int = 0,
    seed: int = 0,
) -> VARNetwork:
    """A random sparse VAR network: each process has its own lag-1 memory 0.3 and ``in_degree``
    sources (at random, drawn between the bounds) at lags drawn between ``lags``, with couplings of
    size 0.3 - 0.5 and random sign, scaled down where needed so the process is stable (companion
    spectral radius at most 0.9); ``nonlinear`` of the couplings act through the clipped square of the
    source, ``c (clip(x, -3, 3)^2 - 1)``, which no linear estimate sees. Unit Gaussian innovations;
    the first 500 steps are discarded."""
    nodes, samples = V.positive_int(nodes, "nodes"), V.positive_int(samples, "samples")
    rng = np.random.default_rng(V.seed(seed))
    lo, hi = in_degree
    max_lag = lags[1]
    coef = np.zeros((max_lag, nodes, nodes))  # coef[l - 1, target, source]
    edges = []
    for t in range(nodes):
        others = [p for p in range(nodes) if p != t]
        for s in rng.choice(others, size=min(int(rng.integers(lo, hi + 1)), len(others)), replace=False):
            lag = int(rng.integers(lags[0], lags[1] + 1))
            coef[lag - 1, t, s] = rng.uniform(0.3, 0.5) * rng.choice([-1.0, 1.0])
            edges.append((int(s), t, lag))
        coef[0, t, t] = 0.3
    companion = np.zeros((nodes * max_lag, nodes * max_lag))
    companion[:nodes] = np.concatenate(list(coef), axis=1)
    companion[nodes:, :-nodes] = np.eye(nodes * (max_lag - 1))
    radius = float(np.abs(np.linalg.eigvals(companion)).max())
    if radius > 0.9:
        coef *= 0.9 / radius
    squared = [edges[i] for i in rng.choice(len(edges), size=min(nonlinear, len(edges)), replace=False)]
    burn = 500
    x = np.zeros((samples + burn, nodes))
    noise = rng.standard_normal((samples + burn, nodes))
    for step in range(max_lag, samples + burn):
        x[step] = noise[step] + sum(coef[lag - 1] @ x[step - lag] for lag in range(1, max_lag + 1))
        for s, t, lag in squared:
            c = coef[lag - 1, t, s]
            x[step, t] += c * (np.clip(x[step - lag, s], -3, 3) ** 2 - 1) - c * x[step - lag, s]
    return VARNetwork(x[burn:], tuple(sorted(edges)))
