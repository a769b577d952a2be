"""Many KSG estimates in one call: pairwise_mi, layerwise_mi and ksg_mi_pairs against
one ksg_mi call per pair; ksg_mi(local=True) against ksg_mi; the canonical Gaussian pair of MIENF against the
general Gaussian closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn import functional as ibf

torch.set_num_threads(1)


def _sample(n: int = 800, seed: int = 0) -> torch.Tensor:
    """Five columns: 0-1 correlated, 2 a noisy function of 0, 3-4 a 2-d block tied to 1; all dependent
    on some other column, so every estimate between dependent columns is well above 0."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 5, generator=g, dtype=torch.float64)
    c0 = z[:, 0]
    c1 = 0.8 * c0 + 0.6 * z[:, 1]
    c2 = torch.tanh(c0) + 0.3 * z[:, 2]
    c3 = c1 + 0.5 * z[:, 3]
    c4 = c1 - 0.5 * z[:, 4]
    return torch.stack([c0, c1, c2, c3, c4], dim=1)


@pytest.mark.parametrize("backend", ["tree", "brute"])
@pytest.mark.parametrize("variant", [1, 2])
def test_pairwise_matrix_is_one_ksg_call_per_pair(backend, variant):
    x = _sample()
    m = ibf.pairwise_mi(x, k=3, variant=variant, backend=backend, seed=4)
    assert m.shape == (5, 5) and bool(m.diagonal().isnan().all())
    off = ~torch.eye(5, dtype=torch.bool)
    assert torch.equal(m[off], m.T[off])  # symmetric
    for i in range(5):
        for j in range(i + 1, 5):
            one = ibf.ksg_mi(x[:, i], x[:, j], 3, variant, backend=backend, seed=4 + i)
            # the jitter of column j differs (seed + j against seed + i + 1): it decides no count here
            assert float(m[i, j]) == pytest.approx(float(one), abs=1e-12)


def test_tiles_grow_as_rows_fall_and_change_no_value(monkeypatch):
    """Tiles of 16 columns a side from 10,000 rows on, up to 64 at few rows (a batch's work about the
    same); every pair's value is its own, the same bit for bit whatever the tile."""
    from iblearn.functional.knn import pairwise

    assert [pairwise.cpu_tile(n) for n in (20_000, 10_000, 2_500, 336, 1)] == [16, 16, 32, 64, 64]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(300, 40, generator=g, dtype=torch.float64)
    x[:, 33] += x[:, 2]  # a pair across two tiles of 16
    wide = ibf.pairwise_mi(x)
    monkeypatch.setattr(pairwise, "TILE_ROWS", 1)  # tiles of 16 at these rows
    narrow = ibf.pairwise_mi(x)
    assert torch.equal(wide.nan_to_num(), narrow.nan_to_num()) and float(wide[2, 33]) > 0.2


def test_pairwise_blocks_and_values_near_the_truth():
    x = _sample(3000)
    m = ibf.pairwise_mi(x, blocks=[[0], [1], [3, 4]])
    assert m.shape == (3, 3)
    truth = -0.5 * math.log(1 - 0.8**2)  # columns 0 and 1: a bivariate normal at rho = 0.8
    assert float(m[0, 1]) == pytest.approx(truth, abs=0.05)
    assert float(m[1, 2]) > float(m[0, 2]) > 0.2  # the block is tied to column 1, to 0 through it
    assert float(m[1, 2]) == pytest.approx(float(ibf.ksg_mi(x[:, 1], x[:, 3:5], seed=1)), abs=1e-12)


