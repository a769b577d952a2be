"""Transfer entropy and active information storage across trials: each trial embedded alone (no lag
crosses a trial boundary), the embedded rows pooled, and trials read from a list of 1-D arrays, a
DataArray with a trial dimension and an MNE Epochs alike."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import iblearn
from iblearn import functional as ibf
from iblearn.functional.information_dynamics import NULLS, active_information_storage, transfer_entropy
from iblearn.functional.serial import trial_blocks

torch.set_num_threads(1)

#: x iid N(0, 1), y_t = 0.5 y_{t-1} + 0.6 x_{t-1} + e_t: the source's past explains 0.36 of the
#: target's present beside its own past, whose residual variance is 1.
TRUTH = 0.5 * math.log(1.36)


def _var(trials: int = 30, steps: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((trials, steps))
    y = np.zeros((trials, steps))
    y[:, 0] = rng.standard_normal(trials) * math.sqrt(1.36 / 0.75)  # the stationary spread
    for t in range(1, steps):
        y[:, t] = 0.5 * y[:, t - 1] + 0.6 * x[:, t - 1] + rng.standard_normal(trials)
    return x, y


def _by_hand(x: np.ndarray, y: np.ndarray) -> float:
    """The Gaussian conditional MI I(y_t; x_{t-1} | y_{t-1}) on the rows of every trial stacked."""
    present = torch.from_numpy(y[:, 1:].reshape(-1, 1))
    source = torch.from_numpy(x[:, :-1].reshape(-1, 1))
    past = torch.from_numpy(y[:, :-1].reshape(-1, 1))
    return float(ibf.gaussian_cmi(present, source, past))


def test_pooled_gaussian_estimate_is_that_of_the_stacked_embedded_rows() -> None:
    x, y = _var()
    expected = _by_hand(x, y)
    for method in ("gaussian", "auto"):
        est = iblearn.estimate("te", list(x), list(y), method=method)
        assert est.n_samples == 30 * 99
        assert float(est) == pytest.approx(expected, rel=1e-9)
    assert float(transfer_entropy(list(x), list(y), method="gaussian")) == pytest.approx(expected, rel=1e-9)


def test_trials_joined_end_to_end_with_a_jump_read_differently_but_trials_do_not() -> None:
    x, y = _var()
    # A jump between trials: a source value at each trial's end, which joined end to end becomes the
    # source's past of the next trial's first row; lag 1 within a trial never reads it.
    jumped = x.copy()
    jumped[:, -1] += 1e3
    trials = iblearn.estimate("te", list(jumped), list(y), method="gaussian")
    assert float(trials) == pytest.approx(_by_hand(x, y), rel=1e-9)
    joined = iblearn.estimate("te", jumped.reshape(-1), y.reshape(-1), method="gaussian")
    assert abs(float(joined) - float(trials)) > 0.01
    # One level added to every trial changes nothing.
    shifted = iblearn.estimate("te", list(x + 7.0), list(y - 3.0), method="gaussian")
    assert float(shifted) == pytest.approx(_by_hand(x, y), rel=1e-9)


def test_local_values_are_those_of_every_embedded_row_trials_in_order() -> None:
    x, y = _var()
    rows = transfer_entropy(list(x), list(y), method="gaussian", local=True)
    assert rows.shape == (30 * 99,)
    assert float(rows.mean()) == pytest.approx(_by_hand(x, y), rel=1e-9)
    first = transfer_entropy(list(x), list(y), method="ksg", local=True)
    assert first.shape == (30 * 99,) and float(first.mean()) == pytest.approx(
        float(transfer_entropy(list(x), list(y), method="ksg")), rel=1e-9
    )


def test_thirty_trials_estimate_the_closed_form_with_an_interval() -> None:
    x, y = _var()
    est = iblearn.estimate("te", list(x), list(y))
    assert est.report.chosen == "gaussian" and est.report.features["trials"] == 30
    assert est.interval[0] < TRUTH < est.interval[1]
    assert abs(float(est) - TRUTH) < 0.03
    assert "30 trials" in est.report.why


def test_copula_and_ksg_read_trials() -> None:
    x, y = _var(trials=15, steps=80)
    for method in ("copula", "ksg"):
        est = iblearn.estimate("te", list(x), list(y), method=method, n_resamples=4)
        assert est.n_samples == 15 * 79 and abs(float(est) - TRUTH) < 0.08
        assert est.interval is not None


def test_ais_of_trials_is_that_of_the_stacked_rows() -> None:
    _, y = _var()
    present, past = torch.from_numpy(y[:, 1:].reshape(-1, 1)), torch.from_numpy(y[:, :-1].reshape(-1, 1))
    est = active_information_storage(list(y), method="gaussian", n_resamples=10, n_permutations=10)
    assert est.n_samples == 30 * 99 and est.interval is not None and est.p_value is not None
    assert float(est) == pytest.approx(float(ibf.gaussian_mi(present, past)), rel=1e-9)
    auto = iblearn.estimate("ais", list(y))
    assert auto.report.features["trials"] == 30 and float(auto) == pytest.approx(float(est), rel=1e-9)
    # y is an AR(1) of coefficient 0.5 (x enters as noise): its storage is -1/2 log(1 - 0.25).
    assert auto.interval[0] < -0.5 * math.log(0.75) < auto.interval[1]


def test_named_methods_of_trials_take_a_p_value_against_either_null() -> None:
    x, y = _var()
    for method in ("ksg", "gaussian", "copula"):
        est = iblearn.estimate("te", list(x), list(y), method=method, n_permutations=19)
        assert est.p_value <= 2 / 20 and est.n_permutations == 19 and est.null == NULLS["trials"]
    shifted = iblearn.estimate("te", list(x), list(y), method="gaussian", n_permutations=19, null="shift")
    assert shifted.p_value <= 2 / 20 and shifted.null == NULLS["shift"]
    # The source from other trials: no transfer, and the same p-value from the same seed.
    other = list(np.roll(x, 1, axis=0))
    again = [
        iblearn.estimate("te", other, list(y), method="gaussian", n_permutations=39, seed=3).p_value
        for _ in range(2)
    ]
    assert again[0] == again[1] and again[0] > 0.1
    given = iblearn.estimate("te", list(x), list(y), method="gaussian", condition=list(x), n_permutations=9)
    assert given.p_value is not None and given.null == NULLS["trials"]
    stored = iblearn.estimate("ais", list(y), method="ksg", n_permutations=19)
    assert stored.p_value <= 2 / 20 and stored.null == NULLS["trials"]
    stored = iblearn.estimate("ais", list(y), method="gaussian", n_permutations=19, null="shift")
    assert stored.p_value <= 2 / 20 and stored.null == NULLS["shift"]


def test_one_series_takes_a_p_value_by_every_named_method() -> None:
    x, y = _var(trials=1, steps=1000)
    for method in ("gaussian", "copula"):
        est = iblearn.estimate("te", x[0], y[0], method=method, n_permutations=19)
        assert est.p_value <= 2 / 20 and est.null == NULLS["shift"]
    with pytest.raises(ValueError, match=r"^null: 'trials' .*one series"):
        iblearn.estimate("te", x[0], y[0], method="gaussian", n_permutations=19, null="trials")
    # KSG of one series keeps its own nulls, the local permutation by default.
    assert "locally" in iblearn.estimate("te", x[0], y[0], method="ksg", n_permutations=9).null


def test_trials_of_unequal_lengths_are_not_permuted() -> None:
    x, y = _var(trials=12, steps=60)
    uneven_x, uneven_y = list(x), list(y)
    uneven_x[3], uneven_y[3] = x[3][:-5], y[3][:-5]
    with pytest.raises(ValueError, match=r"^null: 'trials' .*one length"):
        iblearn.estimate("te", uneven_x, uneven_y, method="ksg", n_permutations=9, null="trials")
    with pytest.raises(ValueError, match=r"^null: 'trials' .*one length"):
        iblearn.estimate("ais", uneven_y, method="gaussian", n_permutations=9, null="trials")
    est = iblearn.estimate("te", uneven_x, uneven_y, method="gaussian", n_permutations=9)
    assert est.null == NULLS["shift"]


def test_xarray_and_epochs_read_as_the_list_of_arrays() -> None:
    xr = pytest.importorskip("xarray")
    x, y = _var(trials=12, steps=60)
    listed = iblearn.estimate("te", list(x), list(y), method="gaussian", n_resamples=10)
    da = xr.DataArray(np.stack([x, y], 1), dims=("trial", "channel", "time"), coords={"channel": ["x", "y"]})
    for source, target in [
        (da.sel(channel="x"), da.sel(channel="y")),  # (trial, time)
        (da.sel(channel=["x"]), da.sel(channel=["y"])),  # a channel dimension of length 1
        (da.sel(channel="x").transpose("time", "trial"), da.sel(channel="y")),
    ]:
        est = iblearn.estimate("te", source, target, method="gaussian", n_resamples=10)
        assert float(est) == pytest.approx(float(listed), rel=1e-12)
        assert est.interval == pytest.approx(listed.interval, rel=1e-12)
        assert est.report.names == {"source": ("x",), "target": ("y",)}
    ais = iblearn.estimate("ais", da.sel(channel="y"), method="gaussian")
    assert float(ais) == pytest.approx(float(iblearn.estimate("ais", list(y), method="gaussian")), rel=1e-12)
    mne = pytest.importorskip("mne")
    info = mne.create_info(["x"], 100.0, "eeg")
    sx = mne.EpochsArray(x[:, None, :], info, verbose="error")
    sy = mne.EpochsArray(y[:, None, :], mne.create_info(["y"], 100.0, "eeg"), verbose="error")
    est = iblearn.estimate("te", sx, sy, method="gaussian", n_resamples=10)
    assert float(est) == pytest.approx(float(listed), rel=1e-9)


def test_mismatched_trials_are_refused_naming_the_argument() -> None:
    x, y = _var(trials=12, steps=60)
    with pytest.raises(ValueError, match=r"^target: 11 trial"):
        iblearn.estimate("te", list(x), list(y[:-1]))
    with pytest.raises(ValueError, match=r"^target: trial 3 has 59 steps"):
        iblearn.estimate("te", list(x), [t if r != 3 else t[:-1] for r, t in enumerate(y)])
    with pytest.raises(ValueError, match=r"^target: source holds 12 trials"):
        iblearn.estimate("te", list(x), y.reshape(-1))
    with pytest.raises(ValueError, match=r"^condition: 11 trial"):
        iblearn.estimate("te", list(x), list(y), condition=list(x[:-1]))
    with pytest.raises(ValueError, match=r"^source: 12 trial"):
        transfer_entropy(list(x), list(y[:-1]), method="gaussian")
    wide = [t if r != 11 else np.c_[t, t] for r, t in enumerate(x)]  # numpy's own error named no argument
    with pytest.raises(ValueError, match=r"^source\[11\]: has 2 column\(s\), but source\[0\] has 1"):
        iblearn.estimate("te", wide, list(y))
    with pytest.raises(ValueError, match=r"^series\[11\]: has 2 column"):
        iblearn.estimate("ais", wide, method="gaussian")
    xr = pytest.importorskip("xarray")
    da = xr.DataArray(np.stack([x, y], 1), dims=("trial", "channel", "time"))
    with pytest.raises(ValueError, match=r"^source: a DataArray of 2 processes along 'channel'"):
        iblearn.estimate("te", da, da.isel(channel=1))


def test_conditional_te_of_trials_pools_the_condition() -> None:
    x, y = _var(trials=12, steps=80)
    est = iblearn.estimate("te", list(x), list(y), method="gaussian", condition=list(x))
    assert est.n_samples == 12 * 79 and float(est) >= 0.0


def test_one_trial_reads_as_one_series() -> None:
    x, y = _var(trials=1, steps=400)
    one = iblearn.estimate("te", [x[0]], [y[0]], method="gaussian", n_resamples=10)
    series = iblearn.estimate("te", x[0], y[0], method="gaussian", n_resamples=10)
    assert float(one) == float(series) and one.interval == series.interval


def test_trial_blocks_never_straddle_trials() -> None:
    assert trial_blocks([50], 7) is None
    blocks = trial_blocks([10, 12, 9], 4)
    assert blocks is not None and [len(b) for b in blocks] == [4, 4, 2, 4, 4, 4, 4, 4, 1]
    cuts = {0, 10, 22}
    assert all(not any(int(b[0]) < c <= int(b[-1]) for c in cuts) for b in blocks)
    whole = trial_blocks([5] * 10, 3)
    assert whole is not None and len(whole) == 10 and [int(b[0]) for b in whole] == list(range(0, 50, 5))


def test_a_raw_with_spans_annotated_bad_reads_its_stretches_between_them_as_trials() -> None:
    """A recording cut by bad spans: the stretches between them are its trials, so no lag reaches
    across a gap; a Raw with no bad span is one series."""
    mne = pytest.importorskip("mne")
    x, y = _var(trials=3, steps=200)
    gap = np.zeros((2, 50))  # the samples a bad span covers, read by no one
    data = np.concatenate(
        [np.stack([x[0], y[0]]), gap, np.stack([x[1], y[1]]), gap, np.stack([x[2], y[2]])], 1
    )
    raw = mne.io.RawArray(data, mne.create_info(["x", "y"], 100.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([2.0, 4.5], [0.5, 0.5], ["BAD_jump", "BAD_jump"]))
    est = iblearn.estimate("te", raw.copy().pick(["x"]), raw.copy().pick(["y"]), method="gaussian")
    listed = iblearn.estimate("te", list(x), list(y), method="gaussian")
    assert float(est) == pytest.approx(float(listed), rel=1e-12) and est.n_samples == 3 * 199
    raw.set_annotations(None)
    whole = iblearn.estimate("te", raw.copy().pick(["x"]), raw.copy().pick(["y"]), method="gaussian")
    assert whole.n_samples == data.shape[1] - 1


def test_the_automatic_path_of_trials_tests_against_either_null() -> None:
    x, y = _var(trials=20, steps=80)
    auto = iblearn.estimate("te", list(x), list(y))
    tested = iblearn.estimate("te", list(x), list(y), n_permutations=19, null="trials")
    assert tested.report.chosen == auto.report.chosen and float(tested) == float(auto)
    assert tested.interval == auto.interval and tested.reliable == auto.reliable
    assert tested.p_value <= 2 / 20 and tested.null == NULLS["trials"]
    assert iblearn.estimate("te", list(x), list(y), n_permutations=19).null == NULLS["trials"]
    shifted = iblearn.estimate("te", list(x), list(y), n_permutations=19, null="shift")
    assert shifted.p_value <= 2 / 20 and shifted.null == NULLS["shift"]
    other = iblearn.estimate("te", list(np.roll(x, 1, axis=0)), list(y), n_permutations=19, seed=3)
    assert other.p_value > 0.1  # the source from other trials: no transfer
    stored = iblearn.estimate("ais", list(y), n_permutations=19)
    assert stored.p_value <= 2 / 20 and stored.null == NULLS["trials"]
    assert float(stored) == float(iblearn.estimate("ais", list(y)))
    with pytest.raises(ValueError, match=r"^null: 'trials' .*orders"):
        iblearn.estimate("te", list(x[:3]), list(y[:3]), n_permutations=19, null="trials")
