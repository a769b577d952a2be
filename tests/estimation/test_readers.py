"""Data as its users' libraries hold it, read at the front door: Polars frames and series, xarray
DataArrays, MNE Raw and Epochs and AnnData give the estimate of the same numbers as arrays, their
names kept; a missing extra is named; ``import iblearn`` imports none of these libraries."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from iblearn import estimate
from iblearn.estimation.libraries import require
from iblearn.estimation.reading import read_samples, read_trials, read_variable
from iblearn.functional import pairwise_mi

torch.set_num_threads(1)

NAMES = np.array(["cat", "dog", "eel"])
SRC = Path(__file__).resolve().parents[2] / "src" / "iblearn"


def _data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..2 and three columns of which the first two depend on them."""
    r = np.random.default_rng(seed)
    codes = r.integers(0, 3, n)
    x = r.normal(size=(n, 3))
    x[:, :2] += codes[:, None]
    return codes, x


def _same(a, b) -> None:
    assert float(a.value) == pytest.approx(float(b.value), abs=1e-12)


# ------------------------------------------------------------------------------------------ Polars ---
def test_a_polars_frame_reads_its_columns_with_their_names():
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    frame = pl.DataFrame(
        {
            "size": [1.5, 2.5, 0.5, 1.0],
            "kind": ["dog", "cat", "dog", "eel"],
            "level": pl.Series(["high", "low", "high", "mid"], dtype=pl.Enum(["low", "mid", "high"])),
            "flag": [True, False, True, True],
        }
    )
    values, names = read_samples(frame, "x")
    assert names == ["size", "kind", "level", "flag"]
    np.testing.assert_array_equal(values[:, 0], [1.5, 2.5, 0.5, 1.0])
    np.testing.assert_array_equal(values[:, 1], [1, 0, 1, 2])  # sorted names
    np.testing.assert_array_equal(values[:, 2], [2, 0, 2, 1])  # the Enum's own order
    np.testing.assert_array_equal(values[:, 3], [1, 0, 1, 1])
    labels_only = read_variable(frame.select("kind", "flag"), "x")
    assert labels_only.dtype == np.int64 and labels_only.shape == (4, 2)


def test_polars_inputs_give_the_estimate_of_their_numbers():
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    codes, x = _data()
    frame = pl.DataFrame(x, schema=["a", "b", "c"])
    _same(estimate("mi", frame, pl.Series("y", NAMES[codes])), estimate("mi", x, torch.from_numpy(codes)))
    categorical = pl.Series("y", NAMES[codes], dtype=pl.Categorical)
    _same(estimate("mi", x[:, 0], categorical), estimate("mi", x[:, 0], torch.from_numpy(codes)))
    ints = read_variable(pl.Series("y", codes), "y")
    assert ints.dtype.kind == "i"  # integer labels stay labels


def test_a_polars_column_with_a_missing_value_is_named():
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    with pytest.raises(ValueError, match=r"y: a missing value \(None\) at row 1"):
        read_variable(pl.Series("y", ["a", None, "b"]), "y")
    frame = pl.DataFrame({"level": pl.Series(["low", None], dtype=pl.Enum(["low", "high"]))})
    with pytest.raises(ValueError, match="x: column 'level': a missing value at row 1"):
        read_variable(frame, "x")


def test_a_lazy_polars_frame_is_refused_with_what_to_do():
    pl = pytest.importorskip("polars")
    with pytest.raises(ValueError, match=r"x: a Polars LazyFrame holds no rows until collected"):
        estimate("mi", pl.LazyFrame({"a": [1.0, 2.0]}), [1.0, 2.0])


def test_an_unnamed_polars_series_gives_no_name():
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    codes, x = _data()
    est = estimate("mi", pl.Series(x[:, 0]), pl.Series("kind", NAMES[codes]))
    assert est.names == {"y": ("kind",)}


def test_a_polars_frame_without_columns_is_refused_as_empty():
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    with pytest.raises(ValueError, match=r"^x: is empty, it has no columns"):
        estimate("mi", pl.DataFrame(), np.zeros(4))


# ------------------------------------------------------------------------------------------ xarray ---
def test_a_dataarray_reads_its_values_and_the_names_of_its_last_dimension():
    xr = pytest.importorskip("xarray")
    codes, x = _data()
    array = xr.DataArray(x, dims=("sample", "feature"), coords={"feature": ["a", "b", "c"]})
    values, names = read_samples(array, "x")
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(values, x)
    _same(estimate("mi", array, torch.from_numpy(codes)), estimate("mi", x, torch.from_numpy(codes)))
    assert read_samples(xr.DataArray(x[:, 0], dims=("sample",), name="lfp"), "x")[1] == ["lfp"]
    label = xr.DataArray(NAMES[codes], dims=("sample",))
    _same(estimate("mi", x, label), estimate("mi", x, torch.from_numpy(codes)))


