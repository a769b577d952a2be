"""The exact IB's guarantees: never worse than the best deterministic encoder (a fuzz over skewed tables
against every partition of X), the trivial curve where X and Y are independent, the cardinality of T,
large |X|, the arguments refused, and the thread count left as the caller set it."""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
import time

import numpy as np
import pytest
import torch

from iblearn import functional as ibf

torch.set_num_threads(1)

METHODS = [("ib", None), ("dib", None), ("gib", 0.3), ("gib", 0.7)]


def skewed(nx: int, ny: int, rng: np.random.Generator) -> np.ndarray:
    p = rng.random((nx, ny)) ** 4
    return p / p.sum()


def best_deterministic(p: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """min over every map f: X -> T of H(T) - beta I(T; Y), by brute force over all label vectors (the
    Lagrangian of every method at a deterministic encoder, where H(T | X) = 0)."""
    nx = p.shape[0]
    labels = np.array(list(itertools.product(range(nx), repeat=nx)))
    pty = np.zeros((len(labels), nx, p.shape[1]))
    for x in range(nx):
        pty[np.arange(len(labels)), labels[:, x]] += p[x]
    with np.errstate(divide="ignore", invalid="ignore"):
        qt, py = pty.sum(-1), p.sum(0)
        h_t = -np.nansum(np.where(qt > 0, qt * np.log(qt), 0.0), -1)
        ratio = np.where(pty > 0, pty / (qt[..., None] * py), 1.0)
        i_ty = np.sum(np.where(pty > 0, pty * np.log(ratio), 0.0), (-2, -1))
    return (h_t[None, :] - betas[:, None] * i_ty[None, :]).min(1)


def check_never_worse(p: np.ndarray, betas: np.ndarray, method: str, alpha: float | None) -> float:
    curve = ibf.ib_curve(p, betas, method=method, alpha=alpha, critical=False)
    ref = best_deterministic(p, betas)
    return float(((curve.lagrangian.numpy() - ref) / (1 + np.abs(ref))).max())


def test_a_low_mass_x_merged_into_a_cluster_is_split_again():
    p = [[0.15, 0.01], [0.48, 0.35], [0.01, 0.0]]
    identity = float(ibf.dib_exhaustive(p, [200.0]).lagrangian[0])
    assert identity == pytest.approx(-9.6905, abs=1e-4)
    for method, alpha in METHODS:
        curve = ibf.ib_curve(p, [200.0], method=method, alpha=alpha)
        assert float(curve.lagrangian[0]) <= identity + 1e-9 * abs(identity)


@pytest.mark.parametrize("seed", range(3))
def test_no_method_is_worse_than_the_best_deterministic_encoder(seed):
    rng = np.random.default_rng(seed)
    betas = np.geomspace(1.0, 1000.0, 8)
    for nx, ny in [(3, 2), (5, 3), (6, 2)]:
        p = skewed(nx, ny, rng)
        for method, alpha in METHODS:
            assert check_never_worse(p, betas, method, alpha) <= 1e-9, (nx, ny, method, alpha)


@pytest.mark.slow
def test_no_method_is_worse_than_the_best_deterministic_encoder_sweep():
    rng = np.random.default_rng(100)
    betas = np.geomspace(1.0, 1000.0, 20)
    worst = {}
    for _ in range(60):
        p = skewed(int(rng.integers(2, 7)), int(rng.integers(2, 5)), rng)
        for method, alpha in METHODS:
            key = f"{method}{alpha or ''}"
            worst[key] = max(worst.get(key, -np.inf), check_never_worse(p, betas, method, alpha))
    assert max(worst.values()) <= 1e-9, worst


@pytest.mark.parametrize(
    "pxy",
    [
        [[1.0]],
        [[0.25, 0.75]],
        [[0.3], [0.7]],
        [[0.5, 0.5], [0.0, 0.0]],
        np.outer([0.2, 0.3, 0.5], [0.6, 0.4]),
    ],
)
@pytest.mark.parametrize(("method", "alpha"), METHODS)
def test_independent_tables_give_the_trivial_curve(pxy, method, alpha):
    curve = ibf.ib_curve(pxy, [0.5, 10.0, 1000.0], method=method, alpha=alpha)
    nx = np.asarray(pxy).shape[0]
    assert curve.i_xt.tolist() == [0.0] * 3 and curve.i_ty.tolist() == [0.0] * 3
    assert curve.encoders.shape == (3, nx, 1) and bool((curve.encoders == 1).all())
    assert len(curve.critical_betas) == 0 and curve.i_xy == pytest.approx(0.0, abs=1e-12)


def test_n_t_above_the_number_of_x_is_clamped():
    p = np.array([[0.2, 0.1], [0.1, 0.3], [0.25, 0.05]])
    curve = ibf.ib_curve(p, [1.0, 10.0, 100.0], n_t=7)
    ref = ibf.ib_curve(p, [1.0, 10.0, 100.0])
    assert curve.encoders.shape[-1] <= 3
    assert torch.allclose(curve.lagrangian, ref.lagrangian, atol=1e-9)


def test_identity_joint_has_one_critical_beta():
    """Y = X uniform on three values: L = (1 - beta) I(X; T), so T copies X as soon as beta > 1, and
    every cluster splits there at once."""
    curve = ibf.ib_curve(np.eye(3) / 3, np.geomspace(0.5, 100, 20))
    assert curve.critical_betas.tolist() == pytest.approx([1.0], rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"betas": [[1.0, 2.0], [3.0, 4.0]]}, "betas"),
        ({"betas": [True]}, "betas"),
        ({"betas": [1.0, True]}, "betas"),
        ({"method": "gib", "alpha": True}, "alpha"),
        ({"method": "gib", "alpha": float("nan")}, "alpha"),
        ({"n_t": True}, "n_t"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ibf.ib_curve([[0.4, 0.1], [0.1, 0.4]], **kwargs)


def test_repr_is_short():
    curve = ibf.ib_curve(np.random.default_rng(1).dirichlet(np.ones(40)).reshape(20, 2), critical=False)
    text = repr(curve)
    assert len(text) < 400 and "ib" in text and "50 points" in text and "tensor" not in text
    assert str(curve) == text
    # A binary symmetric channel of crossover 0.1 splits at 1 / (1 - 2 * 0.1)^2 = 1.5625, which LAPACK
    # returns within round-off of it (1.5624999999999998 on some CPUs); the text shows 5 digits.
    bsc = ibf.ib_curve([[0.45, 0.05], [0.05, 0.45]], [1.0, 2.0])
    torch.testing.assert_close(
        bsc.critical_betas, torch.tensor([1.5625], dtype=torch.float64), rtol=1e-12, atol=0
    )
    assert "critical betas [1.5625]" in repr(bsc)


@pytest.mark.parametrize("beta", [1.5625, 2.00005, 0.123456, 1234.5])
def test_round_off_moves_no_printed_digit_of_a_critical_beta(beta):
    """A critical beta within a few units in the last place of another prints as it does, also at a
    printed digit's half, where rounding the value itself would print either neighbour."""
    curve = ibf.ib_curve([[0.45, 0.05], [0.05, 0.45]], [1.0, 2.0])
    near = beta * (1 + torch.arange(-4, 5, dtype=torch.float64) * torch.finfo(torch.float64).eps)
    texts = {repr(dataclasses.replace(curve, critical_betas=b[None])) for b in near}
    assert len(texts) == 1, texts
    (text,) = texts
    shown = float(text.split("critical betas [")[1].split("]")[0])
    assert shown == pytest.approx(beta, rel=1e-4)


def test_the_callers_thread_count_is_left_alone():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        ibf.ib_curve([[0.3, 0.1], [0.1, 0.2], [0.05, 0.25]], [1.0, 10.0])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_many_x_use_few_values_of_t():
    """120 x 2: the curve needs far fewer than 120 values of T."""
    p = np.random.default_rng(0).dirichlet(np.full(240, 0.5)).reshape(120, 2)
    betas = np.geomspace(1, 1000, 5)
    curve = ibf.ib_curve(p, betas, critical=False)
    assert curve.encoders.shape[:2] == (5, 120) and curve.encoders.shape[2] < 60
    dib = ibf.ib_curve(p, betas, method="dib", critical=False)
    assert float((curve.lagrangian - dib.lagrangian).max()) <= 1e-9


@pytest.mark.slow
def test_a_thousand_x_and_fifty_betas():
    """1,000 x 2 over the default 50 betas: T stays far below |X| (the batch is betas x |X| x |T|)."""
    p = np.random.default_rng(0).dirichlet(np.full(2000, 0.5)).reshape(1000, 2)
    start = time.process_time()
    curve = ibf.ib_curve(p, critical=False)
    assert time.process_time() - start < 30
    assert curve.encoders.shape[:2] == (50, 1000) and curve.encoders.shape[2] < 100
    assert float(curve.i_ty[-1]) <= curve.i_xy + 1e-9


def test_numpy_and_torch_iterations_agree(monkeypatch):
    """Small soft batches on the CPU are iterated in numpy (where the compiled kernel is not built): the
    same fixed points as torch's."""
    from iblearn.functional.ib import iterate

    gen = torch.Generator().manual_seed(0)
    p = torch.rand(6, 3, generator=gen, dtype=torch.float64) ** 2
    p /= p.sum()
    q = torch.rand(5, 6, 4, generator=gen, dtype=torch.float64)
    q /= q.sum(-1, keepdim=True)
    betas = torch.tensor([1.0, 3.0, 10.0, 30.0, 100.0], dtype=torch.float64)
    monkeypatch.setattr(iterate, "COMPILED", False)
    by_numpy = iterate.iterate(p, q, betas, 0.7, 1e-12, 300)
    monkeypatch.setattr(iterate, "NUMPY_WORK", 0)
    by_torch = iterate.iterate(p, q, betas, 0.7, 1e-12, 300)
    assert torch.allclose(by_numpy, by_torch, atol=1e-8)


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux is known to build it here")
def test_the_compiled_iteration_is_built():
    # setup.py marks the extension optional, so a failed build would otherwise pass unnoticed here.
    from iblearn.functional.ib import iterate, iterate_np

    assert iterate_np.HAVE_KERNEL and iterate.COMPILED


@pytest.mark.parametrize("alpha", [1.0, 0.6])
def test_compiled_and_numpy_iterations_agree(alpha):
    """The compiled iteration takes numpy's cycles: the same encoders on random joints, widths and betas,
    empty values of T included (both carry them at the floor of log q, where a split can grow into them),
    and under the extrapolation's bound and without it."""
    from iblearn.functional.ib import iterate_np

    if not iterate_np.HAVE_KERNEL:
        pytest.skip("the compiled kernel was not built")
    rng = np.random.default_rng(1)
    for trial in range(12):
        nx, ny, nt = int(rng.integers(2, 12)), int(rng.integers(2, 5)), int(rng.integers(1, 7))
        p = rng.random((nx, ny)) ** 3
        p /= p.sum()
        q = rng.random((4, nx, nt))
        q[:, :, nt - 1] *= trial % 2  # an empty value of T in every other trial
        q[q.sum(-1) == 0] = 1.0
        q /= q.sum(-1, keepdims=True)
        betas = np.array([1.0, 4.0, 20.0, 150.0])
        bounded = trial % 3 > 0
        by_numpy = iterate_np.iterate(p, q, betas, alpha, 1e-13, 3000, bounded, compiled=False)
        compiled = iterate_np.iterate(p, q, betas, alpha, 1e-13, 3000, bounded, compiled=True)
        assert np.allclose(compiled, by_numpy, atol=1e-6)
        value = iterate_np.lagrangian(p, compiled, betas, alpha)
        assert np.allclose(value, iterate_np.lagrangian(p, by_numpy, betas, alpha), rtol=0, atol=1e-10)


def test_split_directions_match_the_joint_of_each_cluster():
    """lambda_2 and the direction of each cluster's split, against M of p(x, y | t) built explicitly."""
    from iblearn.functional.ib.critical import lambda2
    from iblearn.functional.ib.solver import directions

    gen = torch.Generator().manual_seed(1)
    p = torch.rand(7, 3, generator=gen, dtype=torch.float64) ** 2
    p /= p.sum()
    q = torch.rand(2, 7, 3, generator=gen, dtype=torch.float64)
    q /= q.sum(-1, keepdim=True)
    mass, lam2, h = directions(p, q)
    for b in range(2):
        for t in range(3):
            joint = q[b, :, t, None] * p
            assert float(mass[b, t]) == pytest.approx(float(joint.sum()), rel=1e-12)
            assert float(lam2[b, t]) == pytest.approx(float(lambda2(joint / joint.sum())), abs=1e-10)
            # h is M's second eigenvector: E[E[h | Y] | X] = lambda_2 h within the cluster
            pyx, pxy = joint / joint.sum(1, keepdim=True), joint / joint.sum(0, keepdim=True)
            back = pyx @ (pxy.T @ h[b, t])
            assert torch.allclose(back, lam2[b, t] * h[b, t], atol=1e-10)


def test_the_soft_search_starts_from_unpadded_deterministic_encoders():
    """The deterministic start of the IB's soft search spans only the values of T it uses (the search
    packs it anyway), while the deterministic IB's own answer keeps the width asked for."""
    from iblearn.functional.ib.exact import _merged, joint_table
    from iblearn.functional.ib.solver import deterministic

    p, _ = _merged(joint_table(np.random.default_rng(0).dirichlet(np.full(400, 0.5)).reshape(200, 2)))
    betas = torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64)
    start = deterministic(p, betas, 200, 1e-10, 1000, torch.Generator().manual_seed(0), full=False)
    answer = deterministic(p, betas, 200, 1e-10, 1000, torch.Generator().manual_seed(0))
    assert start.shape[-1] < 100 and answer.shape[-1] == 200
    assert torch.equal(answer[..., : start.shape[-1]].sum(-1), torch.ones(3, 200, dtype=torch.float64))


