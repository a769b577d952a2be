"""The shared-exclusion redundancy of continuous samples by nearest neighbours: against its closed form on
systems of uniform cells (whose binned discrete I_sx tends to it), against a Monte Carlo of its local
form on Gaussians, its properties, and its errors.

Truth on cells: sources S_i = A_i + U_i and target T = tau + U_t, the skeleton (A_1, A_2, tau) a
discrete table and each U uniform on [0, 1): every density is the table's probability, so the local
redundancy's limit, ``log sum_i w_i p(s_i, t) / (p(t) sum_i w_i p(s_i))`` with ``w_i`` the scale of
source i in the distances, is a sum over the table; each I(S; T) is the table's I(A; tau).

Tolerances, from the spread over 20 seeds at N = 2,000 (k = 3) on the cells: the redundancy's mean
bias at most 0.018 nats, its standard deviation at most 0.020, the largest deviation 0.051; at N =
5,000 (10 seeds) bias at most 0.014, standard deviation at most 0.015. Gaussians, N = 5,000: bias
-0.018 (sum) and +0.004 (correlated sources), standard deviation at most 0.020.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal, norm

import iblearn.functional as ibf
from iblearn.functional.multivariate.pid_sx_knn import ksg_sx_pid, ksg_sx_redundancy

torch.set_num_threads(1)


def _gate(name: str) -> np.ndarray:
    """The skeleton p[a1, a2, tau] of a two-bit gate."""
    p = np.zeros((2, 2, 2))
    for a, b in itertools.product(range(2), range(2)):
        if name == "rdn" and a != b:
            continue
        p[a, b, {"and": a & b, "xor": a ^ b, "rdn": a, "unq": a}[name]] += 1
    return p / p.sum()


def _continuous_sx(p: np.ndarray, w: tuple[float, float] = (1.0, 1.0)) -> float:
    """The limit of the local redundancy on cells of the skeleton ``p``, averaged (module notes)."""
    p1t, p2t, pt, p1, p2 = p.sum(1), p.sum(0), p.sum((0, 1)), p.sum((1, 2)), p.sum((0, 2))
    total = 0.0
    for a, b, t in zip(*np.nonzero(p), strict=True):
        num = w[0] * p1t[a, t] + w[1] * p2t[b, t]
        total += p[a, b, t] * math.log(num / (pt[t] * (w[0] * p1[a] + w[1] * p2[b])))
    return total


def _mi(p: np.ndarray) -> float:
    """I(A; B) of a table p[a, b] in nats."""
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / outer[nz])).sum())


def _cells(p: np.ndarray, n: int, seed: int) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    codes = np.unravel_index(rng.choice(p.size, size=n, p=p.ravel()), p.shape)
    u = rng.random((n, 3))
    return [torch.from_numpy(c + u[:, i])[:, None] for i, c in enumerate(codes)]


def test_binned_discrete_sx_tends_to_the_continuous_form() -> None:
    # Bins of width 1/b in each cell: the discrete I_sx of the binned table (pid_distribution) loses
    # the overlap of the source events as O(1/b), and tends to the continuous closed form.
    for name, discrete in (("and", None), ("xor", math.log(2 / 3)), ("unq", math.log(4 / 3))):
        p = _gate(name)
        truth = _continuous_sx(p)
        errors = []
        for b in (1, 4, 16):
            table = torch.from_numpy(np.kron(p, np.ones((b, b, b))) / b**3)
            errors.append(abs(float(ibf.pid_distribution(table, "sx").redundancy) - truth))
        if discrete is not None:  # one bin a cell is the gate itself
            assert abs(float(ibf.pid_distribution(torch.from_numpy(p), "sx").redundancy) - discrete) < 1e-9
        assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02, (name, errors)


@pytest.mark.parametrize("name", ["xor", "rdn", "unq"])
def test_cells_match_the_continuous_form(name: str) -> None:
    p = _gate(name)
    x1, x2, t = _cells(p, 2000, seed=0)
    # Bias + 3 sd at N = 2,000 is 0.08: this tells UNQ's continuous 0.405 from its discrete 0.288 and
    # XOR's 0 from its discrete -0.405.
    assert abs(float(ksg_sx_redundancy([x1, x2], t)) - _continuous_sx(p)) < 0.08


def test_scale_of_a_source_weights_it() -> None:
    # One radius serves every source: doubling source 2 without standardizing halves its density and its
    # weight in the union; standardizing undoes it.
    p = _gate("unq")
    x1, x2, t = _cells(p, 2000, seed=1)
    raw = float(ksg_sx_redundancy([x1, 2 * x2], t, standardize=False))
    assert abs(raw - _continuous_sx(p, (1.0, 0.5))) < 0.08
    assert abs(raw - _continuous_sx(p)) > 0.05
    assert float(ksg_sx_redundancy([x1, 2 * x2], t)) == pytest.approx(float(ksg_sx_redundancy([x1, x2], t)))


@pytest.mark.parametrize("name", ["and", "xor", "rdn", "unq"])
def test_cells_converge_to_the_continuous_parts(name: str) -> None:
    p = _gate(name)
    red = _continuous_sx(p)
    one, two = _mi(p.sum(1)), _mi(p.sum(0))
    got = np.array([[float(v) for v in ksg_sx_pid(*_cells(p, 5000, seed))] for seed in range(5)]).mean(0)
    # Mean of 5 seeds: bias at most 0.014 plus 3 sd / sqrt(5) = 0.02.
    assert np.abs(got[:3] - [red, one - red, two - red]).max() < 0.035, got


def _gaussian_truth(cov: np.ndarray, n: int = 400_000) -> float:
    """Monte Carlo of the local redundancy's limit for unit-variance Gaussians."""
    z = np.random.default_rng(1).multivariate_normal(np.zeros(3), cov, size=n)
    p1t = multivariate_normal(cov=cov[np.ix_([0, 2], [0, 2])]).pdf(z[:, [0, 2]])
    p2t = multivariate_normal(cov=cov[np.ix_([1, 2], [1, 2])]).pdf(z[:, [1, 2]])
    p1, p2, pt = (norm.pdf(z[:, i]) for i in range(3))
    return float(np.log((p1t + p2t) / (pt * (p1 + p2))).mean())


