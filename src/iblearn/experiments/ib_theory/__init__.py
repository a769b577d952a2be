"""Amjad & Geiger (2019), made visible: ``iblearn reproduce ib-theory``.

1. Fig. 1: the net f(x) = ReLU(x - a) - ReLU(x - a - b) of Fig. 1(d) on a discrete, a data-set and a
   continuous input: I(X; Y~) and I(Y; Y~) exactly, over the (a, b) grid in steps of 0.05. Piecewise
   constant; infinite wherever the ramp (a, a + b) holds continuous probability mass.
2. Figs. 2 and 3: nets whose plain IB functionals are identical, told apart (or not) by the decision-rule
   form (eq. 6), the noisy form (Sec. 5.4) and noise at the input (a stochastic net, Sec. 5.3).
3. Elad et al. (2019), eq. (5): I(X; WX + eps) of a linear layer on Gaussian input, closed form against
   KSG, over a scale of W: it shrinks with the weights.
4. The information plane of a small MLP on MNIST (tanh, ReLU) with binning, KSG and the noisy form
   (Saxe et al. 2018), and of a ProximalSplit run against its baseline (Han et al. (2023)'s conclusion); see
   :mod:`iblearn.experiments.ib_theory.plane`.

The positions and masses of Fig. 1's points are drawn, not printed, in the paper: :data:`POINTS` is our
reading (four class-alternating clusters); what the figure shows (piecewise constancy, and where the
values are infinite) does not depend on them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from iblearn.analysis import ib_decision, ib_noisy, ib_quantized
from iblearn.experiments.ib_theory import plane as ib_plane
from iblearn.experiments.ib_theory.config import LINEAR_K, Config
from iblearn.experiments.ib_theory.report import plot_fig1, table
from iblearn.experiments.options import ReproduceOptions
from iblearn.functional import ksg_mi, linear_gaussian_noisy_mi

#: What the run's config.json records as its experiment (and ``iblearn reproduce --config`` reads).
EXPERIMENT = "Amjad & Geiger (2019), with Han et al. (2023) and Elad et al. (2019)"

# Fig. 1(a): mass points on [0, 1], their probabilities and classes (red Y = 0, black Y = 1).
POINTS = (0.1, 0.35, 0.6, 0.85)
MASSES = (0.2, 0.3, 0.25, 0.25)
CLASSES = (0, 1, 0, 1)
HALF_WIDTH = 0.05  # Fig. 1(c): uniform on [p - 0.05, p + 0.05], same masses
GRID = np.round(np.arange(0, 1.0001, 0.05), 2)


def _entropy(p: NDArray[Any]) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _discrete_information(
    values: NDArray[Any], masses: NDArray[Any], classes: NDArray[Any]
) -> tuple[float, float]:
    """I(X; Y~) = H(Y~) and I(Y; Y~) in bits for X on mass points mapped to ``values``."""
    keys = np.round(values, 9)
    atoms = np.unique(keys)
    p_atom = np.array([masses[keys == k].sum() for k in atoms])
    h_y = _entropy(np.array([masses[classes == c].sum() for c in (0, 1)]))
    h_y_given = sum(
        p * _entropy(np.array([masses[(keys == k) & (classes == c)].sum() for c in (0, 1)]) / p)
        for k, p in zip(atoms, p_atom, strict=True)
    )
    return _entropy(p_atom), h_y - h_y_given


def fig1_discrete(
    a: float, b: float, points: NDArray[Any], masses: NDArray[Any], classes: NDArray[Any]
) -> tuple[float, float]:
    return _discrete_information(np.clip(points - a, 0, b), masses, classes)


def fig1_continuous(a: float, b: float) -> tuple[float, float]:
    """Exact I(X; Y~), I(Y; Y~) in bits for X uniform on the intervals of Fig. 1(c).

    Y~ = clip(X - a, 0, b) has atoms at 0 (X <= a) and b (X >= a + b), and is continuous and injective
    on the ramp a < X < a + b. Ramp mass > 0 makes I(X; Y~) infinite; I(Y; Y~) stays finite, the ramp
    part telling the classes apart (their intervals are disjoint).
    """
    lo, hi = np.array(POINTS) - HALF_WIDTH, np.array(POINTS) + HALF_WIDTH
    masses, classes = np.array(MASSES), np.array(CLASSES)

    def share(left: float, right: float) -> NDArray[Any]:  # each interval's mass in [left, right]
        return masses * np.clip(np.minimum(hi, right) - np.maximum(lo, left), 0, None) / (hi - lo)

    below, above = share(-np.inf, a), share(a + b, np.inf)
    ramp = masses - below - above
    atoms = [below + above] if b == 0 else [below, above]
    h_y = _entropy(np.array([masses[classes == c].sum() for c in (0, 1)]))
    h_y_given = sum(
        atom.sum() * _entropy(np.array([atom[classes == c].sum() for c in (0, 1)]) / atom.sum())
        for atom in atoms
        if atom.sum() > 0
    )
    ixy = math.inf if ramp.sum() > 1e-12 else _entropy(np.array([atom.sum() for atom in atoms]))
    return ixy, h_y - h_y_given


def dataset_points(n: int, seed: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """Fig. 1(b): n points from the continuous input, and their classes."""
    rng = np.random.default_rng(seed)
    which = rng.choice(len(POINTS), size=n, p=MASSES)
    return np.array(POINTS)[which] + rng.uniform(-HALF_WIDTH, HALF_WIDTH, n), np.array(CLASSES)[which]


def fig1_grids(config: Config, seed: int) -> dict[str, NDArray[Any]]:
    """(len(GRID), len(GRID), 2) arrays of I(X; Y~), I(Y; Y~) in bits over (a, b), per input kind."""
    xd, yd = dataset_points(config.dataset_size, seed)
    inputs = {
        "discrete": (np.array(POINTS), np.array(MASSES), np.array(CLASSES)),
        "dataset": (xd, np.full(len(xd), 1 / len(xd)), yd),
    }
    grids = {kind: np.zeros((len(GRID), len(GRID), 2)) for kind in ("discrete", "dataset", "continuous")}
    for i, a in enumerate(GRID):
        for j, b in enumerate(GRID):
            for kind, args in inputs.items():
                grids[kind][i, j] = fig1_discrete(a, b, *args)
            grids["continuous"][i, j] = fig1_continuous(a, b)
    return grids


# Figs. 2 and 3, as piecewise-linear functions of x1 (each is a one-hidden-layer ReLU net); X is uniform
# on the four sets S_i = [(i - 1)/4 + 0.05, i/4 - 0.05] with classes 0, 1, 0, 1.
SETS = [((i - 1) / 4 + 0.05, i / 4 - 0.05) for i in (1, 2, 3, 4)]


def _staircase(levels: list[float], edge: float) -> tuple[list[float], list[float]]:
    """Knots of a function equal to levels[i] on S_i, switching at ``edge`` (0..1) of each gap."""
    xs, ys = [0.0], [levels[0]]
    for i, (lo, hi) in enumerate(SETS):
        xs += [lo, hi]
        ys += [levels[i], levels[i]]
        if i < 3:
            switch = hi + edge * (SETS[i + 1][0] - hi)
            xs += [switch - 0.002, switch + 0.002]
            ys += [levels[i], levels[i + 1]]
    return [*xs, 1.0], [*ys, levels[-1]]


NETS = {
    "f' (Fig. 2)": _staircase([0.0, 0.75, 0.25, 1.0], 0.5),  # thresholdable at 1/2, switches mid-gap
    "f'' (Fig. 2)": _staircase([0.0, 1 / 3, 2 / 3, 1.0], 0.5),  # same values in class order: no threshold
    "f''' (Fig. 2)": _staircase([0.0, 0.75, 0.25, 1.0], 0.02),  # = f' on the sets, switches at their edges
}


def examples(config: Config, seed: int) -> list[dict[str, Any]]:
    """The IB functional's forms for the nets of Figs. 2 and 3 on a data set of ``examples_n`` samples."""
    gen = np.random.default_rng(seed)
    n = config.examples_n
    which = gen.integers(0, 4, n)
    lo, hi = np.array(SETS).T
    x1 = lo[which] + gen.uniform(0, 1, n) * (hi - lo)[which]
    y2 = which % 2
    eps = 0.02  # Fig. 3: Y = 0 on [0, 1/2] x [0, eps], Y = 1 on [0, eps] x [1/2, 1]
    y3 = gen.integers(0, 2, n)
    u, v = gen.uniform(0, 1, n), gen.uniform(0, 1, n)
    x3 = np.where(
        y3[:, None] == 0, np.column_stack([u / 2, v * eps]), np.column_stack([u * eps, 0.5 + v / 2])
    )
    noisy_in = gen.normal(0, config.input_noise, (n, 2))
    rows = []
    cases: list[tuple[str, Any, NDArray[Any], NDArray[Any], float]] = [
        (name, lambda x, k=knots: np.interp(x[:, 0], *k), np.column_stack([x1, np.zeros(n)]), y2, 0.5)
        for name, knots in NETS.items()
    ]
    cases += [
        ("f^I = ReLU(x1 + x2) (Fig. 3)", lambda x: np.maximum(x[:, 0] + x[:, 1], 0), x3, y3, 0.5),
        ("f^II = ReLU(x2) (Fig. 3)", lambda x: np.maximum(x[:, 1], 0), x3, y3, 3 / 8),
    ]
    for name, f, x, y, threshold in cases:
        out, yt = torch.tensor(f(x))[:, None], torch.tensor(y)
        shaken = torch.tensor(f(x + noisy_in))[:, None]  # the Fig. 2 nets read x1 only
        forms = {
            "plain": ib_quantized(out, yt, n_bins=1000, base=2),
            "decision": ib_decision(out, yt, threshold=threshold, base=2),
            "noisy": ib_noisy(out, yt, noise_std=config.output_noise, base=2),
            "input noise": ib_decision(shaken, yt, threshold=threshold, base=2),
        }
        row: dict[str, Any] = {"net": name}
        for form, ib in forms.items():
            row[f"{form} I(X;T)"], row[f"{form} I(Y;T)"] = float(ib.ixl), float(ib.iyl)
        row["accuracy under input noise"] = float(((shaken[:, 0] > threshold).long() == yt).double().mean())
        rows.append(row)
    return rows