def test_a_merge_round_takes_every_disjoint_pair_that_gains():
    """Clusters of equal q(y|t) always gain by merging (JS = 0, H(T) falls): two such pairs are merged
    in one round, and the Lagrangian falls by the sum of the two gains."""
    from iblearn.functional.ib.deterministic import lagrangian
    from iblearn.functional.ib.iterate import merge

    p = torch.tensor([[0.2, 0.05], [0.2, 0.05], [0.05, 0.2], [0.05, 0.2]], dtype=torch.float64)
    q = torch.eye(4, dtype=torch.float64)[None]
    betas = torch.tensor([5.0], dtype=torch.float64)
    merged, which = merge(p, q, betas)
    assert bool(which[0]) and int(((p.sum(1) @ merged) > 0).sum()) == 2
    assert float(lagrangian(p, q, betas, 0.0) - lagrangian(p, merged, betas, 0.0)) == pytest.approx(
        math.log(2), rel=1e-12
    )


def test_the_extrapolation_length_bound():
    """A jump that overshot cuts the bound to a quarter of its length (at least 1); one that held at the
    bound raises it fourfold; one below the bound leaves it; numpy and torch agree."""
    from iblearn.functional.ib import iterate, iterate_np

    cap = np.array([math.inf, 16.0, 16.0, 16.0])
    length = np.array([40.0, 16.0, 3.0, 2.0])
    worse = np.array([True, False, False, True])
    expected = np.array([10.0, 64.0, 16.0, 1.0])
    assert np.array_equal(iterate_np._step_cap(cap, length, worse), expected)
    by_torch = iterate._step_cap(torch.from_numpy(cap), torch.from_numpy(length), torch.from_numpy(worse))
    assert np.array_equal(by_torch.numpy(), expected)


