"""Permutation tests that prepare the samples once and count every permutation of the prepared rows:
the same null as one estimate per permutation, the same bits on every backend and device, and the
estimators' p-values through them."""

from __future__ import annotations

import inspect

import joblib  # type: ignore[import-untyped]
import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn.estimators import KSG
from iblearn.functional import inference
from iblearn.functional.knn.cmi import continuous_samples
from iblearn.functional.knn.counts import ksg_counts_tree
from iblearn.functional.knn.ksg import JITTER, prepare_samples
from iblearn.functional.knn.nulls import _settled, ksg_statistic
from tests.conftest import common_cause, gen


def pair(n: int, seed: int, coupling: float, d: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = gen(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    return x, coupling * x + torch.randn(n, d, generator=g, dtype=torch.float64)


def driven(n: int, seed: int, coupling: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A series and another that it drives one step later (``coupling``), with its own memory."""
    g = gen(seed)
    source, target = torch.randn(n, generator=g), torch.zeros(n)
    noise = torch.randn(n, generator=g)
    for t in range(1, n):
        target[t] = 0.6 * target[t - 1] + coupling * source[t - 1] + noise[t]
    return source, target


def _permutation(n: int, seed: int, i: int) -> torch.Tensor:
    """Permutation i of the inference core's scheme (iblearn.functional.inference.rng)."""
    return torch.from_numpy(inference.rng(seed, inference.PERMUTATION, i).permutation(n))


@pytest.mark.parametrize("variant", [1, 2])
def test_null_equals_one_estimate_per_permutation_on_tie_free_data(variant):
    x, y = pair(300, seed=0, coupling=0.3, d=2)
    test = ibf.ksg_mi_test(x, y, 3, variant, n_permutations=12, seed=4)
    loop = [float(ibf.ksg_mi(x, y[_permutation(300, 4, i)], 3, variant)) for i in range(12)]
    assert torch.allclose(test.null, torch.tensor(loop, dtype=torch.float64), rtol=0, atol=1e-12)
    assert test.value == pytest.approx(float(ibf.ksg_mi(x, y, 3, variant)), abs=1e-12)
    assert test.n_permutations == 12 and test.null.dtype == torch.float64
    assert test.p_value == (1 + int((test.null >= test.value).sum())) / 13


def test_the_jitter_belongs_to_the_samples_not_to_the_permutation():
    # Tied data: the rows are jittered once, and a permutation moves each row with its jitter.
    g = gen(1)
    x = torch.randint(0, 4, (200, 2), generator=g).double()
    y = x[:, :1] + torch.randint(0, 3, (200, 1), generator=g).double()
    test = ibf.ksg_mi_test(x, y, n_permutations=6, seed=2)
    (xp, yp), _ = prepare_samples([("x", x), ("y", y)], 3, standardize=True, ties="jitter", seed=2)
    for i, value in enumerate(test.null.tolist()):
        perm = _permutation(200, 2, i)
        counts = ksg_counts_tree(xp, yp[perm], 3, 1)  # the prepared rows, permuted
        assert value == ksg_statistic(*counts, 3, 1)


def test_cmi_null_is_one_estimate_per_local_permutation_of_the_prepared_rows():
    # Runge's draw repeats some rows, whose distances would tie their twins' exactly: the test parts
    # them by noise of the jitter's size fixed per position (seeded from seed + 3). The estimates are
    # then those of the prepared rows permuted and parted (not standardized again: the scale stays x's,
    # not the draw's).
    x, y, z = common_cause(300, seed=1, coupling=0.2)
    test = ibf.ksg_cmi_test(x, y, z, n_permutations=10, seed=5)
    xp, yp, zp, _ = continuous_samples(x, y, z, 3, True, "jitter", 5, ("x", "y", "z"))
    noise = torch.randn(300, 1, generator=gen(5 + 3), dtype=torch.float64)
    shake = JITTER * xp.std(dim=0, unbiased=False) * noise
    perms = ibf.local_permutations(z, 10, seed=5)
    assert any(len(p.unique()) < 300 for p in perms)  # repeats, the case in point
    loop = [float(ibf.ksg_cmi(xp[p] + shake, yp, zp, standardize=False, ties="raise")) for p in perms]
    assert torch.allclose(test.null, torch.tensor(loop, dtype=torch.float64), rtol=0, atol=1e-12)
    assert test.value == pytest.approx(float(ibf.ksg_cmi(x, y, z, seed=5)), abs=1e-12)


@pytest.mark.parametrize(("coupling", "alpha"), [(0.0, 0.05), (0.0, 0.01), (0.6, 0.05), (0.6, 0.01)])
def test_a_test_stopped_at_alpha_decides_as_the_full_test(coupling, alpha):
    # The curtailed test draws the full test's permutations in order, stops once its p-value is settled
    # above alpha, and gives the p-value of those drawn: on the same side of alpha as the full test's.
    decisions = []
    for seed in range(6):
        x, y, z = common_cause(200, seed=seed, coupling=coupling)
        full = ibf.ksg_cmi_test(x, y, z, n_permutations=120, seed=seed)
        cut = ibf.ksg_cmi_test(x, y, z, n_permutations=120, seed=seed, alpha=alpha)
        assert cut.value == full.value
        assert torch.equal(cut.null, full.null[: len(cut.null)])
        assert cut.p_value == (1 + int((cut.null >= cut.value).sum())) / (1 + len(cut.null))
        assert (cut.p_value <= alpha) == (full.p_value <= alpha)
        if len(cut.null) < 120:
            assert not inference.can_reach(int((cut.null >= cut.value).sum()), 120, alpha, at_alpha=True)
        decisions.append((full.p_value <= alpha, len(cut.null)))
    if coupling == 0.0:  # independent given z: most tests stop early
        assert sum(n < 120 for _, n in decisions) >= 4
    else:  # dependent beyond z: every test rejects, on all the permutations
        assert all(rejected and n == 120 for rejected, n in decisions)


def test_a_null_at_p_equal_to_alpha_is_not_settled_above_it():
    stop = _settled(1.0, 99, 0.05)  # p <= alpha rejects: 4 of 99 values at or above it leave p = 0.05
    assert not stop(np.array([1.0, 2.0, 3.0, 4.0, 0.5]))
    assert stop(np.array([1.0]))  # a fifth: p > 0.05 whatever the rest give


@pytest.mark.parametrize("tied", [False, True])
def test_shifted_mi_is_ksg_mi_of_each_rolled_x_bit_for_bit(tied):
    # Tied data: each rolled x is jittered where it lies, as ksg_mi jitters it.
    x, y = pair(240, seed=6, coupling=0.4)
    if tied:
        x, y = x.round(), y.round(decimals=1)
    shifts = [30, 97, 150, 210]
    null = ibf.ksg_mi_shifted(x, y, shifts, 4, seed=9)
    loop = [float(ibf.ksg_mi(torch.roll(x, s, 0), y, 4, seed=9)) for s in shifts]
    assert null.tolist() == loop and null.dtype == torch.float64
    with pytest.raises(ValueError, match=r"^y:"):
        ibf.ksg_mi_shifted(x, y.clone().fill_(float("nan")), shifts)


@pytest.mark.parametrize("variant", [1, 2])
def test_tree_and_brute_give_the_same_bits(variant):
    # The brute-force counts are the path a GPU takes.
    x, y = pair(250, seed=2, coupling=0.1, d=2)
    tree = ibf.ksg_mi_test(x, y, 3, variant, n_permutations=20, seed=1, backend="tree")
    brute = ibf.ksg_mi_test(x, y, 3, variant, n_permutations=20, seed=1, backend="brute")
    assert torch.equal(tree.null, brute.null) and (tree.value, tree.p_value) == (brute.value, brute.p_value)
    x, y, z = common_cause(250, seed=2, coupling=0.1)
    tree = ibf.ksg_cmi_test(x, y, z, n_permutations=20, backend="tree")
    brute = ibf.ksg_cmi_test(x, y, z, n_permutations=20, backend="brute")
    assert torch.equal(tree.null, brute.null) and (tree.value, tree.p_value) == (brute.value, brute.p_value)
    source, target = driven(300, seed=2, coupling=0.1)
    tree = ibf.transfer_entropy_test(source, target, history=2, n_permutations=20, backend="tree")
    brute = ibf.transfer_entropy_test(source, target, history=2, n_permutations=20, backend="brute")
    assert torch.equal(tree.null, brute.null) and (tree.value, tree.p_value) == (brute.value, brute.p_value)


def test_jobs_give_the_same_null():
    x, y = pair(200, seed=3, coupling=0.2)
    alone = ibf.ksg_mi_test(x, y, n_permutations=40, seed=3)
    assert torch.equal(ibf.ksg_mi_test(x, y, n_permutations=40, seed=3, n_jobs=1).null, alone.null)
    with joblib.parallel_backend("threading", n_jobs=2):
        assert torch.equal(ibf.ksg_mi_test(x, y, n_permutations=40, seed=3).null, alone.null)
        z = torch.randn(200, 1, generator=gen(4), dtype=torch.float64)
        threads = ibf.ksg_cmi_test(x, y, z, n_permutations=40, seed=3)
    assert torch.equal(ibf.ksg_cmi_test(x, y, z, n_permutations=40, seed=3).null, threads.null)


def test_p_values_under_independence_and_strong_dependence():
    n = 19
    independent = [
        ibf.ksg_mi_test(*pair(300, seed=s, coupling=0.0), n_permutations=n, seed=s) for s in range(4)
    ]
    assert min(t.p_value for t in independent) > 0.05
    assert ibf.ksg_mi_test(*pair(300, seed=0, coupling=1.0), n_permutations=n).p_value == 1 / (n + 1)
    # Independent given z (yet dependent: a global shuffle would reject), and dependent beyond z.
    given = [ibf.ksg_cmi_test(*common_cause(300, seed=10 + s), n_permutations=n, seed=s) for s in range(4)]
    assert min(t.p_value for t in given) > 0.05
    assert ibf.ksg_cmi_test(*common_cause(300, seed=3, coupling=0.5), n_permutations=n).p_value == 1 / (n + 1)
    # No transfer (the target's own memory kept by the local permutations), and a strong one.
    none = [
        ibf.transfer_entropy_test(*driven(400, seed=s, coupling=0.0), n_permutations=n, seed=s)
        for s in range(4)
    ]
    assert min(t.p_value for t in none) > 0.05
    strong = ibf.transfer_entropy_test(*driven(400, seed=0, coupling=0.8), n_permutations=n)
    assert strong.p_value == 1 / (n + 1) and float(strong) > 0.1


def test_estimators_take_the_batched_null():
    x, y = pair(300, seed=4, coupling=0.15)
    est = KSG(k=4, seed=7)
    result = est(x, y, n_permutations=30, seed=2)
    test = ibf.ksg_mi_test(x, y, 4, n_permutations=30, seed=7, permutation_seed=2)
    assert result.p_value == test.p_value and result.n_permutations == 30
    assert float(result) == float(ibf.ksg_mi(x, y, 4, seed=7))  # the estimate is the plain one
    # Resamples and permutations draw from streams of their own: asking for both changes neither.
    resampled = est(x, y, n_resamples=4, n_permutations=30, seed=2)
    assert resampled.p_value == test.p_value
    draws = torch.Generator().manual_seed(2)  # a generator of the caller's still draws the permutations
    by_generator = ibf.ksg_mi_test(x, y, 4, n_permutations=30, seed=7, generator=draws)
    assert by_generator.null.tolist() != test.null.tolist()
    x, y, z = common_cause(300, seed=6, coupling=0.1)
    conditional = est(x, y, z=z, n_permutations=30, seed=2)
    test = ibf.ksg_cmi_test(x, y, z, 4, n_permutations=30, seed=7, permutation_seed=2)
    assert conditional.p_value == test.p_value


@pytest.mark.parametrize("fn", [ibf.ksg_mi_test, ibf.ksg_cmi_test, ibf.transfer_entropy_test])
def test_tests_share_the_knn_keywords(fn):
    # the kNN settings themselves: tests/functional/test_signatures.py
    params = inspect.signature(fn).parameters
    assert params["k"].default == 3 and params["n_jobs"].default is None
    assert params["n_permutations"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["options"].kind is inspect.Parameter.VAR_KEYWORD


def test_bad_arguments_are_named():
    x, y, z = common_cause(60, seed=0)
    source, target = driven(60, seed=0, coupling=0.5)
    for bad in (0, -1, 1.5, True, 10**7):
        with pytest.raises(ValueError, match=r"^n_permutations: "):
            ibf.ksg_mi_test(x, y, n_permutations=bad)
        with pytest.raises(ValueError, match=r"^n_permutations: "):
            ibf.ksg_cmi_test(x, y, z, n_permutations=bad)
        with pytest.raises(ValueError, match=r"^n_permutations: "):
            ibf.transfer_entropy_test(source, target, n_permutations=bad)
    cases = {
        "n_jobs": lambda: ibf.ksg_mi_test(x, y, n_permutations=3, n_jobs=0),
        "variant": lambda: ibf.ksg_mi_test(x, y, 3, 3, n_permutations=3),
        "backend": lambda: ibf.ksg_mi_test(x, y, n_permutations=3, backend="gpu"),
        "k": lambda: ibf.ksg_cmi_test(x, y, z, 60, n_permutations=3),
        "z": lambda: ibf.ksg_cmi_test(x, y, (z[:, 0] > 0).long(), n_permutations=3),
        "y": lambda: ibf.ksg_mi_test(x, y[:30], n_permutations=3),
        "lag": lambda: ibf.transfer_entropy_test(source, target, 0, n_permutations=3),
        "permutation_seed": lambda: ibf.ksg_cmi_test(x, y, z, n_permutations=3, permutation_seed=1.5),
        "alpha": lambda: ibf.ksg_cmi_test(x, y, z, n_permutations=3, alpha=1.0),
    }
    for name, call in cases.items():
        with pytest.raises(ValueError, match=f"^{name}[:=]|sample counts differ"):
            call()


# ------------------------------------------------------------------------------------------------ a GPU
@pytest.mark.gpu
def test_the_same_seed_gives_the_same_null_on_cuda_and_cpu():
    x, y = pair(2000, seed=0, coupling=0.05, d=2)
    cpu = ibf.ksg_mi_test(x, y, n_permutations=200, seed=1)
    cuda = ibf.ksg_mi_test(x.cuda(), y.cuda(), n_permutations=200, seed=1)
    assert torch.equal(cpu.null, cuda.null) and (cpu.value, cpu.p_value) == (cuda.value, cuda.p_value)
    assert (
        KSG()(x.cuda(), y.cuda(), n_permutations=200, seed=1).p_value
        == KSG()(x, y, n_permutations=200, seed=1).p_value
    )
    x, y, z = common_cause(1000, seed=1, coupling=0.05)
    cpu = ibf.ksg_cmi_test(x, y, z, n_permutations=100)
    cuda = ibf.ksg_cmi_test(x.cuda(), y.cuda(), z.cuda(), n_permutations=100)
    assert torch.equal(cpu.null, cuda.null) and cpu.p_value == cuda.p_value
    source, target = driven(1000, seed=1, coupling=0.1)
    cpu = ibf.transfer_entropy_test(source, target, n_permutations=100)
    cuda = ibf.transfer_entropy_test(source.cuda(), target.cuda(), n_permutations=100)
    assert torch.equal(cpu.null, cuda.null) and cpu.p_value == cuda.p_value


@pytest.mark.gpu
def test_where_the_jitter_decides_counts_cuda_is_within_its_spread_on_the_cpu():
    # Integer rows and a point mass: the jitter, drawn on the data's device, decides every tied count,
    # so the device's estimate is one more draw of it, within the CPU's spread over jitter seeds.
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, (2000, 2), generator=g).double()
    y = x + torch.randint(0, 2, (2000, 2), generator=g)
    w = torch.randn(2000, 1, generator=g) * (torch.rand(2000, 1, generator=g) > 0.5)
    v = w + 0.5 * torch.randn(2000, 1, generator=g)
    for a, b in ((x, y), (w, v)):
        cpu = torch.tensor([float(ibf.ksg_mi(a, b, seed=s)) for s in range(8)])
        spread = 3 * float(cpu.std()) + 1e-9
        assert float(cpu.min()) - spread <= float(ibf.ksg_mi(a.cuda(), b.cuda())) <= float(cpu.max()) + spread


@pytest.mark.gpu
def test_many_permutations_of_many_samples_run_on_the_device():
    x, y = pair(10_000, seed=2, coupling=0.0, d=5)
    test = ibf.ksg_mi_test(x.cuda(), y.cuda(), n_permutations=1000)
    assert test.null.shape == (1000,) and bool(test.null.isfinite().all()) and test.p_value > 0.001
