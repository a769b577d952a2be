"""``iblearn.pairwise_mi`` reads AnnData (dense, sparse, a layer), MNE Raw and Epochs and xarray through
the conversion layer: the values are those of the bare array and the variables keep their names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iblearn
from iblearn.functional import pairwise_mi as bare_pairwise_mi

torch.set_num_threads(1)

CHANNELS = ["Fz", "Cz", "Pz"]


def _samples(n: int = 200, seed: int = 0) -> np.ndarray:
    """Three columns: the first two dependent, the third apart."""
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 3))
    x[:, 1] += x[:, 0]
    return x


def _same(result, x: np.ndarray, **settings) -> None:
    torch.testing.assert_close(
        result.mi, bare_pairwise_mi(torch.from_numpy(x), **settings), equal_nan=True, rtol=0, atol=0
    )


def test_a_bare_array_gives_the_functional_matrix_and_no_names():
    x = _samples()
    result = iblearn.pairwise_mi(x)
    _same(result, x)
    assert result.names is None
    assert result.to_pandas().columns.tolist() == [0, 1, 2]


@pytest.mark.parametrize("store", ["dense", "sparse", "layer"])
def test_an_anndata_gives_its_genes_as_the_variables(store):
    anndata = pytest.importorskip("anndata")
    from scipy import sparse as sp

    counts = np.round(np.abs(_samples()) * 3)
    genes = ["Gata1", "Spi1", "Actb"]
    if store == "layer":
        adata = anndata.AnnData(np.zeros_like(counts), layers={"counts": sp.csr_matrix(counts)})
    else:
        adata = anndata.AnnData(sp.csr_matrix(counts) if store == "sparse" else counts)
    adata.var_names = genes
    result = iblearn.pairwise_mi(adata, layer="counts" if store == "layer" else None)
    _same(result, counts)
    assert result.names == tuple(genes)
    frame = result.to_pandas()
    assert frame.loc["Gata1", "Spi1"] == pytest.approx(float(result.mi[0, 1]), abs=0)


def test_an_anndata_layer_that_is_missing_is_named():
    anndata = pytest.importorskip("anndata")
    adata = anndata.AnnData(_samples())
    with pytest.raises(ValueError, match=r"layer: 'counts' is not among data.layers \(none\)"):
        iblearn.pairwise_mi(adata, layer="counts")
    with pytest.raises(ValueError, match=r"layer: selects a layer of an AnnData, got a ndarray"):
        iblearn.pairwise_mi(_samples(), layer="counts")


def _mne():
    mne = pytest.importorskip("mne")
    data = np.random.default_rng(1).normal(size=(4, 3, 60))
    data[:, 1] += data[:, 0]
    info = mne.create_info(CHANNELS, 100.0, "eeg")
    return mne, data, info


def test_mne_epochs_and_raw_give_their_channels_as_the_variables():
    mne, data, info = _mne()
    epochs = mne.EpochsArray(data, info, verbose="error")
    result = iblearn.pairwise_mi(epochs)
    _same(result, np.concatenate([e.T for e in data]))
    assert result.names == tuple(CHANNELS)
    raw = mne.io.RawArray(data[0], info, verbose="error")
    picked = iblearn.pairwise_mi(raw, picks=["Pz", "Cz", "Fz"])
    _same(picked, data[0][[2, 1, 0]].T)  # in the order picked
    assert picked.names == ("Pz", "Cz", "Fz")


def test_a_dataarray_gives_its_channels_whatever_the_order_of_its_dimensions():
    xr = pytest.importorskip("xarray")
    _, data, _ = _mne()
    array = xr.DataArray(data, dims=("trial", "channel", "time"), coords={"channel": CHANNELS})
    expected = np.concatenate([e.T for e in data])
    for given in (
        array,
        array.transpose("time", "channel", "trial"),
        array.transpose("channel", "trial", "time"),
    ):
        result = iblearn.pairwise_mi(given)
        _same(result, expected)
        assert result.names == tuple(CHANNELS)
    x = _samples()
    plain = iblearn.pairwise_mi(xr.DataArray(x, dims=("cell", "gene"), coords={"gene": ["a", "b", "c"]}))
    _same(plain, x)
    assert plain.names == ("a", "b", "c")


def test_blocks_are_named_by_their_columns_or_by_the_keys_given():
    pd = pytest.importorskip("pandas")
    x = _samples()
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    by_names = iblearn.pairwise_mi(frame, blocks=[["a", "b"], ["c"]])
    _same(by_names, x, blocks=[[0, 1], [2]])
    assert by_names.names == ("a+b", "c")
    keyed = iblearn.pairwise_mi(frame, blocks={"ab": [0, 1], "c": ["c"]})
    assert keyed.names == ("ab", "c")
    with pytest.raises(ValueError, match=r"blocks: 'd' is not a column of data \(a, b, c\)"):
        iblearn.pairwise_mi(frame, blocks=[["a"], ["d"]])


def test_a_sparse_result_names_each_edge():
    pd = pytest.importorskip("pandas")
    x = _samples()
    result = iblearn.pairwise_mi(pd.DataFrame(x, columns=["a", "b", "c"]), top_k=1)
    table = result.to_pandas()
    assert table.columns.tolist() == ["variable", "partner", "mi"]
    assert table.set_index("variable").loc["a", "partner"] == "b"
    edges = iblearn.pairwise_mi(pd.DataFrame(x, columns=["a", "b", "c"]), threshold=0.3).to_pandas()
    assert edges[["variable", "partner"]].values.tolist() == [["a", "b"]]


def test_a_missing_value_is_named_as_in_data_dense_or_sparse():
    from scipy import sparse

    x = _samples()
    x[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"^data: contains NaN or Inf \(first at sample 5\)"):
        iblearn.pairwise_mi(x)
    with pytest.raises(ValueError, match=r"^data: contains NaN or Inf \(first at sample 5, column 2\)"):
        iblearn.pairwise_mi(sparse.csr_matrix(x))


def test_data_of_one_variable_is_refused_naming_data():
    x = _samples()
    for one in (x[:, :1], x[:, 0]):
        with pytest.raises(ValueError, match=r"^data: pairwise MI needs at least 2 columns or blocks, got 1"):
            iblearn.pairwise_mi(one)
    with pytest.raises(ValueError, match=r"^data: .* got 1"):
        iblearn.pairwise_mi(x, blocks=[[0, 1, 2]])


def test_a_table_of_few_rows_and_many_columns_is_asked_whether_it_is_transposed():
    x = np.random.default_rng(0).normal(size=(200, 4))
    with pytest.raises(
        ValueError, match=r"^data: 4 row\(s\) \(data is 4 x 50\): samples are rows; transposed\?$"
    ):
        iblearn.pairwise_mi(x.T[:, :50])
    assert iblearn.pairwise_mi(x[:16]).mi.shape == (4, 4)


def test_a_block_out_of_range_is_named_before_the_count_of_blocks():
    x = _samples()
    with pytest.raises(ValueError, match=r"^blocks: \[0, 99\] is empty or not within"):
        iblearn.pairwise_mi(x, blocks=[[0, 99]])


def test_a_constant_column_is_named_as_a_column_of_data():
    x = _samples()
    x[:, 2] = 1.0
    with pytest.raises(ValueError, match=r"^data: column 2 is constant"):
        iblearn.pairwise_mi(x)
