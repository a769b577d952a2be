"""The fused KSG kernel along sorted columns (pairs of single columns on a GPU): its counts, and the
path of ``pairwise_mi`` / ``ksg_mi_pairs`` that takes it where it is on.

The kernel's own tests run in Triton's interpreter, which must be chosen before the kernel is defined,
so they skip unless the whole run has it:

    TRITON_INTERPRET=1 .venv/bin/python -m pytest -p no:cacheprovider \
        tests/functional/knn/test_pairwise_sorted.py

The others run everywhere, the kernel replaced by the torch path's counts.
"""

from __future__ import annotations

import pytest
import torch

from iblearn.functional import ksg_mi_pairs, pairwise_mi
from iblearn.functional.knn import fused as kt
from iblearn.functional.knn import fused_sorted as ks
from iblearn.functional.knn.counts import ksg_counts_brute, ksg_counts_tree
from tests.functional.knn.test_knn_triton import scalar_index  # noqa: F401 (a fixture)
from tests.functional.knn.test_pairwise_fused import INTERPRETED, _pretend_fused, _table, interpreter
from tests.functional.knn.test_pairwise_fused import _tree_counts as _stacks_tree_counts


def _counts(count, columns, index, k):  # type: ignore[no-untyped-def]
    """``count``'s n_x and n_y of each pair of ``index`` (rows in their own order)."""
    v = columns.values
    counts = [count(v[a][:, None], v[b][:, None], k, 1) for a, b in index.tolist()]
    return torch.stack([c[0] for c in counts]), torch.stack([c[1] for c in counts])


def _tree_counts(columns, index, k, **blocks):  # type: ignore[no-untyped-def]
    """The kernel's stand-in where the fused kernels are pretended: the CPU tree's counts (equal to the
    kernel's where no row's eps is 0, as in these tables' pairs of distinct columns)."""
    return _counts(ksg_counts_tree, columns, index, k)


def _pretend(monkeypatch, counts=None):  # type: ignore[no-untyped-def]
    """Both fused kernels taken on CPU tensors (the brute-force one by the tree's counts), the sorted
    one on; returns the lists that each launch's number of pairs is appended to: (brute-force kernel,
    sorted kernel)."""
    along: list[int] = []
    kernel = counts or ks.ksg_counts_sorted_pairs

    def spy(columns, index, k):  # type: ignore[no-untyped-def]
        along.append(index.shape[0])
        return kernel(columns, index, k, block_rows=32, block_cols=16)  # small blocks: the interpreter

    brute = _pretend_fused(monkeypatch, _stacks_tree_counts)
    monkeypatch.setattr(ks, "ENABLED", True)
    monkeypatch.setattr(ks, "ksg_counts_sorted_pairs", spy)
    return brute, along


@interpreter
@pytest.mark.usefixtures("scalar_index")
@pytest.mark.parametrize(
    "n,k,block_rows,block_cols",
    [
        (120, 3, 32, 16),  # ragged last block
        (97, 1, 16, 4),  # the smallest k; many tiles a side
        (60, 7, 64, 8),  # k + 1 = 8 fills its slots; one block, fewer rows than it holds
    ],
)
def test_interpreted_kernel_counts_equal_the_torch_paths(n, k, block_rows, block_cols):
    # Columns 1 (a coarse grid: ties at distance 0, eps 0 on some rows) and 2 (its first rows repeated
    # at the end) against each other and the others, both ways.
    x = _table(n, 4)
    columns = ks.SortedColumns(x.T.contiguous())
    pairs = [(1, 0), (0, 1), (1, 2), (2, 1), (3, 2), (1, 1)]
    index = torch.tensor(pairs)
    nx, ny = ks.ksg_counts_sorted_pairs(columns, index, k, block_rows=block_rows, block_cols=block_cols)
    want = _counts(ksg_counts_brute, columns, index, k)  # the torch path, eps 0 included
    assert torch.equal(nx, want[0]) and torch.equal(ny, want[1])