def test_pairwise_of_dependent_columns_is_non_negative_and_near_zero_for_independent_ones():
    x = _sample(1000)
    m = ibf.pairwise_mi(x)
    off = ~torch.eye(5, dtype=torch.bool)
    assert bool((m[off] > 0.05).all())
    noise = torch.randn(1000, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    assert float(ibf.pairwise_mi(noise).nan_to_num().abs().max()) < 0.05


def test_brute_force_shares_distances_and_agrees_with_ksg_in_high_dimension():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(400, 70, generator=g, dtype=torch.float64)
    t1 = torch.tanh(x[:, :60] + 0.5 * torch.randn(400, 60, generator=g, dtype=torch.float64))
    t2 = x[:, :70:2] + torch.randn(400, 35, generator=g, dtype=torch.float64)
    m = ibf.layerwise_mi([t1, t2], [x, x[:, :5]])
    assert m.shape == (2, 2)
    # layers come first in the jitter's order (seeds 0 and 1), then the targets (2 and 3)
    for i, t in enumerate((t1, t2)):
        for j, target in enumerate((x, x[:, :5])):
            one = ibf.ksg_mi(t, target, seed=i, backend="brute")
            assert float(m[i, j]) == pytest.approx(float(one), abs=1e-12)


@pytest.mark.parametrize("variant", [1, 2])
def test_pointwise_terms_average_to_the_estimate(variant):
    x = _sample(600)
    pmi = ibf.ksg_mi(x[:, :2], x[:, 2:], variant=variant, local=True)
    assert pmi.shape == (600,) and pmi.dtype == torch.float64
    assert float(pmi.mean()) == pytest.approx(
        float(ibf.ksg_mi(x[:, :2], x[:, 2:], variant=variant)), abs=1e-12
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ibf.pairwise_mi(torch.randn(50, 1)), "x: pairwise MI needs at least 2"),
        (lambda: ibf.pairwise_mi(torch.randn(50, 3), blocks=[[0, 1], [1, 2]]), r"blocks: column\(s\) \[1\]"),
        (lambda: ibf.pairwise_mi(torch.randn(50, 3), blocks=[[0], [5]]), "blocks: .* not within the 3"),
        (lambda: ibf.pairwise_mi(torch.randn(50, 3), blocks=[[0], []]), "blocks: .* empty"),
        (lambda: ibf.pairwise_mi(torch.randint(0, 3, (50, 3))), "x: expected continuous"),
        (lambda: ibf.ksg_mi_pairs([torch.randn(50, 1)], [(0, 1)]), "variables: expected a sequence"),
        (lambda: ibf.ksg_mi_pairs([torch.randn(50, 1)] * 2, [(0, 0)]), r"pairs: \(0, 0\) is not"),
        (lambda: ibf.ksg_mi_pairs([torch.randn(50, 1)] * 2, [(0, 2)]), r"pairs: \(0, 2\) is not"),
        (lambda: ibf.ksg_mi_pairs([torch.randn(50, 1)] * 2, []), "pairs: expected a non-empty"),
        (lambda: ibf.ksg_mi_pairs([torch.randn(50, 1), torch.randn(40, 1)], [(0, 1)]), "variables"),
        (lambda: ibf.ksg_mi_pairs([torch.randn(50, 1)] * 2, [(0, 1)], variant=3), "variant: expected 1"),
        (lambda: ibf.layerwise_mi([], [torch.randn(5, 1)]), "layers: expected a non-empty"),
        (lambda: ibf.layerwise_mi([torch.randn(9, 2)], [torch.randn(9, 2)], k=9), "k=9 needs more"),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------- the canonical Gaussian pair
RHO = torch.tensor([0.9, -0.5, 0.2], dtype=torch.float64)


def _canonical_cov(rho: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    cov = torch.eye(dx + dy, dtype=torch.float64)
    for j, r in enumerate(rho):
        cov[j, dx + j] = cov[dx + j, j] = r
    return cov


def test_canonical_mi_is_the_gaussian_closed_form():
    cov = _canonical_cov(RHO, 4, 3)
    expected = ibf.gaussian_mi_from_cov(cov, 4)
    assert float(ibf.canonical_gaussian_mi(RHO)) == pytest.approx(float(expected), rel=1e-12)


def test_canonical_log_density_and_pointwise_mi_are_the_normal_densities():
    cov = _canonical_cov(RHO, 4, 3)
    joint = torch.distributions.MultivariateNormal(torch.zeros(7, dtype=torch.float64), cov)
    xy = joint.sample((2000,))
    xi, eta = xy[:, :4], xy[:, 4:]
    log_p = ibf.canonical_gaussian_log_prob(xi, eta, RHO)
    assert torch.allclose(log_p, joint.log_prob(xy), atol=1e-10)
    std = torch.distributions.Normal(0.0, 1.0)
    pmi = ibf.canonical_gaussian_pmi(xi, eta, RHO)
    assert torch.allclose(pmi, log_p - std.log_prob(xy).sum(dim=1), atol=1e-10)
    # its mean over samples of the pair is the MI, within the sampling noise (sd about 0.03 here)
    assert float(pmi.mean()) == pytest.approx(float(ibf.canonical_gaussian_mi(RHO)), abs=0.1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ibf.canonical_gaussian_mi(torch.tensor([1.0])), r"rho: correlations must lie"),
        (lambda: ibf.canonical_gaussian_mi(torch.tensor([[0.1]])), "rho: expected a 1-d"),
        (
            lambda: ibf.canonical_gaussian_pmi(torch.randn(5, 1), torch.randn(5, 2), RHO),
            "rho: 3 correlations",
        ),
        (lambda: ibf.canonical_gaussian_pmi(torch.randn(5, 3), torch.randn(4, 3), RHO), "xi has 5"),
        (
            lambda: ibf.canonical_gaussian_log_prob(torch.randn(5, 3), torch.full((5, 3), math.nan), RHO),
            "eta",
        ),
    ],
)
def test_canonical_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------------ memory and indices
def test_brute_force_pairs_keep_no_counts_of_earlier_pairs(monkeypatch):
    """Many pairs on the brute-force path hold the counts of one pair at a time: counts kept from pair
    to pair, between the large distance temporaries, fragmented the heap (gigabytes for 100 columns)."""
    import weakref

    from iblearn.functional.knn import pair_batches

    alive: list[weakref.ref] = []
    chunk_counts = pair_batches.ksg_chunk_counts

    def counting(*args, **kwargs):
        assert all(ref() is None for ref in alive), "counts of an earlier pair are still held"
        out = chunk_counts(*args, **kwargs)
        alive.extend(weakref.ref(t) for t in out)
        return out

    monkeypatch.setattr(pair_batches, "ksg_chunk_counts", counting)
    x = _sample(200)
    m = ibf.pairwise_mi(x, backend="brute", seed=4)
    assert len(alive) == 2 * 10
    assert float(m[0, 1]) == pytest.approx(
        float(ibf.ksg_mi(x[:, 0], x[:, 1], backend="brute", seed=4)), abs=1e-12
    )


