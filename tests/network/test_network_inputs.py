"""infer_network on data as its users hold it: MNE Epochs and Raw (channels by ``picks``), xarray
DataArrays with named dimensions in any order, pandas and Polars frames; the processes' names kept in
the result and in ``to_pandas()``; the same network as from the bare arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.network import infer_network

torch.set_num_threads(1)

CHANNELS = ["Fz", "Cz", "Pz"]
FAST = dict(max_lag=3, method="gaussian", n_permutations=80, seed=0)


def _trials(n_trials: int = 6, n_times: int = 120) -> np.ndarray:
    """``(trial, channel, time)``: channel 0 drives channel 1 two steps later, channel 2 alone."""
    data = np.random.default_rng(3).normal(size=(n_trials, 3, n_times))
    data[:, 1, 2:] += 0.8 * data[:, 0, :-2]
    return data


def _reference(data: np.ndarray):
    """The network from the bare arrays: a list of ``(time, channel)`` trials."""
    return infer_network([trial.T for trial in data], **FAST)


def _same_network(result, reference) -> None:
    assert result.edges == reference.edges == [(0, 1, 2)]
    for edge, (te, p) in reference.edge_te.items():
        assert result.edge_te[edge][0] == pytest.approx(te, rel=1e-9)
        assert result.edge_te[edge][1] == p


def test_mne_epochs_give_the_network_of_their_trials_with_the_channel_names():
    mne = pytest.importorskip("mne")
    data = _trials()
    epochs = mne.EpochsArray(data, mne.create_info(CHANNELS, 100.0, "eeg"), verbose="error")
    result = infer_network(epochs, **FAST)
    _same_network(result, _reference(data))
    assert result.names == tuple(CHANNELS)
    picked = infer_network(epochs, picks=["Fz", "Cz"], **FAST)
    assert picked.names == ("Fz", "Cz") and picked.edges == [(0, 1, 2)]


def test_an_mne_raw_is_one_trial_and_its_bad_channels_are_left_out():
    mne = pytest.importorskip("mne")
    data = _trials(1, 500)[0]
    info = mne.create_info([*CHANNELS, "bad"], 100.0, "eeg")
    raw = mne.io.RawArray(np.vstack([data, data[2:]]), info, verbose="error")
    raw.info["bads"] = ["bad"]
    result = infer_network(raw, **FAST)
    assert result.names == tuple(CHANNELS)
    _same_network(result, infer_network(data.T, **FAST))


def test_an_mne_raw_cut_by_spans_annotated_bad_gives_the_network_of_the_stretches_between():
    mne = pytest.importorskip("mne")
    data = _trials(2, 300)
    gap = np.random.default_rng(4).normal(scale=50.0, size=(3, 100))  # an artefact, annotated bad
    recording = np.hstack([data[0][:, :5], gap[:, :5], data[0], gap, data[1]])
    raw = mne.io.RawArray(recording, mne.create_info(CHANNELS, 100.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.05, 3.1], [0.05, 1.0], ["BAD_blink", "BAD_movement"]))
    result = infer_network(raw, **FAST)  # the 5-sample stretch at the start is too short to embed
    _same_network(result, _reference(data))


@pytest.mark.parametrize(
    "dims",
    [("trial", "channel", "time"), ("time", "trial", "channel"), ("channel", "time", "epoch")],
    ids=lambda d: "-".join(d),
)
def test_a_dataarray_in_any_order_of_its_dimensions_gives_the_same_network(dims):
    xr = pytest.importorskip("xarray")
    data = _trials()
    trial = "epoch" if "epoch" in dims else "trial"
    array = xr.DataArray(data, dims=(trial, "channel", "time"), coords={"channel": CHANNELS})
    result = infer_network(array.transpose(*dims), **FAST)
    _same_network(result, _reference(data))
    assert result.names == tuple(CHANNELS)


def test_a_two_dimensional_dataarray_is_one_trial():
    xr = pytest.importorskip("xarray")
    data = _trials(1, 500)[0]
    array = xr.DataArray(data, dims=("process", "time"))  # no coordinate: no names
    result = infer_network(array, **FAST)
    assert result.names is None
    _same_network(result, infer_network(data.T, **FAST))


def test_a_dataarray_whose_dimensions_say_nothing_is_refused_naming_them():
    xr = pytest.importorskip("xarray")
    array = xr.DataArray(_trials(), dims=("trial", "sensor", "time"))
    with pytest.raises(
        ValueError,
        match=r"data: a DataArray's dimensions name time .* got dims \('trial', 'sensor', 'time'\)",
    ):
        infer_network(array, **FAST)


def test_picks_is_refused_for_data_that_is_not_mne():
    with pytest.raises(ValueError, match="picks: selects the channels of an MNE Raw or Epochs"):
        infer_network(_trials(1, 200)[0].T, picks=["Fz"], **FAST)


def test_frames_give_their_column_names():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    data = _trials(1, 500)[0].T
    reference = infer_network(data, **FAST)
    for frame in (pd.DataFrame(data, columns=CHANNELS), pl.DataFrame(data, schema=CHANNELS)):
        result = infer_network(frame, **FAST)
        assert result.names == tuple(CHANNELS)
        _same_network(result, reference)
    trials = [pd.DataFrame(t.T, columns=CHANNELS) for t in _trials()]
    assert infer_network(trials, **FAST).names == tuple(CHANNELS)
    trials[1].columns = ["a", "b", "c"]
    with pytest.raises(ValueError, match="data: the trials name their processes differently"):
        infer_network(trials, **FAST)


def test_to_pandas_lists_the_edges_by_name_and_by_index_without_names():
    pd = pytest.importorskip("pandas")
    data = _trials(1, 500)[0].T
    named = infer_network(pd.DataFrame(data, columns=CHANNELS), **FAST)
    table = named.to_pandas()
    assert list(table.columns) == ["source", "target", "lag", "te", "p_value"]
    assert table[["source", "target", "lag"]].values.tolist() == [["Fz", "Cz", 2]]
    te, p = named.edge_te[(0, 1, 2)]
    assert table["te"].iloc[0] == pytest.approx(te) and table["p_value"].iloc[0] == pytest.approx(p)
    assert repr(named).startswith("NetworkResult(3 processes, 1 edges: Fz->Cz lag 2")
    assert named.summary().splitlines()[3].split()[:3] == ["Fz", "Cz", "2"]
    bare = infer_network(data, **FAST)
    assert bare.names is None
    assert bare.to_pandas()[["source", "target", "lag"]].values.tolist() == [[0, 1, 2]]


def test_a_planted_network_is_recovered_from_an_epochs_array():
    """Five channels, twenty epochs of 200 samples, a VAR with memory 0.4 and two couplings."""
    mne = pytest.importorskip("mne")
    data = np.random.default_rng(0).normal(size=(20, 5, 200))
    for t in range(3, 200):
        data[:, :, t] += 0.4 * data[:, :, t - 1]
        data[:, 2, t] += 0.6 * data[:, 0, t - 2]  # O1 -> Pz, lag 2
        data[:, 4, t] += 0.6 * data[:, 3, t - 3]  # Cz -> Fz, lag 3
    names = ["O1", "O2", "Pz", "Cz", "Fz"]
    epochs = mne.EpochsArray(data, mne.create_info(names, 250.0, "eeg"), verbose="error")
    result = infer_network(epochs, max_lag=5)
    assert result.settings["method"] == "gaussian"
    table = result.to_pandas()
    assert table[["source", "target", "lag"]].values.tolist() == [["O1", "Pz", 2], ["Cz", "Fz", 3]]
