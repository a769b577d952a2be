"""The gene x gene MI network of an AnnData (iblearn.genes): planted pairs found, the matrix sparse and
symmetric in varp, sparse and dense input alike, block by block equal to the whole matrix's top K."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn import functional as ibf
from iblearn import genes
from iblearn.functional.knn.pairwise_stream import normal_scores

ad = pytest.importorskip("anndata")
sparse = pytest.importorskip("scipy.sparse")

torch.set_num_threads(1)

PLANTED = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]


def _counts(seed: int, cells: int = 300, n_genes: int = 40) -> np.ndarray:
    """Poisson counts whose rates are gamma draws; the genes of each planted pair share a rate."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(2.0, 1.0, size=(cells, n_genes))
    for a, b in PLANTED:
        rate[:, b] = rate[:, a] * rng.uniform(0.8, 1.2, cells)
    return rng.poisson(rate).astype(np.float64)


def _adata(x: np.ndarray, as_sparse: bool = True):
    adata = ad.AnnData(sparse.csr_matrix(x) if as_sparse else x)
    adata.var_names = [f"gene{i}" for i in range(x.shape[1])]
    return adata


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_pairs_are_among_each_genes_top_10(seed: int) -> None:
    adata = _adata(_counts(seed))
    genes.mi_network(adata, top_k=10)
    m = adata.varp["mi"].toarray()
    for a, b in PLANTED:
        assert m[a, b] > 0, (a, b)
        assert b in np.argsort(-m[a])[:10] and a in np.argsort(-m[b])[:10]


def test_varp_is_sparse_symmetric_and_names_are_kept() -> None:
    adata = _adata(_counts(0))
    edges = genes.mi_network(adata, top_k=3, key="net")
    m = adata.varp["net"]
    assert sparse.issparse(m) and m.format == "csr" and m.shape == (40, 40)
    assert (m != m.T).nnz == 0 and m.diagonal().max() == 0
    assert m.nnz <= 2 * 40 * 3 and (m.getnnz(axis=1) >= 3).all()
    assert list(edges.columns) == ["gene_a", "gene_b", "mi"]
    assert set(edges.gene_a) | set(edges.gene_b) <= set(adata.var_names)
    assert np.all(np.diff(edges.mi.to_numpy()) <= 0)
    names = list(adata.var_names)
    for row in edges.itertuples():
        assert m[names.index(row.gene_a), names.index(row.gene_b)] == pytest.approx(row.mi, abs=1e-12)


def test_sparse_and_dense_matrices_and_layers_give_the_same_network() -> None:
    x = _counts(2, cells=120, n_genes=20)
    a, b = _adata(x), _adata(x, as_sparse=False)
    b.layers["counts"] = x.copy()
    b.X = np.zeros_like(x)
    ea = genes.mi_network(a, top_k=4)
    eb = genes.mi_network(b, top_k=4, layer="counts")
    assert (a.varp["mi"] != b.varp["mi"]).nnz == 0
    assert ea.equals(eb)


@pytest.mark.parametrize(("block", "scored"), [(8, 5), (256, 32)])
def test_the_network_is_pairwise_mi_top_k_of_the_normal_scores(
    monkeypatch: pytest.MonkeyPatch, block: int, scored: int
) -> None:
    """Tile by tile (three blocks, one short, each ranked a few genes at a time; or one block) the
    network is the top K that pairwise_mi keeps of the whole matrix of normal scores, to the last bit."""
    x = _counts(3, cells=150, n_genes=21)
    adata = _adata(x)
    monkeypatch.setattr(genes, "BLOCK", block)
    monkeypatch.setattr(genes, "SCORED_COLUMNS", scored)
    edges = genes.mi_network(adata, top_k=5, seed=4)
    scores = normal_scores(torch.from_numpy(x), seed=4)  # every gene at once
    whole = ibf.pairwise_mi(scores, top_k=5, seed=4)
    expected = np.zeros((21, 21))
    for i in range(21):
        expected[i, whole.indices[i].numpy()] = whole.values[i].numpy()
    expected = np.maximum(expected, expected.T)
    assert np.array_equal(adata.varp["mi"].toarray(), expected)
    rows = np.arange(21)[:, None].repeat(5, axis=1)
    pairs = {(min(a, b), max(a, b)) for a, b in zip(rows.ravel(), whole.indices.numpy().ravel(), strict=True)}
    assert len(edges) == len(pairs)


def test_fdr_adds_p_values_and_keeps_the_planted_pairs() -> None:
    adata = _adata(_counts(0))
    edges = genes.mi_network(adata, top_k=10, fdr=0.05)
    assert list(edges.columns) == ["gene_a", "gene_b", "mi", "p_value"]
    # Benjamini-Hochberg over all 780 pairs: the largest kept p-value is within its rank's cutoff.
    assert edges.p_value.max() <= 0.05 * len(edges) / 780
    found = {(int(a[4:]), int(b[4:])) for a, b in zip(edges.gene_a, edges.gene_b, strict=True)}
    assert len(found & set(PLANTED)) >= 3 and len(found - set(PLANTED)) <= 1
    assert adata.varp["mi"].nnz == 2 * len(edges)


def test_bad_input_names_the_argument() -> None:
    adata = _adata(_counts(0, cells=40, n_genes=12))
    for kwargs, name in [
        ({"top_k": 12}, "top_k"),
        ({"top_k": 0}, "top_k"),
        ({"fdr": 1.5}, "fdr"),
        ({"layer": "nope"}, "layer"),
    ]:
        with pytest.raises(ValueError, match=rf"^{name}:"):
            genes.mi_network(adata, **kwargs)
    with pytest.raises(ValueError, match=r"^adata:"):
        genes.mi_network(np.zeros((40, 6)))


def test_cells_in_time_order_are_warned_of_by_mi_network_and_its_argument() -> None:
    t = np.arange(400)
    x = np.stack([np.sin(t / 40 + i) for i in range(6)], axis=1)
    x += 0.01 * np.random.default_rng(0).standard_normal(x.shape)
    with pytest.warns(UserWarning, match=r"^mi_network: .*adata\.X\[:, :3\]") as caught:
        genes.mi_network(_adata(x), top_k=2)
    ours = [w for w in caught if str(w.message).startswith("mi_network:")]
    assert ours[0].filename == __file__  # points at the caller's line
