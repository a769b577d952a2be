"""Network inference with surrogates drawn afresh from each trial against the values of fixed-seed runs: the
edges, TE and p-values of a Gaussian run and of a KSG target, the surrogates' estimates and series.
Any change to how the surrogates are drawn, fitted, laid out or kept moves some of them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from iblearn.functional import cmi_surrogates
from iblearn.functional.cmi_surrogates import (
    KSGCMI,
    GaussianCMI,
    condition,
    phase_randomised,
    renewed,
    surrogates,
)
from iblearn.network import infer_network
from iblearn.network.embedding import embed
from iblearn.network.simulate import random_var_network
from iblearn.network.target import Settings, TargetResult, _Search, infer_target

GAUSSIAN = [
    {
        "target": 0,
        "past": (2, 1),
        "sources": ((2, 1), (3, 1)),
        "te": (0.27003160441477125, 0.12934707432945786),
        "p_values": (0.009900990099009901, 0.009900990099009901),
        "omnibus_te": 0.3499122062235164,
        "omnibus_p": 0.009900990099009901,
    },
    {"target": 1, "past": (1,), "sources": (), "te": (), "p_values": (), "omnibus_te": 0.0, "omnibus_p": 1.0},
    {
        "target": 2,
        "past": (1, 2),
        "sources": ((1, 1), (3, 1), (0, 1)),
        "te": (0.16133476065457286, 0.11902574641797986, 0.07257904668081369),
        "p_values": (0.009900990099009901, 0.009900990099009901, 0.009900990099009901),
        "omnibus_te": 0.2892325869898272,
        "omnibus_p": 0.009900990099009901,
    },
    {
        "target": 3,
        "past": (2, 1),
        "sources": ((0, 1), (2, 1)),
        "te": (0.14895672294155224, 0.11531469268447128),
        "p_values": (0.009900990099009901, 0.009900990099009901),
        "omnibus_te": 0.20985763904104018,
        "omnibus_p": 0.009900990099009901,
    },
]
KSG = {
    "target": 2,
    "past": (1, 2),
    "sources": ((1, 1), (3, 1), (0, 1)),
    "te": (0.15564788014369088, 0.12682044300085155, 0.059902084331147486),
    "p_values": (0.024390243902439025, 0.024390243902439025, 0.024390243902439025),
    "omnibus_te": 0.19672246618719003,
    "omnibus_p": 0.024390243902439025,
}
SURR_GAUSSIAN = [
    0.0064158514643738816,
    1.3564728897295778e-05,
    0.0025672271503234816,
    5.961363301638522e-06,
    0.0037277262449896833,
    0.000619060729629196,
    0.0011636227142012596,
    0.00581864536404737,
    0.005707006915557123,
    0.0023316563085236356,
    0.00021958767965597273,
    0.0007196875840470409,
]
SURR_KSG = [
    -0.029867691748018114,
    0.033985639763721126,
    -0.014149296889503225,
    0.025694382225173677,
    0.02092367406956145,
    0.013421448611765936,
]
SURR_JOINT = [
    0.007381877395420021,
    6.608348856579861e-05,
    0.0029820033971647017,
    0.009807751508330097,
    0.004551547737386644,
    0.0022875803820833927,
]
RENEWED = [
    [-1.2832654255653921, -0.29532596727228566, 0.030183815168477457, -0.6649801044064249],
    [0.5046359456819219, -1.3466938560529507, 0.12954099532682578, -0.7192635726623597],
]
PHASES = [
    [-0.539279181916243, -1.835069069155385, -0.33081855967942836, -0.7085832988652384],
    [1.3077599359888434, -0.4812922402012244, 0.7817922471933584, -0.5835618074893325],
]


@pytest.fixture(scope="module")
def trials() -> list[np.ndarray]:
    data = random_var_network(4, 300, seed=1, nonlinear=1).data
    return [data[:160], data[160:]]  # trials of two lengths: surrogates drawn afresh from each


def _same(result: TargetResult, expected: dict) -> None:
    got = result.to_json()
    for name in ("target", "past", "sources", "p_values", "omnibus_p"):
        assert got[name] == expected[name], name
    assert np.allclose(got["te"], expected["te"], rtol=1e-12, atol=0)
    assert got["omnibus_te"] == pytest.approx(expected["omnibus_te"], rel=1e-12, abs=0)


def test_a_gaussian_run_gives_its_fixed_values(trials):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = infer_network(trials, method="gaussian", max_lag=2, n_permutations=100, seed=3)
    assert result.settings["surrogates"] == "autoregressive"
    assert len(result.targets) == len(GAUSSIAN)
    for got, expected in zip(result.targets, GAUSSIAN, strict=True):
        _same(got, expected)


def test_a_ksg_target_gives_its_fixed_values(trials):
    emb = embed(trials, 2)
    _same(infer_target(emb, 2, Settings(1, 2, "ksg", 40, 0.05, 1, "autoregressive")), KSG)


def test_the_surrogates_give_their_fixed_estimates_and_series(trials):
    emb = embed(trials, 2)
    plan = surrogates(emb.segments, 12, "autoregressive", (0, 2, 1, 3, 1))
    cond = condition(emb.values[:, 2, 0], emb.columns([(2, 1), (0, 2)]))
    column = emb.values[:, 3, 1]
    tol = dict(rtol=1e-10, atol=1e-15)
    assert np.allclose(GaussianCMI().surrogates(cond, column, plan), SURR_GAUSSIAN, **tol)
    assert np.allclose(KSGCMI().surrogates(cond, column, plan)[:6], SURR_KSG, **tol)
    joint = GaussianCMI().surrogates(cond, emb.columns([(3, 1), (1, 2)]), plan)
    assert np.allclose(joint[:6], SURR_JOINT, **tol)
    series = renewed(emb.values[:158, 1, 1], np.array([5, 2**62 + 7], dtype=np.uint64))
    assert np.allclose(series[:, ::40], RENEWED, **tol)
    series = phase_randomised(emb.values[:158, 1, 1], np.array([5, 2**62 + 7], dtype=np.uint64))
    assert np.allclose(series[:, ::40], PHASES, **tol)


def test_a_kept_plan_gives_the_surrogates_a_fresh_one_gives(trials):
    emb = embed(trials, 2)
    cond = condition(emb.values[:, 2, 0], emb.columns([(2, 1)]))
    column = emb.values[:, 3, 1]
    fresh = surrogates(emb.segments, 12, "autoregressive", (7, 1))
    kept = surrogates(emb.segments, 12, "autoregressive", (7, 1), keep=True)
    first = GaussianCMI().surrogates(cond, column, kept)
    assert "laid" in kept.kept  # laid out once, then read back
    assert np.array_equal(GaussianCMI().surrogates(cond, column, kept), first)
    assert np.array_equal(GaussianCMI().surrogates(cond, column, fresh), first)
    assert np.array_equal(kept.take(column, np.array([3, 1])), fresh.take(column, np.array([3, 1])))
    other = emb.values[:, 1, 1]  # another column is laid out anew, not read from the kept one
    assert np.array_equal(kept.laid(other)[0], fresh.take(other))


def test_the_fits_are_made_once_a_series_and_kept_within_their_bound(monkeypatch):
    rng = np.random.default_rng(0)
    series = [rng.standard_normal(200) for _ in range(4)]
    monkeypatch.setattr(cmi_surrogates, "_fits", {})
    monkeypatch.setattr(cmi_surrogates, "FITS_KEPT", 3 * series[0].nbytes)
    for x in series:
        c, phi, e = cmi_surrogates._fitted(x)
        c0, phi0, e0 = cmi_surrogates.autoregression(x)
        assert c == c0 and np.array_equal(phi, phi0) and np.array_equal(e, e0)
        assert cmi_surrogates._fitted(x.copy())[2] is e  # the same bytes: the kept fit
    assert len(cmi_surrogates._fits) <= 3


def test_a_released_plan_hands_its_memory_to_the_next_which_lays_out_its_own_surrogates(trials):
    emb = embed(trials, 2)
    column = emb.values[:, 3, 1]
    cmi_surrogates.drop_spare()
    done = surrogates(emb.segments, 12, "autoregressive", (7, 1), keep=True)
    held = done.laid(column)[0]
    done.release()
    assert not done.kept  # the plan keeps nothing after
    later = surrogates(emb.segments, 12, "autoregressive", (8, 1), keep=True)
    laid = later.laid(column)[0]
    assert laid is held  # the memory handed back, written over
    assert np.array_equal(laid, surrogates(emb.segments, 12, "autoregressive", (8, 1)).take(column))
    cmi_surrogates.drop_spare()
    assert not cmi_surrogates._spare


def test_a_determined_candidate_reads_inf_nats() -> None:
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal(300), rng.standard_normal((300, 2))
    cond = condition(x + z @ np.array([0.5, -1.0]), z)
    assert GaussianCMI().value(cond, x) == np.inf  # round-off alone left: not some 17 nats
    near = condition(x + 1e-3 * rng.standard_normal(300) + z @ np.array([0.5, -1.0]), z)
    assert 5 < GaussianCMI().value(near, x) < 10
    plan = surrogates((300,), 8, "shift", (0, 1))
    assert np.isfinite(GaussianCMI().surrogates(cond, x, plan)).all()


def test_a_p_value_at_alpha_is_not_significant_in_the_search():
    emb = embed([random_var_network(2, 100, seed=0).data], 1)
    search = _Search(emb, 0, Settings(1, 1, "gaussian", 99, 0.05, 0, "shift"))
    assert search.p_value(4) == 0.05
    assert not search.significant(4)  # p < alpha rejects, as IDTxl's search does
    assert search.significant(3)
    assert len(search.blocks()[0]) == 4  # the fewest surrogates that can settle the test


def _phase_randomised_plainly(x: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """:func:`phase_randomised` as its docstring says it: complex exponentials, indices taken mod 2T."""
    length, mean = len(x), float(x.mean())
    amplitudes = np.abs(np.fft.rfft(np.r_[x, x[::-1]] - mean))
    z = cmi_surrogates._mixed(np.asarray(seeds, dtype=np.uint64), length + 2)
    turns = (z[:, : length + 1] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    phases = np.exp(1j * (2 * np.pi * turns))
    phases[:, 0] = 1.0
    phases[:, -1] = np.where(turns[:, -1] < 0.5, 1.0, -1.0)
    series = np.fft.irfft(amplitudes * phases, n=2 * length, axis=1)
    offsets = (z[:, -1] % np.uint64(2 * length)).astype(np.int64)
    where = (offsets[:, None] + np.arange(length)[None, :]) % (2 * length)
    return np.take_along_axis(series, where, axis=1) + mean


@pytest.mark.parametrize("length", [2, 3, 17, 300, 1001])
def test_phase_randomised_series_are_those_of_the_plain_formula_bit_for_bit(length):
    rng = np.random.default_rng(length)
    x = rng.standard_normal(length).cumsum() * 1e3
    seeds = rng.integers(0, 2**63, size=40, dtype=np.uint64)
    assert np.array_equal(phase_randomised(x, seeds), _phase_randomised_plainly(x, seeds))
    out = np.zeros((40, length, 2))  # written into a strided view, as a joint plan's columns are
    phase_randomised(x, seeds, out[:, :, 1])
    assert np.array_equal(out[:, :, 1], _phase_randomised_plainly(x, seeds))


@pytest.mark.parametrize("dz", [0, 1, 3, 7])
def test_a_stack_of_samples_is_residualized_as_each_alone_to_the_bit(dz):
    g = np.random.default_rng(dz)
    n = 300
    cond = condition(g.standard_normal(n), g.standard_normal((n, dz)))
    for stack in (
        g.standard_normal((40, n)).cumsum(axis=1),
        g.standard_normal((5, n, 2)),
        g.standard_normal((1, n)),
    ):
        got = cond.residuals(stack)
        assert got.shape == (len(stack), n, 1 if stack.ndim == 2 else 2)
        for b, sample in enumerate(stack):
            assert got[b].tobytes() == cond.residual(sample.reshape(n, -1)).tobytes()


@pytest.mark.parametrize("columns", [0, 2])
def test_a_shift_reads_the_trial_and_its_mirror_image_from_its_offset_on(columns):
    length = 7
    g = np.random.default_rng(columns)
    trial = g.standard_normal((length, columns) if columns else length)
    offsets = np.array([0, 1, length - 1, length, length + 2, 2 * length - 1])
    got = cmi_surrogates.shifted(trial, offsets)
    mirror = np.concatenate([trial, trial[::-1]])  # x_0 .. x_{T-1}, x_{T-1} .. x_0
    want = np.stack([mirror[(np.arange(length) + s) % (2 * length)] for s in offsets])
    assert got.shape == want.shape and got.flags.c_contiguous
    assert np.array_equal(got, want)
    assert np.array_equal(got[1], np.concatenate([trial[1:], trial[-1:]]))  # forward by 1, the end mirrored