def test_annealing_iterates_in_full_only_the_warm_starts_that_pass_the_screen(monkeypatch):
    """A neighbour's encoder is iterated a few steps first; only the warm starts then below their beta's
    best are iterated to the search's budget."""
    from iblearn.functional.ib import solver

    budgets = []
    original = solver.solve

    def recorded(p, q, betas, alpha, tol, max_iter):
        budgets.append((len(q), max_iter))
        return original(p, q, betas, alpha, tol, max_iter)

    monkeypatch.setattr(solver, "solve", recorded)
    p = torch.from_numpy(np.random.default_rng(0).dirichlet(np.full(24, 0.5)).reshape(8, 3))
    betas = torch.logspace(0, 2, 12, dtype=torch.float64)
    q = torch.softmax(
        torch.randn(12, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64), -1
    )
    s = solver.Search(p, betas, 1.0, 1e-6, 100, torch.Generator(), q.clone(), betas.new_full((12,), math.inf))
    s.solve(q)
    budgets.clear()
    s.screened(s.q.clone(), torch.arange(12))  # each beta from its own solution: nothing to gain
    assert budgets == [(12, solver.SCREEN_ITER)]


def test_annealing_skips_warm_starts_equal_to_the_encoder_held(monkeypatch):
    """A neighbour's encoder equal to the one its beta holds would reach it again: nothing is solved."""
    from iblearn.functional.ib import solver

    calls = []
    monkeypatch.setattr(solver, "solve", lambda *args: calls.append(args) or args[1])
    p = torch.from_numpy(np.random.default_rng(0).dirichlet(np.full(12, 0.5)).reshape(4, 3))
    betas = torch.logspace(0, 2, 6, dtype=torch.float64)
    q = torch.nn.functional.one_hot(torch.tensor([0, 0, 1, 1]), 4).to(torch.float64).expand(6, 4, 4).clone()
    s = solver.Search(p, betas, 0.0, 1e-6, 100, torch.Generator(), q, solver.lagrangian(p, q, betas, 0.0))
    solver.anneal(s)
    assert calls == []


