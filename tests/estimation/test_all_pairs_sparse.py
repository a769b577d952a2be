"""pairwise_mi on a sparse matrix (an AnnData's, or scipy's): read a tile of columns at a time, never
dense whole, with the values of the dense path to the last bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import sparse

import iblearn.estimation.all_pairs as all_pairs
from iblearn import pairwise_mi

ad = pytest.importorskip("anndata")
torch.set_num_threads(1)
GENES = [f"g{i}" for i in range(8)]


class WholeRefused(sparse.csc_matrix):
    """A CSC matrix that refuses to be made dense with all its columns (a tile of fewer may be)."""

    def toarray(self, *args, **kwargs):
        if self.shape[1] == len(GENES):
            raise AssertionError("the whole sparse matrix was made dense")
        return super().toarray(*args, **kwargs)

    def todense(self, *args, **kwargs):
        return np.asmatrix(self.toarray())


@pytest.fixture
def counts(monkeypatch):
    """Cells x genes counts, mostly zeros (tied), gene 1 following gene 0; tiles of 3 genes a side."""
    monkeypatch.setattr(all_pairs, "READ_BLOCK", 3)
    r = np.random.default_rng(0)
    x = r.poisson(0.7, size=(200, 8)).astype(float)
    x[:, 1] += x[:, 0]
    return x


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a.nan_to_num(-1.0), b.nan_to_num(-1.0)) and bool(a.diagonal().isnan().all())


@pytest.mark.parametrize("seed", [0, 7])
def test_a_sparse_anndata_gives_the_dense_paths_matrix_bit_for_bit(counts, seed):
    dense, stored = ad.AnnData(counts), ad.AnnData(sparse.csr_matrix(counts))
    dense.var_names = stored.var_names = GENES
    dense = pairwise_mi(dense, seed=seed)
    result = pairwise_mi(stored, seed=seed)
    assert result.names == tuple(GENES)
    assert _same(result.mi, pairwise_mi(counts, seed=seed).mi) and _same(result.mi, dense.mi)
    assert result.mi[0, 1] > 0.3  # gene 1 follows gene 0


def test_blocks_of_a_sparse_matrix_are_those_of_the_dense_path(counts):
    blocks = [[0, 1], [2], [3, 4], [5], [6], [7]]
    by_tiles = pairwise_mi(sparse.csr_matrix(counts), blocks, seed=3)
    assert by_tiles.names is None
    assert _same(by_tiles.mi, pairwise_mi(counts, blocks, seed=3).mi)


def test_the_whole_sparse_matrix_is_never_made_dense(counts):
    matrix = WholeRefused(counts)
    with pytest.raises(AssertionError, match="made dense"):
        matrix.toarray()
    assert _same(pairwise_mi(matrix).mi, pairwise_mi(counts).mi)
    stored = ad.AnnData(sparse.csr_matrix((200, 8)))
    stored.layers["counts"] = matrix
    assert isinstance(stored.layers["counts"], WholeRefused)  # AnnData keeps the matrix as it is
    assert _same(pairwise_mi(stored, layer="counts").mi, pairwise_mi(counts).mi)
