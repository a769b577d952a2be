"""The cases of benchmarks/ratios.py for the paths built on its first ones: all pairs with ``top_k``, the
exact IB curve, ``method="auto"`` through the front door and network inference, each timed against the
core operation it wraps, so that the core's speed cancels and the wrapper's work shows.

* ``pairwise_mi(x, top_k=5)`` over the dense ``pairwise_mi(x)`` of the same 32 columns of 1,000 rows:
  the streamed tiles and the running top-k against one dense matrix of the same pairs.
* ``ib_curve(pxy)`` (its 50 default betas, critical betas found) over 1,000 plain Blahut-Arimoto IB
  iterations (Tishby, Pereira & Bialek 1999, eqs. 28; as many as ``ib_curve`` allows a start) of all 50
  betas at once on the same 8 x 4 joint, with as many values of T as of X: the equations every start
  iterates, without the search.
* ``iblearn.estimate(measure, ..., method="auto")`` over the estimator it chooses, called alone on the
  same rows: MI where it chooses KSG and where it chooses the Gaussian, CMI (KSG), TE (KSG) and the
  O-information (KSG).
* ``infer_network`` (KSG, a 3-process VAR of 300 steps, lags 1 - 2, 20 surrogates) over ``ksg_cmi``
  called as many times, on rows of the same shapes, as the inference estimates a conditional MI.
* ``estimate_many`` (8 copies of the default InfoNCE fitted to 8 Gaussian pairs, the critics stacked)
  over the same 8 fits one after another (``stack=False``, the same estimates); no goal on the CPU
  (``benchmarks/many_critics.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from scipy.special import xlogy
from torch import Tensor

import iblearn
from benchmarks.many_critics import gaussian_pairs
from iblearn.data import high_mi, student_t
from iblearn.estimators.neural import InfoNCE, estimate_many
from iblearn.estimators.reliability import UnreliableEstimateWarning
from iblearn.functional import (
    gaussian_mi,
    ib_curve,
    ksg_cmi,
    ksg_mi,
    o_information,
    pairwise_mi,
)
from iblearn.functional.cmi_surrogates import KSGCMI
from iblearn.functional.information_dynamics import active_information_storage
from iblearn.functional.knn.transfer import ksg_transfer_entropy
from iblearn.functional.multivariate.inputs import copula_normal
from iblearn.network import infer_network
from iblearn.network.simulate import random_var_network

from .paired import paired_ratio

Measure = Callable[[int], dict[str, float]]


class Case(NamedTuple):
    """A row of the ratios table: the hot path, the core operation it wraps, the function that times
    the two (its argument the repetitions) and how many repetitions."""

    hot: str
    core: str
    measure: Measure
    repeats: int


class Cases(dict[str, Case]):
    """Cases by name, in the order they are added."""

    def add(self, hot: str, core: str, repeats: int) -> Callable[[Measure], Measure]:
        """Adds the decorated ``<name>_case`` function as case ``<name>``."""

        def register(measure: Measure) -> Measure:
            self[measure.__name__.removesuffix("_case")] = Case(hot, core, measure, repeats)
            return measure

        return register


CASES = Cases()


def _columns(n: int, p: int, seed: int = 0) -> Tensor:
    """``p`` columns of ``n`` rows in groups of 4 sharing a Gaussian source."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p // 4, generator=g, dtype=torch.float64).repeat_interleave(4, dim=1)
    return x + torch.randn(n, p, generator=g, dtype=torch.float64)


@CASES.add("pairwise_mi, top_k 5, 32 x 1,000", "dense pairwise_mi, same columns", 11)
def pairwise_top_k_case(repeats: int) -> dict[str, float]:
    x = _columns(1_000, 32)
    return paired_ratio(lambda: pairwise_mi(x, top_k=5), lambda: pairwise_mi(x), repeats)