def test_a_loose_tolerance_ends_at_the_default_tolerances_lagrangian():
    """The best encoder at each beta is polished to at most 1e-10 whatever ``tol``: a loose tolerance
    saves none of that and gives up no Lagrangian (a peer stopping at 1e-3 could otherwise beat it)."""
    p = np.random.default_rng(2).dirichlet(np.full(96, 0.5)).reshape(24, 4)
    betas = np.geomspace(1.0, 200.0, 12)
    tight = ibf.ib_curve(p, betas, critical=False)
    loose = ibf.ib_curve(p, betas, critical=False, tol=1e-3)
    assert float((loose.lagrangian - tight.lagrangian).max()) <= 1e-12


def test_compact_merges_twin_clusters_only():
    """Clusters of equal q(y|t) are merged; two whose q(y|t) differ but whose weighted sums over y agree
    (what the pairs are screened by) are kept apart."""
    from iblearn.functional.ib.deterministic import lagrangian
    from iblearn.functional.ib.solver import Search, compact

    # x0, x1: p(y|x) = (.5, .5, 0) twice; x2: (0, 1, 0) and x3: (.5, 0, .5), whose sums weighted by
    # (1/3, 2/3, 1) are both 2/3
    p = torch.tensor(
        [[0.1, 0.1, 0.0], [0.1, 0.1, 0.0], [0.0, 0.3, 0.0], [0.15, 0.0, 0.15]], dtype=torch.float64
    )
    q = torch.eye(4, dtype=torch.float64)[None]
    betas = torch.tensor([2.0], dtype=torch.float64)
    loss = lagrangian(p, q, betas, 1.0)
    s = Search(p, betas, 1.0, 1e-6, 10, torch.Generator(), q.clone(), loss.clone())
    compact(s)
    assert s.q[0].sum(0).tolist() == [2.0, 0.0, 1.0, 1.0]  # x1 joined x0; x2 and x3 kept apart
    assert float(s.loss[0]) <= float(loss[0]) + 1e-12