@interpreter
@pytest.mark.usefixtures("scalar_index")
def test_pairwise_mi_through_the_interpreted_kernel_equals_the_tree(monkeypatch):
    x = _table(150, 4, seed=2)
    tree = pairwise_mi(x, backend="tree")
    brute, along = _pretend(monkeypatch)
    got = pairwise_mi(x, backend="brute")
    assert (brute, along) == ([], [6])
    off = ~torch.eye(4, dtype=torch.bool)
    assert torch.allclose(got[off], tree[off], rtol=0, atol=1e-12)


def test_sorted_columns_hold_each_columns_order_and_each_rows_place():
    x = _table(50, 3)
    columns = ks.SortedColumns(x.T.contiguous())
    assert torch.equal(columns.values.gather(1, columns.order), columns.sorted)
    assert (columns.sorted.diff(dim=1) >= 0).all()
    assert torch.equal(columns.order.gather(1, columns.place), torch.arange(50).expand(3, 50))


def test_pairs_of_single_columns_take_the_sorted_kernel_and_the_others_the_brute_force_one(monkeypatch):
    x = _table(50, 8, seed=4)
    variables = [x[:, :1], x[:, 1:3], x[:, 3:4], x[:, 4:6], x[:, 6:7], x[:, 7:]]
    pairs = [(0, 1), (0, 2), (1, 3), (2, 4), (3, 1), (5, 0), (1, 0), (4, 5), (0, 3), (2, 3)]
    tree = ksg_mi_pairs(variables, pairs, backend="tree")
    brute, along = _pretend(monkeypatch, _tree_counts)
    got = ksg_mi_pairs(variables, pairs, backend="brute")
    # (1, 1): (0, 2), (2, 4), (5, 0), (4, 5) along the sorted columns; the 6 others brute force.
    assert along == [4] and sum(brute) == 6
    assert torch.allclose(got, tree, rtol=0, atol=1e-12)


def test_the_sorted_kernel_is_off_unless_asked():
    if ks.ENABLED:
        pytest.skip("IBLEARN_SORTED_KSG=1 in this run")
    assert not ks.usable((1, 1), torch.device("cuda"), 3, 1)


compiled = pytest.mark.skipif(not kt.HAVE_TRITON or INTERPRETED, reason="needs triton, compiled")


@pytest.mark.gpu
@compiled
@pytest.mark.parametrize("block_rows,block_cols", [(ks.BLOCK_ROWS, ks.BLOCK_COLS), (64, 4), (256, 8)])
def test_cuda_kernel_counts_equal_the_torch_path(block_rows, block_cols):
    x = _table(5000, 4, seed=6)
    pairs = torch.tensor([(1, 0), (0, 1), (1, 2), (2, 1), (3, 2), (1, 1)])
    columns = ks.SortedColumns(x.T.contiguous().cuda())
    nx, ny = ks.ksg_counts_sorted_pairs(
        columns, pairs.cuda(), 3, block_rows=block_rows, block_cols=block_cols
    )
    want = _counts(ksg_counts_brute, ks.SortedColumns(x.T.contiguous()), pairs, 3)
    assert torch.equal(nx.cpu(), want[0]) and torch.equal(ny.cpu(), want[1])


@pytest.mark.gpu
@compiled
def test_pairwise_mi_on_cuda_along_sorted_columns_equals_the_brute_force_kernel(monkeypatch):
    x = _table(3000, 12, seed=7).cuda()
    want = [pairwise_mi(x), pairwise_mi(x, top_k=3)]
    monkeypatch.setattr(ks, "ENABLED", True)
    monkeypatch.setattr(kt, "ENABLED", True)  # whatever IBLEARN_FUSED_KSG says
    got = [pairwise_mi(x), pairwise_mi(x, top_k=3)]
    assert torch.equal(got[0].nan_to_num(), want[0].nan_to_num())
    assert torch.equal(got[1].values.nan_to_num(), want[1].values.nan_to_num())
    assert torch.equal(got[1].indices, want[1].indices)