def _joint(n_x: int, n_y: int, seed: int = 0) -> np.ndarray:
    """A random joint table ``(n_x, n_y)`` whose rows lean each to one value of Y."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n_y), size=n_x) + 2.0 * np.eye(n_y)[np.arange(n_x) % n_y]
    return p / p.sum()


def blahut_arimoto_ib(p: np.ndarray, betas: np.ndarray, iterations: int) -> np.ndarray:
    """``iterations`` of the IB's self-consistent equations (Tishby et al. 1999, eqs. 28) for every beta
    at once: q(t|x) proportional to q(t) exp(-beta KL(p(y|x) || q(y|t))), with q(t) and q(y|t) from the
    encoder; from a fixed random encoder with ``|T| = |X|``. Returns the encoders ``(B, X, T)``."""
    px = p.sum(1)
    pyx = p / px[:, None]
    h_yx = xlogy(pyx, pyx).sum(1)  # sum_y p(y|x) log p(y|x)
    q = np.random.default_rng(0).dirichlet(np.ones(len(px)), size=(len(betas), len(px)))
    for _ in range(iterations):
        qt = px @ q
        qyt = (q.transpose(0, 2, 1) @ p) / np.maximum(qt, 1e-300)[..., None]
        kl = h_yx[None, :, None] - pyx @ np.log(np.maximum(qyt, 1e-300)).transpose(0, 2, 1)
        logits = np.log(np.maximum(qt, 1e-300))[:, None, :] - betas[:, None, None] * kl
        q = np.exp(logits - logits.max(-1, keepdims=True))
        q /= q.sum(-1, keepdims=True)
    return q


@CASES.add("ib_curve, 8 x 4 joint, 50 betas", "1,000 Blahut-Arimoto steps, 50 betas", 11)
def ib_curve_case(repeats: int) -> dict[str, float]:
    p = _joint(8, 4)
    betas = np.logspace(0, 3, 50)
    return paired_ratio(lambda: ib_curve(p), lambda: blahut_arimoto_ib(p, betas, 1_000), repeats)


def _quiet(fn: Callable[[], Any]) -> Callable[[], None]:
    """``fn`` with the flag of an unreliable estimate silenced: the judgement is timed, not shown."""

    def call() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreliableEstimateWarning)
            fn()

    return call


def _door(measure: str, *variables: Any) -> Callable[[], None]:
    return _quiet(lambda: iblearn.estimate(measure, *variables, method="auto"))


@CASES.add("estimate mi auto, KSG chosen, 3 x 3, N 20,000", "ksg_mi, same rows", 7)
def door_mi_ksg_case(repeats: int) -> dict[str, float]:
    """Student-t 3 x 3 (3 degrees of freedom), N = 20,000: auto chooses KSG."""
    x, y = student_t(3, 3, dof=3.0).sample(20_000, seed=0)
    return paired_ratio(_door("mi", x, y), lambda: ksg_mi(x, y), repeats)


@CASES.add("estimate mi auto, KSG chosen, 1 x 1, N 20,000", "ksg_mi, same rows", 7)
def door_mi_ksg_1x1_case(repeats: int) -> dict[str, float]:
    """Student-t 1 x 1 (3 degrees of freedom), N = 20,000: auto chooses KSG."""
    x, y = student_t(1, 1, dof=3.0).sample(20_000, seed=0)
    return paired_ratio(_door("mi", x, y), lambda: ksg_mi(x, y), repeats)


@CASES.add("estimate mi auto, Gaussian chosen, 100 x 100, N 30,000", "gaussian_mi, same rows", 7)
def door_mi_gaussian_case(repeats: int) -> dict[str, float]:
    """Four pairs mapped into 100 dimensions a side, N = 30,000: auto chooses the Gaussian."""
    x, y = high_mi(2.0, 100).sample(30_000, seed=0)
    return paired_ratio(_door("mi", x, y), lambda: gaussian_mi(x, y, bias_correction=True), repeats)


@CASES.add("estimate cmi auto, KSG chosen, N 32,000", "ksg_cmi, same rows", 15)
def door_cmi_case(repeats: int) -> dict[str, float]:
    """y = x^2 + z + noise, N = 32,000 (a dependence no Gaussian sees): auto chooses KSG. KSG alone
    takes 0.03 - 0.04 s of one core on the CPUs of record, under the 0.05 s from which the automatic
    estimate's time goal is a ratio (below, auto under 0.1 s): the row holds it to the ratio."""
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(2, 32_000, 1, generator=g, dtype=torch.float64)
    y = x**2 + z + 0.5 * torch.randn(32_000, 1, generator=g, dtype=torch.float64)
    return paired_ratio(_door("cmi", x, y, z), lambda: ksg_cmi(x, y, z), repeats)


