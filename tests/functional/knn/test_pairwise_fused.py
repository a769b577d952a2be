"""Many pairs in one launch of the fused KSG kernel: ``ksg_counts_pairs`` and the path of
``pairwise_mi`` / ``ksg_mi_pairs`` that takes it on a GPU.

The kernel's own tests run in Triton's interpreter, which must be chosen before the kernel is defined,
so they skip unless the whole run has it:

    TRITON_INTERPRET=1 .venv/bin/python -m pytest -p no:cacheprovider \
        tests/functional/knn/test_pairwise_fused.py

The others run everywhere: the kernel replaced by the torch path's counts, they check what surrounds
it (the stacks, the index, the groups of pairs by dimension, the launches a batch, the terms).
"""

from __future__ import annotations

import os

import pytest
import torch

from iblearn.functional import ksg_mi_pairs, pairwise_mi
from iblearn.functional.knn import fused as kt
from iblearn.functional.knn import pair_batches, pairwise
from iblearn.functional.knn.counts import ksg_counts_tree
from tests.conftest import gen
from tests.functional.knn.test_knn_triton import scalar_index  # noqa: F401 (a fixture)

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
interpreter = pytest.mark.skipif(
    not (kt.HAVE_TRITON and INTERPRETED), reason="needs triton and TRITON_INTERPRET=1 (see the docstring)"
)


def _table(n: int, m: int, seed: int = 0) -> torch.Tensor:
    """``(n, m)`` float64 columns, correlated in a chain, one rounded to a coarse grid (ties at distance
    0 in x and in the joint space) and one with its first rows repeated at the end."""
    g = gen(seed)
    x = torch.randn(n, m, generator=g, dtype=torch.float64).cumsum(dim=1)
    x[:, 1] = torch.round(x[:, 1])
    x[-10:, 2] = x[:10, 2]
    if m > 3:
        x[:, 3] = torch.tanh(x[:, 3])
    return x


def _pretend_fused(monkeypatch, counts=None):  # type: ignore[no-untyped-def]
    """The fused path taken on CPU tensors (by the interpreter's kernel, or by ``counts``); returns the
    list that each launch's number of pairs is appended to."""
    launches: list[int] = []
    kernel = counts or kt.ksg_counts_pairs

    def spy(xt, yt, index, k):  # type: ignore[no-untyped-def]
        launches.append(index.shape[0])
        return kernel(xt, yt, index, k, block_cols=64)  # wide tiles: fewer steps of the interpreter

    monkeypatch.setattr(kt, "enabled", lambda device, k, variant: variant == 1 and k <= kt.MAX_K)
    monkeypatch.setattr(kt, "usable", lambda x, y, k, variant: variant == 1 and k <= kt.MAX_K)
    monkeypatch.setattr(kt, "ksg_counts_pairs", spy)
    return launches


def _tree_counts(xt, yt, index, k, **blocks):  # type: ignore[no-untyped-def]
    """What the kernel counts, by the CPU tree, pair by pair."""
    counts = [ksg_counts_tree(xt[a].T, yt[b].T, k, 1) for a, b in index.tolist()]
    return torch.stack([c[0] for c in counts]), torch.stack([c[1] for c in counts])


@interpreter
@pytest.mark.usefixtures("scalar_index")
@pytest.mark.parametrize("k,block_rows,block_cols", [(3, 256, 64), (2, 128, 32)])
def test_interpreted_kernel_counts_every_pair_of_a_stack(k, block_rows, block_cols):
    x = _table(300, 6)
    stack = x.T.contiguous()[:, None, :]  # (m, 1, N): both sides index the same columns
    pairs = [(a, b) for a in range(6) for b in range(a + 1, 6)] + [(5, 0), (2, 1)]
    index = torch.tensor(pairs)
    nx, ny = kt.ksg_counts_pairs(stack, stack, index, k, block_rows=block_rows, block_cols=block_cols)
    assert nx.shape == ny.shape == (len(pairs), 300)
    for p, (a, b) in enumerate(pairs):
        want = ksg_counts_tree(x[:, a : a + 1], x[:, b : b + 1], k, 1)
        assert torch.equal(nx[p], want[0]) and torch.equal(ny[p], want[1]), (a, b)


