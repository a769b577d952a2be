"""The time course of information across trials (iblearn.neuro): a planted coding window found, null
points quiet, each point's MI the Gaussian-copula MI of its column, names kept from MNE and xarray."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn import functional as ibf
from iblearn.functional.multivariate.inputs import copula_normal
from iblearn.neuro import mi_timecourse

torch.set_num_threads(1)


def _planted(seed: int, trials: int = 120, channels: int = 4, times: int = 100):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, trials)
    x = rng.normal(size=(trials, channels, times))
    x[:, 2, 40:60] += 1.5 * y[:, None]  # channel 2 codes the label from time 40 to 59
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_coding_window_is_found_and_the_rest_stays_quiet(seed: int) -> None:
    x, y = _planted(seed)
    res = mi_timecourse(x, y, n_permutations=200, seed=seed)
    p = np.asarray(res.p_value)
    assert res.labels and p.shape == (4, 100)
    assert (p[2, 40:60] < 0.05).all()
    outside = np.ones_like(p, dtype=bool)
    outside[2, 40:60] = False
    assert (p[outside] >= 0.05).all()


def _null_families(seeds: range, n_permutations: int) -> int:
    """How many of the pure-noise arrays (two targets each: labels, values) show a corrected p < 0.05."""
    hits = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(80, 6, 50))
        for target in (rng.integers(0, 3, 80), rng.normal(size=80)):
            p = np.asarray(mi_timecourse(x, target, n_permutations=n_permutations, seed=seed).p_value)
            hits += int(p.min() < 0.05)
    return hits


def test_pure_noise_stays_quiet_over_seeds() -> None:
    # The maximum statistic holds the family-wise error at 5%: of 20 noise families, about one
    # shows a p < 0.05 somewhere (3 or more: 7.5% under the binomial).
    assert _null_families(range(10), 100) <= 2


@pytest.mark.slow
def test_family_wise_error_is_near_its_level() -> None:
    rate = _null_families(range(200), 200) / 400
    assert 0.02 <= rate <= 0.085  # binomial(400, 0.05) within about 2.7 standard errors


def test_values_target_finds_its_window() -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(size=150)
    x = rng.normal(size=(150, 3, 40))
    x[:, 0, 10:20] += np.exp(y)[:, None]  # monotone in y: the copula sees it whole
    res = mi_timecourse(x, y, n_permutations=100)
    p = np.asarray(res.p_value)
    assert not res.labels
    assert (p[0, 10:20] < 0.05).all() and (np.delete(p.reshape(-1), np.arange(10, 20)) >= 0.05).all()


def test_each_point_is_the_copula_mi_of_its_column_with_values() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=60)
    x = rng.normal(size=(60, 2, 5)) + 0.7 * y[:, None, None] ** 3
    mi = np.asarray(mi_timecourse(x, y, n_permutations=0).mi)
    ys = copula_normal(torch.from_numpy(y[:, None]))
    for c, t in [(0, 0), (1, 3)]:
        col = copula_normal(torch.from_numpy(x[:, c, t][:, None]))
        assert mi[c, t] == pytest.approx(float(ibf.gaussian_mi(col, ys)), abs=1e-10)


def test_each_point_is_the_class_conditional_copula_mi_with_labels() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 90)
    x = rng.normal(size=(90, 2, 4)) + y[:, None, None] * np.array([0.0, 1.0])[None, :, None]
    mi = np.asarray(mi_timecourse(x, y, n_permutations=0).mi)
    for c, t in [(0, 1), (1, 2)]:
        z = copula_normal(torch.from_numpy(x[:, c, t][:, None]))[:, 0]
        # H(X) - sum_c p_c H(X | c), each a Gaussian entropy of the normal scores (ddof 1)
        whole = ibf.gaussian_entropy_from_cov(z.var().reshape(1, 1))
        parts = sum(
            (y == k).mean() * ibf.gaussian_entropy_from_cov(z[torch.from_numpy(y == k)].var().reshape(1, 1))
            for k in range(3)
        )
        assert mi[c, t] == pytest.approx(float(whole - parts), abs=1e-10)
    assert mi[1].min() > 2 * mi[0].max()


def test_text_labels_read_as_classes() -> None:
    x, y = _planted(0, trials=60, times=10)
    a = np.asarray(mi_timecourse(x, y, n_permutations=0).mi)
    b = np.asarray(mi_timecourse(x, np.array(["go", "stop"])[y], n_permutations=0).mi)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_permutations_are_seeded() -> None:
    x, y = _planted(0, trials=40, times=10)
    a = mi_timecourse(x, y, n_permutations=30, seed=5)
    b = mi_timecourse(x, y, n_permutations=30, seed=5)
    c = mi_timecourse(x, y, n_permutations=30, seed=6)
    np.testing.assert_array_equal(a.null_max, b.null_max)
    assert not np.array_equal(a.null_max, c.null_max)


def test_mne_epochs_keep_channel_names_and_times() -> None:
    mne = pytest.importorskip("mne")
    pytest.importorskip("xarray")
    x, y = _planted(0, trials=60, times=30)
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz"], 100.0, "eeg")
    epochs = mne.EpochsArray(x, info, tmin=-0.1, verbose="error")
    res = mi_timecourse(epochs, y, n_permutations=0)
    assert res.mi.dims == ("channel", "time") and res.mi.shape == (4, 30)
    assert list(res.mi["channel"].values) == ["Fz", "Cz", "Pz", "Oz"]
    np.testing.assert_allclose(res.mi["time"].values, epochs.times)
    np.testing.assert_allclose(
        res.mi.values, np.asarray(mi_timecourse(x, y, n_permutations=0).mi), atol=1e-12
    )


def test_xarray_in_any_order_keeps_names() -> None:
    xr = pytest.importorskip("xarray")
    x, y = _planted(0, trials=50, times=20)
    times = np.linspace(0.0, 0.19, 20)
    da = xr.DataArray(
        x, dims=("trial", "channel", "time"), coords={"channel": ["a", "b", "c", "d"], "time": times}
    )
    res = mi_timecourse(da.transpose("time", "trial", "channel"), y, n_permutations=0)
    assert list(res.mi["channel"].values) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(res.mi["time"].values, times)
    np.testing.assert_allclose(
        res.mi.values, np.asarray(mi_timecourse(x, y, n_permutations=0).mi), atol=1e-12
    )


@pytest.mark.parametrize(
    ("data", "target", "named"),
    [
        (np.zeros((10, 5)), np.zeros(10), "data"),
        (np.random.default_rng(0).normal(size=(10, 2, 3)), np.arange(9) % 2, "target"),
        (np.random.default_rng(0).normal(size=(10, 2, 3)), np.r_[np.zeros(9), 1], "target"),
        (np.random.default_rng(0).normal(size=(10, 2, 3)), np.ones((10, 2)) * 0.5, "target"),
    ],
)
def test_bad_input_names_the_argument(data: np.ndarray, target: np.ndarray, named: str) -> None:
    with pytest.raises(ValueError, match=f"^{named}:"):
        mi_timecourse(data, target, n_permutations=0)


def test_bad_settings_name_the_setting() -> None:
    x, y = _planted(0, trials=20, times=5)
    with pytest.raises(ValueError, match=r"^n_permutations:"):
        mi_timecourse(x, y, n_permutations=-1)
    with pytest.raises(ValueError, match=r"^method:"):
        mi_timecourse(x, y, method="ksg")  # type: ignore[arg-type]