@pytest.mark.slow  # two fresh interpreters import torch
@pytest.mark.skipif(sys.platform != "linux", reason="only Linux is known to build it here")
def test_every_copy_of_the_iteration_gives_the_same_bits():
    """IBLEARN_SIMD picks the iteration's baseline, AVX2 or AVX-512 copy (capped at what the CPU runs),
    whose answers are the same to the bit (the loops vectorise over t only, no multiply-add is
    contracted, the exponential is the kernel's own arithmetic)."""
    import os
    import subprocess

    from iblearn.functional.ib import iterate_np

    if not iterate_np.HAVE_KERNEL:
        pytest.skip("the compiled kernel was not built")
    code = (
        "import numpy as np; from iblearn.functional.ib import _iterate, anneal;"
        "import torch; p = np.random.default_rng(3).dirichlet(np.full(60, 0.5)).reshape(12, 5);"
        "q = anneal.anneal_curve(torch.tensor(p), torch.logspace(0, 2, 12, dtype=torch.float64), 1.0, 12,"
        " 1e-10, 1000)[0]; print(_iterate.ISA, q.numpy().tobytes().hex())"
    )
    answers = {}
    for asked in ("portable", "avx2", "avx512"):
        env = {**os.environ, "IBLEARN_SIMD": asked}
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        isa, bits = run.stdout.split()
        answers[isa] = bits
    assert "portable" in answers and len(set(answers.values())) == 1