def linear_layer(config: Config, seed: int) -> list[dict[str, float]]:
    """Elad et al. (2019) eq. (5) against KSG on samples, for W = s * W0."""
    gen = torch.Generator().manual_seed(seed)
    cov = torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    w0 = torch.tensor([[1.0, -0.5], [0.3, 0.8]], dtype=torch.float64)
    x = torch.randn(config.linear_n, 2, generator=gen, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    noise = 0.5 * torch.randn(config.linear_n, 2, generator=gen, dtype=torch.float64)
    rows = []
    for s in (0.1, 0.3, 1.0, 3.0):
        w = s * w0
        rows.append(
            {
                "scale of W": s,
                "eq. (5)": float(linear_gaussian_noisy_mi(w, cov, 0.5)),
                "KSG": float(ksg_mi(x, x @ w.T + 0.1 + noise, k=LINEAR_K)),
            }
        )
    return rows


def run(options: ReproduceOptions, config: Config | None = None) -> Path:
    """Write the four demonstrations into the run folder; ``config`` overrides the presets."""
    config = options.configure(config or (Config.full() if options.full else Config()))
    folder = options.start("ib-theory", EXPERIMENT, config)
    grids = fig1_grids(config, options.seed)
    ex = examples(config, options.seed)
    lin = linear_layer(config, options.seed)
    plane = ib_plane.run(folder, config.plane, options)
    results = {"fig1": _fig1_summary(grids), "examples": ex, "linear": lin, "plane": plane}
    folder.write_results(results, seed=options.seed, device=str(options.torch_device()))
    folder.write_table(table(results))
    plot_fig1(folder, grids)
    return folder.path


def _fig1_summary(grids: dict[str, NDArray[Any]]) -> dict[str, Any]:
    out = {}
    for kind, g in grids.items():
        finite = np.isfinite(g[..., 0])
        out[kind] = {
            "distinct I(X;Y~)": len(np.unique(np.round(g[..., 0][finite], 9))),
            "distinct I(Y;Y~)": len(np.unique(np.round(g[..., 1], 9))),
            "infinite cells": int((~finite).sum()),
            "cells": int(g[..., 0].size),
        }
    return out