def test_a_dataarray_of_two_dimensions_reads_its_samples_as_rows_whichever_comes_first():
    xr = pytest.importorskip("xarray")
    _, x = _data()
    array = xr.DataArray(x.T, dims=("feature", "sample"), coords={"feature": ["a", "b", "c"]})
    values, names = read_samples(array, "x")
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(values, x)


def test_an_xarray_dataset_is_refused_naming_its_variables():
    xr = pytest.importorskip("xarray")
    dataset = xr.Dataset({"lfp": ("time", np.zeros(5)), "spikes": ("time", np.ones(5))})
    with pytest.raises(ValueError, match=r"x: an xarray Dataset holds several variables \(lfp, spikes\)"):
        estimate("mi", dataset, np.zeros(5))


def test_a_dataarray_with_a_dimension_of_length_one_beside_time_and_channels_reads_without_it():
    xr = pytest.importorskip("xarray")
    data = np.random.default_rng(3).normal(size=(4, 3, 50))
    array = xr.DataArray(data, dims=("trial", "channel", "time"), coords={"channel": ["a", "b", "c"]})
    banded = array.expand_dims(band=["alpha"]).transpose("time", "band", "channel", "trial")
    values, names = read_samples(banded, "x")
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(values, np.concatenate([trial.T for trial in data]))
    trials, names = read_trials(banded, "data")
    assert len(trials) == 4 and names == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"^x: a DataArray's dimensions name time .* got dims \('band', "):
        read_samples(xr.concat([banded, banded], dim="band").transpose("band", ...), "x")


# --------------------------------------------------------------------------------------------- MNE ---
def _epochs(n_epochs: int = 4, n_times: int = 50):
    mne = pytest.importorskip("mne")
    data = np.random.default_rng(1).normal(size=(n_epochs, 3, n_times))
    info = mne.create_info(["Fz", "Cz", "Pz"], 100.0, "eeg")
    return mne, data, mne.EpochsArray(data, info, verbose="error")


def test_mne_raw_and_epochs_read_one_row_a_time_point_one_column_a_channel():
    mne, data, epochs = _epochs()
    values, names = read_samples(epochs, "x")
    assert names == ["Fz", "Cz", "Pz"] and values.shape == (4 * 50, 3)
    np.testing.assert_allclose(values[50:100], data[1].T)
    raw = mne.io.RawArray(data[0], epochs.info, verbose="error")
    values, names = read_samples(raw, "x")
    assert names == ["Fz", "Cz", "Pz"]
    np.testing.assert_allclose(values, data[0].T)
    y = data[0, 0] + np.random.default_rng(2).normal(size=50)
    _same(estimate("mi", raw, y), estimate("mi", data[0].T, y))


def test_epochs_not_loaded_read_without_their_dropped_epochs():
    mne, data, _ = _epochs()
    raw = mne.io.RawArray(np.hstack(list(data)), mne.create_info(["Fz", "Cz", "Pz"], 100.0, "eeg"))
    raw.set_annotations(mne.Annotations([0.6], [0.2], ["BAD_blink"]))
    events = mne.make_fixed_length_events(raw, duration=0.5)
    epochs = mne.Epochs(raw, events, tmin=0, tmax=0.49, baseline=None, preload=False, verbose="error")
    values, names = read_samples(epochs, "x")
    assert names == ["Fz", "Cz", "Pz"] and values.shape == (3 * 50, 3)  # the second epoch dropped
    np.testing.assert_allclose(values[50:], np.hstack([data[2], data[3]]).T)
    epochs.drop_bad(verbose="error")
    epochs.drop(list(range(len(epochs))), verbose="error")
    with pytest.raises(ValueError, match=r"^x: the Epochs hold no epoch \(all dropped; see its drop_log\)"):
        read_samples(epochs, "x")


def test_a_raw_is_read_without_its_spans_annotated_bad():
    mne, data, epochs = _epochs()
    raw = mne.io.RawArray(np.hstack(list(data)), epochs.info, verbose="error")
    raw.set_annotations(mne.Annotations([0.5, 1.5], [0.5, 0.5], ["BAD_blink", "BAD_muscle"]))
    values, _ = read_samples(raw, "x")
    np.testing.assert_allclose(values, np.hstack([data[0], data[2]]).T)
    trials, _ = read_trials(raw, "data")
    assert [len(t) for t in trials] == [50, 50]
    raw.set_annotations(mne.Annotations([0.0], [2.0], ["BAD_all"]))
    with pytest.raises(ValueError, match=r"^x: every sample lies in a span annotated bad"):
        read_samples(raw, "x")


