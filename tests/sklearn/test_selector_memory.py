"""The selector's memory holds arrays of numbers that cannot run code: a tampered file in the folder is
never unpickled, and the terms are estimated afresh. ``memory`` naming a file is refused by name, and
so is ``k``, which scikit-learn users read as a number of features (the neighbours are n_neighbors)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import joblib  # type: ignore[import-untyped]
import numpy as np
import pytest
import torch
from sklearn.datasets import make_friedman1

from iblearn.sklearn import MIFeatureSelector
from iblearn.sklearn._cache import SUBFOLDER

torch.set_num_threads(1)


class _Payload:
    """A pickle that makes the folder ``marker`` when loaded: code run from a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _data():
    return make_friedman1(n_samples=120, n_features=6, random_state=0)


@pytest.mark.parametrize("method", ["mrmr", "jmi"])
def test_a_tampered_memory_runs_no_code_and_is_estimated_afresh(method, tmp_path):
    X, y = _data()
    fresh = MIFeatureSelector(4, method=method).fit(X, y)
    memory = tmp_path / "memory"
    MIFeatureSelector(4, method=method, memory=memory).fit(X, y)
    files = sorted((memory / SUBFOLDER).glob("*.npy"))
    assert files
    marker = tmp_path / "ran"
    for i, file in enumerate(files):
        if i % 2:  # a plain pickle under the array's name
            file.write_bytes(pickle.dumps(_Payload(marker)))
        else:  # an .npy file whose array of objects is a pickle
            np.save(file, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    # and a file where joblib.Memory would look
    (memory / "joblib").mkdir()
    (memory / "joblib" / "output.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    again = MIFeatureSelector(4, method=method, memory=memory).fit(X, y)
    assert not marker.exists()
    assert again.selected_.tolist() == fresh.selected_.tolist()
    np.testing.assert_array_equal(again.scores_, fresh.scores_)
    for file in files:  # replaced by arrays of numbers
        assert np.load(file, allow_pickle=False).dtype == np.float64


def test_a_truncated_or_misshapen_file_is_estimated_afresh(tmp_path):
    X, y = _data()
    fresh = MIFeatureSelector(3).fit(X, y)
    MIFeatureSelector(3, memory=tmp_path).fit(X, y)
    files = sorted((tmp_path / SUBFOLDER).glob("*.npy"))
    files[0].write_bytes(files[0].read_bytes()[:20])
    np.save(files[-1], np.zeros(99))
    again = MIFeatureSelector(3, memory=tmp_path).fit(X, y)
    np.testing.assert_array_equal(again.relevance_, fresh.relevance_)
    assert again.selected_.tolist() == fresh.selected_.tolist()


def test_a_joblib_memory_names_the_folder(tmp_path):
    X, y = _data()
    selector = MIFeatureSelector(3, memory=joblib.Memory(tmp_path, verbose=0)).fit(X, y)
    assert list((tmp_path / SUBFOLDER).glob("*.npy"))
    assert selector.selected_.tolist() == MIFeatureSelector(3).fit(X, y).selected_.tolist()


@pytest.mark.parametrize("memory", ["file", 3.5])
def test_a_memory_that_is_no_folder_is_refused_by_name(memory, tmp_path):
    if memory == "file":
        memory = tmp_path / "a-file"
        memory.write_text("not a folder")
    X, y = _data()
    with pytest.raises(ValueError, match="memory: "):
        MIFeatureSelector(3, memory=memory).fit(X, y)


@pytest.mark.parametrize("k", [5, 3])
def test_k_is_refused_naming_both_settings(k):
    X, y = _data()
    selector = MIFeatureSelector(k=k)
    with pytest.raises(ValueError, match=r"k: .*n_features_to_select.*n_neighbors"):
        selector.fit(X, y)


def test_n_neighbors_are_the_neighbours():
    X, y = _data()
    three = MIFeatureSelector(3).fit(X, y)
    assert MIFeatureSelector(3, n_neighbors=3).fit(X, y).scores_.tolist() == three.scores_.tolist()
    assert MIFeatureSelector(3, n_neighbors=6).fit(X, y).scores_.tolist() != three.scores_.tolist()
    assert "n_neighbors" in MIFeatureSelector().get_params()
