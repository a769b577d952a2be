"""pairwise_mi on a sparse matrix (an AnnData's, or scipy's): read a tile of columns at a time, never
dense whole, with the values of the dense path to the last bit, for the matrix and for its sparse
forms (top_k, threshold, fdr)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from scipy import sparse

import iblearn.estimation.all_pairs as all_pairs
from iblearn import pairwise_mi
from iblearn.functional.knn import pairwise_stream

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


FORMS = [{"top_k": 3}, {"threshold": 0.02}, {"fdr": 0.2}, {"top_k": 2, "aracne": 0.0}]


def _same_edges(got, want) -> None:
    for name in ("values", "indices", "edges", "p_values"):
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None and b is None) or torch.equal(a.nan_to_num(-9.0), b.nan_to_num(-9.0)), name
    tiles = {"tile": 0}  # the tile is READ_BLOCK's here, the stream's on the dense path
    assert got.settings | tiles == want.settings | tiles


@pytest.mark.parametrize("form", FORMS, ids=lambda f: "-".join(f))
@pytest.mark.parametrize("seed", [0, 7])
def test_sparse_forms_of_a_sparse_matrix_are_the_dense_paths(counts, form, seed, monkeypatch):
    monkeypatch.setattr(pairwise_stream, "NULL_PERMUTATIONS", 400)  # a quick null for fdr
    want = pairwise_mi(counts, seed=seed, **form).mi
    stored = ad.AnnData(sparse.csr_matrix(counts))
    stored.var_names = GENES
    result = pairwise_mi(stored, seed=seed, **form)
    assert result.names == tuple(GENES)
    _same_edges(result.mi, want)
    _same_edges(pairwise_mi(sparse.csc_matrix(counts), seed=seed, **form).mi, want)
    if "fdr" in form:
        assert result.mi.edges[0].tolist() == [0, 1]  # gene 1 follows gene 0


@pytest.mark.parametrize("form", FORMS[:3], ids=lambda f: "-".join(f))
def test_sparse_forms_never_make_the_whole_matrix_dense(counts, form, monkeypatch):
    monkeypatch.setattr(pairwise_stream, "NULL_PERMUTATIONS", 400)
    read = []
    real = all_pairs._read_columns

    def recorded(matrix):
        table = real(matrix)
        return type(table)(table.shape, lambda c: read.append(len(c)) or table.read(c), table.key)

    monkeypatch.setattr(all_pairs, "_read_columns", recorded)
    got = pairwise_mi(WholeRefused(counts), **form).mi
    _same_edges(got, pairwise_mi(counts, **form).mi)
    assert max(read) <= 2 * all_pairs.READ_BLOCK  # two blocks of columns at a time


def test_a_checkpoint_of_a_sparse_matrix_serves_any_storage_of_its_values(counts, tmp_path):
    full = pairwise_mi(sparse.csr_matrix(counts), top_k=3, checkpoint=tmp_path).mi
    shards = sorted(tmp_path.glob("tile-*.npz"))
    assert len(shards) == 6  # tiles of 3 + 3 + 2 genes
    padded = sparse.coo_matrix(counts)
    padded = sparse.coo_matrix(  # the same values with a stored zero and a duplicated entry
        (np.r_[padded.data, 0.0, 1.0, -1.0], (np.r_[padded.row, 5, 7, 7], np.r_[padded.col, 2, 3, 3])),
        shape=counts.shape,
    )
    again = pairwise_mi(padded, top_k=3, checkpoint=tmp_path).mi
    assert sorted(tmp_path.glob("tile-*.npz")) == shards
    _same_edges(again, full)
    with pytest.raises(ValueError, match="checkpoint"):  # other values: another run's folder
        pairwise_mi(sparse.csr_matrix(counts + 1), top_k=3, checkpoint=tmp_path)


def test_bad_sparse_forms_are_named(counts):
    matrix = sparse.csr_matrix(counts)
    with pytest.raises(ValueError, match="top_k"):
        pairwise_mi(matrix, top_k=8)
    with pytest.raises(ValueError, match="blocks"):
        pairwise_mi(matrix, [[0, 1], [2]], threshold=0.1)
    with pytest.raises(ValueError, match="aracne"):
        pairwise_mi(matrix, aracne=0.0)
    with pytest.raises(ValueError, match="data: pairwise MI needs at least 2"):
        pairwise_mi(sparse.csr_matrix(counts[:, :1]), top_k=1)
    bad = counts.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"^data: contains NaN or Inf \(first at sample 3, column 4\)"):
        pairwise_mi(sparse.csr_matrix(bad), top_k=2)


@pytest.mark.parametrize("form", [{}, *FORMS[:3]], ids=str)
def test_every_form_refuses_a_constant_column_of_a_sparse_matrix_by_name(counts, form):
    counts[:, 5] = 0.0  # a gene no cell expresses
    with pytest.raises(ValueError, match=r"^(x\[:, 5\]|variables\[5\]): every column is constant"):
        pairwise_mi(sparse.csr_matrix(counts), **form)


@pytest.mark.slow
def test_top_k_of_a_sparse_matrix_holds_less_than_its_dense_copy(monkeypatch):
    """Memory traced while 800 genes of 500 cells stream in tiles of 40 + 40 genes (the tiles' values
    stand in for the kernel's: deterministic and cheap): a few copies of a tile's columns, never the
    whole matrix, which the dense path holds several times over."""

    def fake(sorted_values, ranks, pairs, k, variant):
        return np.sin(sorted_values[pairs[:, 0], 0] * 7.0 + sorted_values[pairs[:, 1], 1] * 3.0)

    monkeypatch.setattr(pairwise_stream, "_pairs_values", fake)
    monkeypatch.setattr(all_pairs, "READ_BLOCK", 40)
    matrix = sparse.random(500, 800, density=0.05, format="csc", random_state=0)
    tracemalloc.start()
    got = pairwise_mi(matrix, top_k=5).mi
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert got.values.shape == (800, 5) and (got.indices >= 0).all()
    assert peak < 8 * 500 * 800  # the dense float64 matrix (3.2 MB)