def test_the_drift_jumps_shorten_a_slow_run(monkeypatch):
    """Near a critical beta the iteration drifts along a slow direction for hundreds of steps: the jumps
    along its drift over the last cycles end the run in far fewer cycles at a Lagrangian no higher (to
    the stopping rule's precision); a jump is kept only where it lowers L."""
    from iblearn.functional.ib import anneal, iterate_np

    p = np.random.default_rng(0).dirichlet(np.full(256, 0.5)).reshape(32, 8)
    betas = np.geomspace(1.0, 200.0, 50)
    path, _ = anneal._path_numpy(p, np.eye(32), betas, 1.0, 1e-10, 1000, 32)
    start = path[17][:, p.sum(1) @ path[17] > 0][None]  # the path's start at beta 16, a slow one
    cycles, cycle = [0], iterate_np.cycle

    def counted(*args):
        cycles[0] += 1
        return cycle(*args)

    monkeypatch.setattr(iterate_np, "cycle", counted)
    runs = {}
    for drift_start in (iterate_np.DRIFT_START, 10**9):
        monkeypatch.setattr(iterate_np, "DRIFT_START", drift_start)
        cycles[0] = 0
        q = iterate_np.iterate(p, start, betas[16:17], 1.0, 1e-10, 3000, compiled=False)
        runs[drift_start] = cycles[0], float(iterate_np.lagrangian(p, q, betas[16:17], 1.0)[0])
    (fast, jumped), (slow, plain) = runs.values()
    assert fast < 0.7 * slow and jumped <= plain + 1e-9
    pyx = p / p.sum(1, keepdims=True)
    q, log_q = start, np.log(np.maximum(start, iterate_np.TINY))
    last = iterate_np.lagrangian(p, q, betas[16:17], 1.0)
    away = np.log(np.full_like(q, 1 / q.shape[-1]))  # a drift from the uniform encoder
    moved = iterate_np.drift(p, pyx, (q, log_q), away, betas[16:17], 1.0, last - 1.0)  # none 1 nat lower
    assert np.array_equal(moved[0], q) and moved[2][0] == last[0] - 1.0