def _coupled(n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A source AR(1) (0.5) driving a target AR(1) (0.4) at lag 1 (0.5), Student-t innovations (3
    degrees of freedom): heavy tails that send auto to KSG (with Gaussian ones it takes the Gaussian)."""
    e = np.random.default_rng(seed).standard_t(3.0, size=(n, 2))
    s, t = np.zeros(n), np.zeros(n)
    for i in range(1, n):
        s[i] = 0.5 * s[i - 1] + e[i, 0]
        t[i] = 0.4 * t[i - 1] + 0.5 * s[i - 1] + e[i, 1]
    return torch.from_numpy(s[:, None]), torch.from_numpy(t[:, None])


@CASES.add("estimate te auto, KSG chosen, N 30,000", "transfer_entropy, same rows", 7)
def door_te_case(repeats: int) -> dict[str, float]:
    """The coupled AR(1) pair, N = 30,000: auto chooses KSG (checked)."""
    s, t = _coupled(30_000)
    chosen = iblearn.estimate("te", s, t).report.chosen
    if chosen != "ksg":
        raise RuntimeError(f"door_te: auto chose {chosen!r}, the case is KSG's")
    return paired_ratio(_door("te", s, t), lambda: ksg_transfer_entropy(s, t), repeats)


@CASES.add("estimate ais auto, KSG chosen, N 30,000", "active_information_storage by KSG, same rows", 7)
def door_ais_case(repeats: int) -> dict[str, float]:
    """The coupled pair's target, N = 30,000: auto chooses KSG (checked)."""
    _, t = _coupled(30_000)
    chosen = iblearn.estimate("ais", t).report.chosen
    if chosen != "ksg":
        raise RuntimeError(f"door_ais: auto chose {chosen!r}, the case is KSG's")
    return paired_ratio(_door("ais", t), lambda: active_information_storage(t), repeats)


@CASES.add(
    "estimate o_information auto, KSG chosen, 3 columns, N 12,000", "o_information by KSG, same rows", 7
)
def door_o_information_case(repeats: int) -> dict[str, float]:
    """Three columns, the third the product of the first two plus noise, N = 12,000: auto chooses KSG
    (on normal scores, which the core is given too)."""
    g = torch.Generator().manual_seed(0)
    d = torch.randn(12_000, 3, generator=g, dtype=torch.float64)
    d[:, 2] = d[:, 0] * d[:, 1] + 0.5 * d[:, 2]
    chosen = iblearn.estimate("o_information", d).report.chosen
    if chosen != "ksg":
        raise RuntimeError(f"door_o_information: auto chose {chosen!r}, the case is KSG's")
    scores = copula_normal(d)
    return paired_ratio(_door("o_information", d), lambda: o_information(scores, method="ksg"), repeats)


def _network_calls(run: Callable[[], Any]) -> list[tuple[int, int]]:
    """The (rows, conditioning columns) of each conditional MI ``run`` estimates by KSG: one a
    candidate's estimate, one a surrogate's, those estimated together included."""
    shapes: list[tuple[int, int]] = []
    value, values = KSGCMI.value, KSGCMI.values

    inside = [False]  # within values, whose surrogates of several columns go through value

    def counted(self: KSGCMI, cond: Any, c: np.ndarray) -> float:
        if not inside[0]:
            shapes.append((len(c), cond.z.shape[1]))
        return value(self, cond, c)

    def counted_many(self: KSGCMI, cond: Any, c: np.ndarray, plan: Any, which: np.ndarray) -> np.ndarray:
        shapes.extend([(len(c), cond.z.shape[1])] * len(which))
        inside[0] = True
        try:
            return values(self, cond, c, plan, which)
        finally:
            inside[0] = False

    KSGCMI.value, KSGCMI.values = counted, counted_many  # type: ignore[method-assign]
    try:
        run()
    finally:
        KSGCMI.value, KSGCMI.values = value, values  # type: ignore[method-assign]
    return shapes


@CASES.add("infer_network, KSG, 3 x 300 VAR", "ksg_cmi, as many calls, same shapes", 5)
def network_case(repeats: int) -> dict[str, float]:
    data = random_var_network(3, 300, lags=(1, 2), seed=0).data

    def run() -> None:
        infer_network(data, max_lag=2, method="ksg", n_permutations=20)

    shapes = _network_calls(run)
    g = torch.Generator().manual_seed(1)
    rows = {(n, dz): torch.randn(n, 2 + dz, generator=g, dtype=torch.float64) for n, dz in set(shapes)}

    def core() -> None:
        for n, dz in shapes:
            r = rows[n, dz]
            if dz:
                ksg_cmi(r[:, :1], r[:, 1:2], r[:, 2:], 4)
            else:
                ksg_mi(r[:, :1], r[:, 1:2], 4)

    return paired_ratio(run, core, repeats)


@CASES.add("estimate_many, 8 InfoNCE critics, 50 steps", "the same 8 fits one by one", 5)
def many_critics_case(repeats: int) -> dict[str, float]:
    """Eight copies of the default InfoNCE fitted to eight Gaussian pairs of 1 to 4 dimensions a side
    (1,000 rows, 50 steps of 256), the critics stacked, over the same fits one after another. No goal:
    the 5x asked of stacked critics is a GPU's; on one CPU thread each critic's arithmetic stays and only
    the per-step overhead is shared (docs/benchmarks.md)."""
    pairs, est = gaussian_pairs(8, 1000, torch.device("cpu")), InfoNCE()
    return paired_ratio(
        _quiet(lambda: estimate_many(est, pairs, steps=50)),
        _quiet(lambda: estimate_many(est, pairs, steps=50, stack=False)),
        repeats,
    )