_PEAK = """
import resource, sys, torch
torch.set_num_threads(1)
from iblearn import functional as ibf
x = torch.randn(500, 60, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ibf.pairwise_mi(x, backend="brute")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.slow
def test_brute_force_pairs_peak_memory_is_bounded():
    """60 columns x 500 rows (1,770 pairs) on the brute-force path: the 60 distance blocks (120 MB) and
    one pair's temporaries, not a heap that grows with the pairs (6.3 GB measured before)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _PEAK], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) < 600  # MB above the import's peak


def test_indices_are_any_integral_type_and_refused_when_not_integral():
    import numpy as np

    x = _sample(300)
    cols = [x[:, 0], x[:, 1], x[:, 2]]
    plain = ibf.ksg_mi_pairs(cols, [(0, 1), (1, 2)])
    assert torch.equal(ibf.ksg_mi_pairs(cols, [(np.int64(0), np.int32(1)), (1, np.int16(2))]), plain)
    assert torch.equal(ibf.ksg_mi_pairs(cols, [(torch.tensor(0), 1), (1, 2)]), plain)
    blocks = ibf.pairwise_mi(x, blocks=[[np.int64(0)], [np.int32(1)], [3, np.uint8(4)]])
    assert torch.equal(blocks.nan_to_num(), ibf.pairwise_mi(x, blocks=[[0], [1], [3, 4]]).nan_to_num())
    for bad in ([[0.5], [1]], [[0], [1.0]], [[True], [1]], [["0"], [1]], [[np.float64(2.0)], [1]]):
        with pytest.raises(ValueError, match="blocks: "):
            ibf.pairwise_mi(x, blocks=bad)
    for bad_pairs in ([(0.5, 1)], [(0, 1.0)], [(True, 1)], [(np.float64(0), 1)], [("0", 1)]):
        with pytest.raises(ValueError, match="pairs: "):
            ibf.ksg_mi_pairs(cols, bad_pairs)


@pytest.mark.parametrize("backend", ["tree", "brute"])
def test_errors_name_the_column_block_or_layer(backend):
    x = _sample(100)
    x[:, 3] = 1.5
    with pytest.raises(ValueError, match=r"^x\[:, 3\]: every column is constant"):
        ibf.pairwise_mi(x, backend=backend)
    with pytest.raises(ValueError, match=r"^blocks\[2\] \(columns \[3, 4\] of x\): every column"):
        ibf.pairwise_mi(x[:, [0, 1, 2, 3, 3]], blocks=[[0], [1], [3, 4]], backend=backend)
    t = torch.randn(100, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^layers\[1\]: every column is constant"):
        ibf.layerwise_mi([t, torch.ones(100, 2)], [x[:, :2]], backend=backend)
    with pytest.raises(ValueError, match=r"^targets\[0\]: every column is constant"):
        ibf.layerwise_mi([t], [torch.ones(100, 2)], backend=backend)
    with pytest.raises(ValueError, match=r"layers\[0\] has 100, targets\[0\] has 90"):
        ibf.layerwise_mi([t], [x[:90, :2]], backend=backend)


def test_fill_self_sets_each_row_at_its_own_column_in_every_batch():
    from iblearn.functional.knn.neighbors import fill_self

    d = torch.zeros(2, 3, 5)
    rows = torch.tensor([1, 2, 4])
    fill_self(d, rows, -1.0)
    expected = torch.zeros(3, 5)
    expected[torch.arange(3), rows] = -1.0
    assert torch.equal(d[0], expected) and torch.equal(d[1], expected)
    mask = torch.ones(3, 5, dtype=torch.bool)
    assert (~fill_self(mask, rows, False)).sum() == 3
