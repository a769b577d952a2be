"""The surrogates ``surrogates="auto"`` chooses for single trials, process by process: phase-randomised
series for a process that mixes too slowly for its trial or whose lowest frequencies rise as a long
memory's do, the autoregressive sieve for the others; the choice carried by every target's plans, by the
result and by the checkpoint's key."""

from __future__ import annotations

import numpy as np
import pytest

from iblearn.functional.cmi_surrogates import phase_randomised, renewed, surrogates
from iblearn.network import infer_network
from iblearn.network.embedding import embed
from iblearn.network.inference import _long_memory, _slow_processes
from iblearn.network.target import OMNIBUS, SOURCES, Settings, _Search

# Few surrogates keep these tests fast; the warnings they draw are tested on their own.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def pink(t: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise: white noise shaped to a power spectrum falling as 1/f, ``t`` steps of a longer run."""
    spectrum = np.fft.rfft(rng.standard_normal(4 * t))
    f = np.fft.rfftfreq(4 * t)
    f[0] = f[1]
    return np.fft.irfft(spectrum / np.sqrt(f), n=4 * t)[t : 2 * t]


@pytest.fixture(scope="module")
def mixed() -> np.ndarray:
    """Process 0 1/f noise, processes 1 and 2 i.i.d. Gaussian, 500 steps."""
    rng = np.random.default_rng(3)
    return np.column_stack([pink(500, rng), rng.standard_normal((500, 2))])


def _run(data, **kwargs):
    return infer_network(data, max_lag=2, method="gaussian", n_permutations=40, **kwargs)


def test_the_slow_process_alone_is_flagged(mixed):
    assert sorted(_slow_processes([mixed])) == [0]


@pytest.fixture(scope="module")
def steep() -> np.ndarray:
    """Process 0 1/f noise whose autocorrelation dies out within its 300 steps but whose lowest
    frequencies rise steeply, processes 1 and 2 i.i.d. Gaussian."""
    rng = np.random.default_rng(0)
    return np.column_stack([pink(300, rng), rng.standard_normal((300, 2))])


def test_a_long_memory_that_mixes_in_its_trial_is_drawn_by_its_spectrum(steep):
    assert (sorted(_slow_processes([steep])), _long_memory([steep])) == ([], [0])
    res = _run(steep)
    assert (res.settings["surrogates"], res.settings["fourier"]) == ("autoregressive", (0,))
    assert _run(steep) == res


def test_no_process_of_short_memory_is_flagged():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 4))
    for step in range(1, 300):
        x[step] += 0.5 * x[step - 1]
    assert _long_memory([x]) == []


def test_auto_gives_the_slow_process_fourier_surrogates_and_the_others_the_sieve(mixed):
    auto = _run(mixed)
    assert auto.settings["surrogates"] == "autoregressive"
    assert auto.settings["fourier"] == (0,)
    # The kinds asked for by name keep their meaning: one kind for every process.
    for asked in ("autoregressive", "fourier"):
        res = _run(mixed, surrogates=asked)
        assert (res.settings["surrogates"], res.settings["fourier"]) == (asked, ())


def test_several_trials_of_one_length_keep_permuted_trials(mixed):
    trials = [mixed[i * 100 : (i + 1) * 100] for i in range(5)]
    res = infer_network(trials, max_lag=2, method="gaussian", n_permutations=100)
    assert (res.settings["surrogates"], res.settings["fourier"]) == ("trials", ())


def test_every_plan_draws_its_process_kind(mixed):
    emb = embed([mixed], 2)
    st = Settings(1, 2, "gaussian", 30, 0.05, 7, "autoregressive", (0,))
    search = _Search(emb, 2, st)
    assert search.surr(SOURCES, (0, 1)).kind == "fourier"
    assert search.surr(SOURCES, (1, 1)).kind == "autoregressive"
    # Sources of both kinds moved together: each process's series of its own kind, seeded m steps on.
    plan = search.surr(OMNIBUS, (-1, -1), ((0, 1), (1, 1)))
    assert plan.columns == ("fourier", "autoregressive")
    columns = emb.columns([(0, 1), (1, 1)])
    laid = plan.take(columns)
    seeds = plan.draws[:, 0]
    np.testing.assert_array_equal(laid[:, :, 0], phase_randomised(columns[:, 0], seeds))
    np.testing.assert_allclose(laid[:, :, 1], renewed(columns[:, 1], seeds + np.uint64(1)), rtol=1e-12)
    assert _Search(emb, 0, st).surr(OMNIBUS, (-1, -1), ((1, 1), (2, 2))).columns == ()


