"""The selector on an AnnData, an MNE object and an xarray DataArray, read through the conversion layer:
the selection of the bare array, the genes' or channels' names in ``feature_names_in_`` and
``get_feature_names_out()``, and ``transform`` taking the same object."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.sklearn import MIFeatureSelector
from tests.sklearn.conftest import signal_and_echo

torch.set_num_threads(1)

NAMES = ["Gata1", "Spi1", "Actb", "Cd19"]


def _check(given, x: np.ndarray, y: np.ndarray) -> None:
    reference = MIFeatureSelector(2).fit(x, y)
    selector = MIFeatureSelector(2).fit(given, y)
    np.testing.assert_array_equal(selector.selected_, reference.selected_)
    assert list(selector.feature_names_in_) == NAMES
    kept = sorted(reference.selected_)
    assert list(selector.get_feature_names_out()) == [NAMES[j] for j in kept]
    np.testing.assert_array_equal(np.asarray(selector.transform(given)), x[:, kept])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_an_anndata_selects_genes_by_name(sparse):
    anndata = pytest.importorskip("anndata")
    from scipy import sparse as sp

    x, y = signal_and_echo()
    adata = anndata.AnnData(sp.csr_matrix(x) if sparse else x)
    adata.var_names = NAMES
    _check(adata, x, y)


def test_mne_raw_and_a_dataarray_select_channels_by_name():
    mne = pytest.importorskip("mne")
    xr = pytest.importorskip("xarray")
    x, y = signal_and_echo()
    raw = mne.io.RawArray(x.T, mne.create_info(NAMES, 100.0, "eeg"), verbose="error")
    _check(raw, x, y)
    _check(xr.DataArray(x.T, dims=("channel", "time"), coords={"channel": NAMES}), x, y)