def test_mne_data_with_no_channel_to_read_is_refused_naming_what_to_do():
    _, _, epochs = _epochs()
    epochs.info["bads"] = ["Fz", "Cz", "Pz"]
    with pytest.raises(
        ValueError, match=r"^x: has no data channel to read \(marked bad: Fz, Cz, Pz\); pass picks="
    ):
        estimate("mi", epochs, np.zeros(200))
    with pytest.raises(ValueError, match=r"^picks: "):
        read_samples(epochs, "x", picks=["Oz"])


# ----------------------------------------------------------------------------------------- AnnData ---
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_an_anndata_reads_cells_as_rows_and_genes_as_columns(sparse):
    anndata = pytest.importorskip("anndata")
    from scipy import sparse as sp

    codes, x = _data()
    counts = np.round(np.abs(x) * 3)
    adata = anndata.AnnData(sp.csr_matrix(counts) if sparse else counts)
    adata.var_names = ["Gata1", "Spi1", "Actb"]
    values, names = read_samples(adata, "x")
    assert names == ["Gata1", "Spi1", "Actb"]
    np.testing.assert_array_equal(values, counts)
    _same(estimate("mi", adata, NAMES[codes]), estimate("mi", counts, torch.from_numpy(codes)))
    with pytest.raises(ValueError, match=r"x: the AnnData holds no \.X"):
        read_samples(anndata.AnnData(obs=adata.obs), "x")


# -------------------------------------------------------------------------------- all pairs (numpy) ---
def test_pairwise_mi_takes_frames_and_dataarrays_through_their_arrays():
    pl = pytest.importorskip("polars")
    xr = pytest.importorskip("xarray")
    _, x = _data(200)
    expected = pairwise_mi(x)
    for given in (pl.DataFrame(x, schema=["a", "b", "c"]), xr.DataArray(x, dims=("sample", "gene"))):
        torch.testing.assert_close(pairwise_mi(given), expected, equal_nan=True)


# --------------------------------------------------------------------------------- missing extras ---
def test_a_missing_library_names_its_extra(monkeypatch):
    pl = pytest.importorskip("polars")
    monkeypatch.setitem(sys.modules, "narwhals", None)  # import narwhals now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'iblearn\[frames\]'"):
        read_variable(pl.Series("y", ["a", "b"]), "y")
    monkeypatch.setitem(sys.modules, "mne", None)
    with pytest.raises(ImportError, match=r"^x: reading a thing needs mne: pip install 'iblearn\[neuro\]'$"):
        require("mne", "x: reading a thing")


def test_no_module_of_iblearn_imports_the_libraries_when_it_is_imported():
    """Each library is imported in a function, when an object of it arrives: never at a module's top."""
    libraries = {"mne", "xarray", "anndata", "polars", "narwhals", "pyarrow"}
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            found += [f"{path.name}: {m}" for m in modules if m.split(".")[0] in libraries]
    assert not found


def test_a_missing_number_in_a_frame_is_named_by_its_column_and_row():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    from iblearn.network import infer_network

    x = np.random.default_rng(0).standard_normal((60, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame.loc[5, "b"] = np.nan
    with pytest.raises(
        ValueError, match=r"^x: column 'b': a missing value \(NaN\) at row 5; drop or fill it"
    ):
        estimate("mi", frame, x[:, 0])
    with pytest.raises(ValueError, match=r"^target: a missing value \(NaN\) at row 5"):
        estimate("te", frame["a"], frame["b"])
    nulls = pl.DataFrame(x, schema=["a", "b", "c"]).with_columns(
        pl.when(pl.int_range(60) == 5).then(None).otherwise(pl.col("c")).alias("c")
    )
    with pytest.raises(ValueError, match=r"^data: column 'c': a missing value \(NaN or null\) at row 5"):
        infer_network(nulls, max_lag=1)


def test_a_frames_time_stamps_are_refused_as_a_process_naming_the_column():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"Time": np.arange(200) / 100, "a": rng.standard_normal(200)})
    with pytest.raises(ValueError, match=r"^data: column 'Time' holds time stamps"):
        read_trials(frame)
    with pytest.raises(ValueError, match=r"^data\[1\]: column 'Time' holds time stamps"):
        read_trials([frame.iloc[:1].assign(Time=[5.0]), frame.iloc[100:]])
    # A process that happens to be named t, which does not only increase, stays a process.
    values, names = read_trials(frame.assign(Time=rng.standard_normal(200)).rename(columns={"Time": "t"}))
    assert names == ["t", "a"] and values.shape == (200, 2)