@pytest.mark.parametrize("kind", ["autoregressive", "fourier"])
def test_the_omnibus_surrogates_lay_the_lags_of_one_process_out_from_one_series(mixed, kind):
    trials = [mixed[:260], mixed[260:]]
    emb = embed(trials, 4)
    variables = ((0, 1), (1, 2), (0, 3), (0, 4))
    plan = _Search(emb, 2, Settings(1, 4, "gaussian", 20, 0.05, 7, kind)).surr(OMNIBUS, (-1, -1), variables)
    laid = plan.take(emb.columns(variables))
    for start, rows in zip(plan.starts(), emb.segments, strict=True):
        trial = laid[:, start : start + rows]
        # Lag 3 at row i + 2 is lag 1 at row i, and lag 4 at row i + 3: one series of process 0.
        np.testing.assert_array_equal(trial[:, 2:, 2], trial[:, :-2, 0])
        np.testing.assert_array_equal(trial[:, 3:, 3], trial[:, :-3, 0])
    # Process 1's series is drawn on its own, as are the trials'.
    assert not np.allclose(laid[:, 1:, 1], laid[:, :-1, 0])
    assert not np.array_equal(laid[:, : emb.segments[1], 0], laid[:, emb.segments[0] :, 0])
    # That series is a surrogate of the process's stretch x[max_lag - 4 : T - 1] of the trial, of its
    # kind, seeded by its first column; lag L its window from 4 - L on.
    n = emb.segments[0]
    stretch = np.r_[emb.values[:n, 0, 4], emb.values[n - 3 : n, 0, 1]]
    series = (renewed if kind == "autoregressive" else phase_randomised)(stretch, plan.draws[:, 0])
    np.testing.assert_allclose(laid[:, :n, 0], series[:, 3 : 3 + n], rtol=1e-12)
    np.testing.assert_allclose(laid[:, :n, 3], series[:, :n], rtol=1e-12)


def test_lags_further_apart_than_a_trial_draw_series_of_their_own():
    plan = surrogates((12,), 5, "fourier", (1, 2), variables=((0, 1), (0, 20), (1, 2), (0, 8)))
    # Lags 20 and 8 overlap within 12 samples, 8 and 1 too; process 1 a series of its own.
    assert plan.series(4, 12) == [(0, [1, 3, 0], [0, 12, 19]), (2, [2], [0])]
    assert plan.series(4, 11) == [(1, [1], [0]), (0, [3, 0], [0, 7]), (2, [2], [0])]
    with pytest.raises(ValueError, match=r"^column"):
        plan.take(np.zeros((12, 3)))


def test_the_choice_gives_the_same_result_for_the_same_seed(mixed):
    first = _run(mixed, seed=4)
    assert _run(mixed, seed=4) == first
    assert first.settings["fourier"] == (0,)


def test_a_checkpoint_of_another_choice_is_refused(mixed, tmp_path):
    _run(mixed, checkpoint=tmp_path)
    with pytest.raises(ValueError, match=r"^checkpoint"):
        _run(mixed, surrogates="autoregressive", checkpoint=tmp_path)
    # The same choice reads the targets back.
    assert _run(mixed, checkpoint=tmp_path) == _run(mixed)


@pytest.mark.filterwarnings("default::UserWarning")
def test_the_warning_names_the_slow_process_and_its_surrogates(mixed):
    with pytest.warns(UserWarning, match=r"process 0 of data .* its phase-randomised surrogates rest"):
        _run(mixed)
    with pytest.warns(UserWarning, match=r"process 0 of data .* surrogates='auto'$"):
        _run(mixed, surrogates="autoregressive")