@interpreter
@pytest.mark.usefixtures("scalar_index")
def test_interpreted_kernel_counts_pairs_of_two_stacks_of_blocks():
    x = _table(80, 7, seed=1)
    xt = torch.stack([x[:, 0:2].T, x[:, 2:4].T]).contiguous()  # (2, 2, N)
    yt = torch.stack([x[:, 4:7].T, x[:, 1:4].T]).contiguous()  # (2, 3, N)
    index = torch.tensor([(0, 0), (1, 0), (0, 1), (1, 1), (0, 0)])
    nx, ny = kt.ksg_counts_pairs(xt, yt, index, 3, block_rows=32, block_cols=8)
    want = _tree_counts(xt, yt, index, 3)
    assert torch.equal(nx, want[0]) and torch.equal(ny, want[1])


@interpreter
@pytest.mark.usefixtures("scalar_index")
def test_pairwise_mi_through_the_interpreted_kernel_equals_the_tree_and_the_torch_path(monkeypatch):
    x = _table(300, 6, seed=2)
    tree = pairwise_mi(x, backend="tree")
    torch_path = pairwise_mi(x, backend="brute")
    launches = _pretend_fused(monkeypatch)
    fused = pairwise_mi(x, backend="brute")
    assert launches == [15]  # the 15 pairs of 6 columns, in one launch
    off = ~torch.eye(6, dtype=torch.bool)
    assert torch.allclose(fused[off], tree[off], rtol=0, atol=1e-12)
    assert torch.allclose(fused[off], torch_path[off], rtol=0, atol=1e-12)
    assert fused.diagonal().isnan().all()


def test_a_batch_of_the_fused_path_is_one_launch_and_its_values_the_torch_paths(monkeypatch):
    x = _table(60, 70, seed=3)
    want = pairwise_mi(x, backend="brute")
    launches = _pretend_fused(monkeypatch, _tree_counts)
    got = pairwise_mi(x, backend="brute")
    # 70 columns in tiles of 64: the pairs within the first 64, between them and the last 6, within those.
    assert launches == [64 * 63 // 2, 64 * 6, 15]
    off = ~torch.eye(70, dtype=torch.bool)
    assert torch.allclose(got[off], want[off], rtol=0, atol=1e-12)


def test_the_fused_path_groups_pairs_by_dimension_and_cuts_launches_by_memory(monkeypatch):
    x = _table(50, 8, seed=4)
    variables = [x[:, :1], x[:, 1:3], x[:, 3:4], x[:, 4:6], x[:, 6:7], x[:, 7:]]
    pairs = [(0, 1), (0, 2), (1, 3), (2, 4), (3, 1), (5, 0), (1, 0), (4, 5), (0, 3), (2, 3)]
    want = ksg_mi_pairs(variables, pairs, backend="brute")
    tree = ksg_mi_pairs(variables, pairs, backend="tree")
    launches = _pretend_fused(monkeypatch, _tree_counts)
    monkeypatch.setattr(pair_batches, "chunk_bytes", lambda device: 2 * 8 * 50 * pair_batches.TERM_BLOCKS)
    got = ksg_mi_pairs(variables, pairs, backend="brute")
    # Groups by (d_a, d_b): (1, 2) x 3, (1, 1) x 4, (2, 2) x 2, (2, 1) x 1; two pairs a launch.
    assert sorted(launches) == [1, 1, 2, 2, 2, 2]
    assert torch.allclose(got, want, rtol=0, atol=1e-12)
    assert torch.allclose(got, tree, rtol=0, atol=1e-12)


def test_the_fused_path_leaves_variant_2_and_large_k_to_the_torch_path(monkeypatch):
    x = _table(40, 4, seed=5)
    want = [pairwise_mi(x, k=k, variant=v, backend="brute") for k, v in ((3, 2), (kt.MAX_K + 1, 1))]
    launches = _pretend_fused(monkeypatch, _tree_counts)
    got = [pairwise_mi(x, k=k, variant=v, backend="brute") for k, v in ((3, 2), (kt.MAX_K + 1, 1))]
    assert launches == []
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g.nan_to_num(), w.nan_to_num())


def test_batches_are_tiles_of_16_unless_the_fused_kernel_counts():
    assert not pairwise._fused(torch.zeros(3, 1), 3, 1, "auto")  # CPU tensors: the tree or the grid
    assert pairwise.FUSED_TILE**2 == pairwise.FUSED_PAIRS_PER_BATCH
