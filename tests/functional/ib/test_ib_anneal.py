"""The exact IB curve's light search (``search="anneal"``): one annealing path down the betas, against
the thorough search on small joints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import iblearn.functional.ib.iterate as iterate
from iblearn import functional as ibf
from iblearn.functional.ib import anneal, iterate_np
from iblearn.functional.ib.exact import IBCurve

torch.set_num_threads(1)

BETAS = torch.logspace(0, 2, 20, dtype=torch.float64)
WIDE = torch.logspace(0, math.log10(200), 50, dtype=torch.float64)  # the benchmark's grid


def dirichlet_joint(nx: int, ny: int, seed: int) -> torch.Tensor:
    return torch.tensor(np.random.default_rng(seed).dirichlet(np.full(nx * ny, 0.5)).reshape(nx, ny))


@pytest.mark.parametrize(("nx", "ny", "seed"), [(8, 2, 2), (6, 3, 0), (5, 4, 1)])
def test_anneal_is_within_a_small_gap_of_the_thorough_search(nx, ny, seed):
    """The path finds the thorough search's fixed points on small joints (it searches far less, so a
    gap is allowed; the thorough search keeps the lowest of all it tries, so it is never above)."""
    p = dirichlet_joint(nx, ny, seed)
    thorough = ibf.ib_curve(p, BETAS, critical=False)
    fast = ibf.ib_curve(p, BETAS, critical=False, search="anneal")
    assert isinstance(fast, IBCurve) and fast.encoders.shape[:2] == thorough.encoders.shape[:2]
    assert torch.allclose(fast.encoders.sum(-1), torch.ones(len(BETAS), nx, dtype=torch.float64))
    gap = fast.lagrangian - thorough.lagrangian
    assert float(gap.max()) < 1e-6
    assert torch.allclose(fast.lagrangian, fast.i_xt - BETAS * fast.i_ty, atol=1e-12)
    # a looser tol still iterates the path to 1e-6 (relative), a small gap too
    loose = ibf.ib_curve(p, BETAS, critical=False, search="anneal", tol=1e-3)
    assert float((loose.lagrangian - thorough.lagrangian).max()) < 1e-3


def test_anneal_keeps_the_trivial_encoder_below_the_first_transition():
    eps = 0.1  # a binary symmetric channel learns exactly past 1 / (1 - 2 eps)^2 = 1.5625
    p = torch.tensor([[0.5 * (1 - eps), 0.5 * eps], [0.5 * eps, 0.5 * (1 - eps)]], dtype=torch.float64)
    curve = ibf.ib_curve(p, [1.0, 1.5, 2.0, 4.0], search="anneal")
    assert curve.i_xt[:2].abs().max() < 1e-12 and bool((curve.i_xt[2:] > 1e-3).all())
    assert float(curve.critical_betas[0]) == pytest.approx(1.5625)


@pytest.mark.parametrize(("nx", "ny", "seed", "betas"), [(6, 3, 4, BETAS), (16, 4, 2, WIDE)])
def test_anneal_numpy_fallback_gives_the_compiled_answer(monkeypatch, nx, ny, seed, betas):
    """The same path in both (on the larger joint, values of T merge during a beta's iteration)."""
    p = dirichlet_joint(nx, ny, seed)
    compiled = ibf.ib_curve(p, betas, critical=False, search="anneal")
    monkeypatch.setattr(iterate, "COMPILED", False)
    by_numpy = ibf.ib_curve(p, betas, critical=False, search="anneal")
    assert torch.allclose(by_numpy.lagrangian, compiled.lagrangian, rtol=0, atol=1e-9)


def test_twins_merged_during_a_beta_save_work(monkeypatch):
    """Values of T merged as they meet, not only once a beta has settled: less work (cycles times values
    of T) down the path, the same Lagrangians (to well within the path's precision). The jumps along a
    slow run's drift, which shorten the same runs, are left out of both."""
    monkeypatch.setattr(iterate, "COMPILED", False)
    monkeypatch.setattr(iterate_np, "DRIFT_START", 10**9)
    p, work = dirichlet_joint(24, 6, 0), [0]
    cycle = iterate_np.cycle

    def counted(*args):
        work[0] += args[2][0].shape[-1]
        return cycle(*args)

    monkeypatch.setattr(iterate_np, "cycle", counted)
    merged = ibf.ib_curve(p, WIDE, critical=False, search="anneal").lagrangian
    during = work[0]
    monkeypatch.setattr(anneal, "EVERY", 10**9)
    work[0] = 0
    at_end = ibf.ib_curve(p, WIDE, critical=False, search="anneal").lagrangian
    assert during < 0.95 * work[0]
    assert float((merged - at_end).abs().max()) < 1e-7


@pytest.mark.parametrize(("method", "alpha"), [("dib", None), ("gib", 0.5)])
def test_anneal_for_the_dib_and_gib_is_never_below_the_deterministic_optimum(method, alpha):
    """Every answer is an encoder: its Lagrangian is at least the optimum's, which for the DIB is the
    exhaustive search's over every deterministic encoder (the GIB's optimum is at most that)."""
    p = dirichlet_joint(6, 3, 5)
    fast = ibf.ib_curve(p, BETAS, method=method, alpha=alpha, critical=False, search="anneal")
    thorough = ibf.ib_curve(p, BETAS, method=method, alpha=alpha, critical=False)
    assert bool((fast.lagrangian >= thorough.lagrangian - 1e-9).all()) if method == "dib" else True
    assert torch.isfinite(fast.lagrangian).all() and fast.method == method


def test_anneal_with_fewer_values_of_t():
    p = dirichlet_joint(7, 3, 6)
    curve = ibf.ib_curve(p, BETAS, n_t=3, critical=False, search="anneal")
    full = ibf.ib_curve(p, BETAS, critical=False)
    assert curve.encoders.shape == (len(BETAS), 7, 3)
    assert bool((curve.lagrangian >= full.lagrangian - 1e-9).all())


@pytest.mark.parametrize("search", ["fast", "", None, 1, "Anneal"])
def test_bad_search_is_named(search):
    with pytest.raises(ValueError, match="search"):
        ibf.ib_curve([[0.4, 0.1], [0.1, 0.4]], [1.0, 2.0], search=search)


def test_twin_and_empty_values_of_t_are_merged_and_dropped():
    """Two values of T of equal q(y|t) become one (their columns summed), an empty one goes, the order
    of the rest is kept."""
    p = np.array([[0.3, 0.1], [0.15, 0.05], [0.1, 0.3]])  # x0 and x1 have equal p(y|x)
    q = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    assert np.array_equal(anneal._compact(p, q), [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