@pytest.mark.slow
@pytest.mark.parametrize(
    "cov",
    [
        [[1, 0, 0.69], [0, 1, 0.69], [0.69, 0.69, 1]],  # T = S1 + S2 + noise, standardized
        [[1, 0.8, 0.9], [0.8, 1, 0.7], [0.9, 0.7, 1]],
        [[1, 0, 0.8], [0, 1, 0], [0.8, 0, 1]],  # S2 independent of all
    ],
)
def test_gaussians_match_monte_carlo(cov: list[list[float]]) -> None:
    c = np.array(cov)
    chol = torch.linalg.cholesky(torch.tensor(c))
    got = []
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(5000, 3, generator=g, dtype=torch.float64) @ chol.T
        got.append(float(ksg_sx_redundancy([z[:, 0], z[:, 1]], z[:, 2])))
    # Bias at most 0.018 plus 3 sd / sqrt(5) = 0.027.
    assert abs(np.mean(got) - _gaussian_truth(c)) < 0.045


def _gaussian_sources(n: int = 600, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    a, b, c = (torch.randn(n, 1, generator=g, dtype=torch.float64) for _ in range(3))
    return a, b, c, a + 0.5 * b + 0.3 * torch.randn(n, 1, generator=g, dtype=torch.float64)


def test_one_source_is_ksg() -> None:
    a, _, _, t = _gaussian_sources()
    assert float(ksg_sx_redundancy([a], t, k=4)) == pytest.approx(float(ibf.ksg_mi(a, t, k=4)), abs=1e-12)


def test_a_source_with_itself_is_its_information() -> None:
    a, _, _, t = _gaussian_sources()
    mi = float(ibf.ksg_mi(a, t, ties="raise"))
    assert float(ksg_sx_redundancy([a, a], t, ties="raise")) == pytest.approx(mi, abs=1e-12)
    assert float(ksg_sx_redundancy([a, a, a], t)) == pytest.approx(mi, abs=1e-6)


def test_symmetric_in_the_sources() -> None:
    a, b, c, t = _gaussian_sources()
    sources = [a, b, torch.cat([b, c], 1)]  # a vector source among them
    ref = ksg_sx_redundancy(sources, t, local=True, ties="raise")
    for order in itertools.permutations(range(3)):
        got = ksg_sx_redundancy([sources[i] for i in order], t, local=True, ties="raise")
        assert torch.equal(got, ref)


def test_trees_and_blocks_count_alike() -> None:
    # The trees find the union's neighbours among each source's own and count it by inclusion and
    # exclusion; blocks of pairwise distances count it directly: the same counts.
    a, b, c, t = _gaussian_sources()
    sources = [a, b, torch.cat([b, c], 1)]
    tree = ksg_sx_redundancy(sources, t, local=True, backend="tree")
    assert torch.equal(tree, ksg_sx_redundancy(sources, t, local=True, backend="brute"))
    for x, y in zip(
        ksg_sx_pid(a, c, t, local=True), ksg_sx_pid(a, c, t, local=True, backend="brute"), strict=True
    ):
        assert torch.equal(x, y)


def test_local_values_average_to_the_estimate() -> None:
    a, b, _, t = _gaussian_sources()
    local = ksg_sx_redundancy([a, b], t, local=True)
    assert local.shape == (600,)
    assert float(local.mean()) == pytest.approx(float(ksg_sx_redundancy([a, b], t)), abs=1e-12)
    parts, locals_ = ksg_sx_pid(a, b, t), ksg_sx_pid(a, b, t, local=True)
    for whole, each in zip(parts, locals_, strict=True):
        assert float(each.mean()) == pytest.approx(float(whole), abs=1e-12)


def test_parts_sum_to_the_joint_information() -> None:
    a, b, _, t = _gaussian_sources()
    parts = ksg_sx_pid(a, b, t, ties="raise")
    joint = float(ibf.ksg_mi(torch.cat([a, b], 1), t, ties="raise"))
    assert float(parts.total) == pytest.approx(joint, abs=1e-12)
    assert float(parts.redundancy) == pytest.approx(float(ksg_sx_redundancy([a, b], t)), abs=1e-12)
    assert float(parts.unique_1 + parts.redundancy) == pytest.approx(float(ibf.ksg_mi(a, t)), abs=1e-6)


def test_pid_from_samples_takes_it() -> None:
    a, b, _, t = _gaussian_sources()
    want = ksg_sx_pid(a, b, t, k=5)
    for method in (None, "ksg"):
        got = ibf.pid(a, b, t, redundancy="sx", method=method, k=5)
        assert [float(v) for v in got] == [float(v) for v in want]
    with pytest.raises(ValueError, match="options"):
        ibf.pid(a, b, t, redundancy="sx", bias_correction=False)
    with pytest.raises(ValueError, match="redundancy"):
        ibf.pid(a, b, t, redundancy="sx", method="gaussian")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda a, t: ksg_sx_redundancy(a, t), "sources"),  # a tensor, not a list of variables
        (lambda a, t: ksg_sx_redundancy([], t), "sources"),
        (lambda a, t: ksg_sx_redundancy([a, a[:-1]], t), "sources"),
        (lambda a, t: ksg_sx_redundancy([a, torch.full_like(a, float("nan"))], t), r"sources\[1\]"),
        (lambda a, t: ksg_sx_redundancy([a], torch.arange(len(a))), "target"),
        (lambda a, t: ksg_sx_redundancy([a], t, k=len(a)), "k"),
        (lambda a, t: ksg_sx_redundancy([a], t, local="yes"), "local"),
        (lambda a, t: ksg_sx_redundancy([a], t, ties="drop"), "ties"),
        (lambda a, t: ksg_sx_pid(a, a.long(), t), "x2"),
        (lambda a, t: ksg_sx_pid(a, a, t[:-1]), "target"),
    ],
)
def test_bad_input_names_the_argument(call: object, name: str) -> None:
    a, _, _, t = _gaussian_sources(50)
    with pytest.raises(ValueError, match=name):
        call(a, t)  # type: ignore[operator]
