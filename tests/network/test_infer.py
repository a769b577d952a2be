"""infer_network against networks of known structure: recovery, common drivers, chains, and the false
positives of independent processes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from iblearn.network import benjamini_hochberg, holm, infer_network
from iblearn.network.inference import corrected
from iblearn.network.simulate import random_var_network

# Few surrogates for the targets keep these tests fast; the warning that says so is tested on its own.
pytestmark = pytest.mark.filterwarnings("ignore:n_permutations:UserWarning")


def _scores(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    tp = int((found & truth).sum())
    return tp / max(1, int(found.sum())), tp / int(truth.sum())


def test_recovers_a_sparse_var_network_of_ten_processes():
    net = random_var_network(10, 2000, seed=1)
    result = infer_network(net.data, max_lag=3, method="gaussian")
    precision, recall = _scores(result.adjacency, net.adjacency)
    assert precision >= 0.9 and recall >= 0.9
    # The lags too: every true (source, target, lag) is found.
    assert set(net.edges) <= set(result.edges)


@pytest.mark.slow
def test_recovers_a_sparse_var_network_of_ten_processes_by_ksg():
    net = random_var_network(10, 2000, seed=1, nonlinear=1)
    result = infer_network(net.data, max_lag=3, method="ksg")
    precision, recall = _scores(result.adjacency, net.adjacency)
    assert precision >= 0.9 and recall >= 0.9


def _independent(p: int, t: int, seed: int) -> np.ndarray:
    """p independent AR(1) processes (autocorrelation 0.5)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t, p))
    for step in range(1, t):
        x[step] += 0.5 * x[step - 1]
    return x


def test_independent_processes_give_few_false_edges():
    result = infer_network(_independent(6, 600, 0), max_lag=2, method="gaussian", n_permutations=100)
    possible = 6 * 5
    assert result.adjacency.sum() / possible <= 0.05
    assert all(t.past == (1,) for t in result.targets)  # each process's own memory is found


@pytest.mark.slow
def test_false_positive_rate_on_independent_processes_is_within_alpha():
    """Per target, the chance of any false source is held at alpha by the maximum statistic; over 40
    networks of 5 targets the share of targets with one stays below alpha plus two standard errors."""
    hits = targets = 0
    for seed in range(40):
        result = infer_network(_independent(5, 500, seed), max_lag=2, method="gaussian", seed=seed, fdr=False)
        hits += int(result.adjacency.any(axis=0).sum())
        targets += 5
    assert hits / targets <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / targets)


def test_a_common_driver_gives_no_edge_between_its_targets():
    rng = np.random.default_rng(3)
    t = 2000
    z, x, y = rng.standard_normal(t), rng.standard_normal(t), rng.standard_normal(t)
    x[1:] += 0.8 * z[:-1]
    y[3:] += 0.8 * z[:-3]  # x_{t-2} = z_{t-3} + noise predicts y_t, but only through z
    result = infer_network(np.column_stack([z, x, y]), max_lag=3, method="gaussian")
    assert (0, 1, 1) in result.edges and (0, 2, 3) in result.edges
    assert not result.adjacency[1, 2] and not result.adjacency[2, 1]


def test_a_chain_gives_no_edge_from_its_first_to_its_last():
    rng = np.random.default_rng(4)
    t = 2000
    x, y, z = rng.standard_normal(t), rng.standard_normal(t), rng.standard_normal(t)
    y[1:] += 0.8 * x[:-1]
    z[1:] += 0.8 * y[:-1]
    result = infer_network(np.column_stack([x, y, z]), max_lag=3, method="gaussian")
    assert result.adjacency[0, 1] and result.adjacency[1, 2]
    assert not result.adjacency[0, 2]


def test_auto_picks_gaussian_for_a_linear_gaussian_network_and_ksg_otherwise():
    net = random_var_network(4, 1500, seed=2)
    data = net.data
    assert infer_network(data, max_lag=2, n_permutations=40).settings["method"] == "gaussian"
    skewed = np.exp(data)
    from iblearn.network.inference import auto_method

    assert auto_method([skewed], 1, 2)[0] == "ksg"


@pytest.mark.parametrize("coupling, chosen", [(np.tanh, "gaussian"), (lambda v: np.sin(2 * v), "ksg")])
def test_auto_takes_ksg_where_a_process_acts_mostly_through_a_nonlinear_function(coupling, chosen):
    from iblearn.network.inference import auto_method

    rng = np.random.default_rng(3)
    x = rng.standard_normal((1700, 3))
    for step in range(2, len(x)):
        x[step] += 0.3 * x[step - 1]
        x[step, 1] += 0.6 * coupling(x[step - 2, 0])
    method, why = auto_method([x[200:]], 1, 2)
    assert method == chosen
    if chosen == "ksg":
        assert "process 0 at lag 2 acts on process 1" in why
    else:
        assert "mostly linearly" in why


def test_copula_sees_a_monotone_transform_as_the_raw_network():
    net = random_var_network(4, 1000, seed=5)
    raw = infer_network(net.data, max_lag=2, method="copula", n_permutations=60)
    warped = infer_network(np.exp(net.data), max_lag=2, method="copula", n_permutations=60)
    assert raw.edges == warped.edges


def test_trials_are_pooled_and_permuted_as_surrogates():
    rng = np.random.default_rng(6)
    trials = []
    for _ in range(8):
        x = rng.standard_normal((200, 2))
        x[2:, 1] += 0.7 * x[:-2, 0]
        trials.append(x)
    result = infer_network(trials, max_lag=3, method="gaussian", n_permutations=100)
    assert result.settings["surrogates"] == "trials"
    assert result.edges == [(0, 1, 2)]


def test_the_result_reports_each_edge_and_target():
    net = random_var_network(4, 1500, seed=7)
    result = infer_network(net.data, max_lag=3, method="gaussian", n_permutations=100)
    assert set(result.edge_te) == set(result.edges)
    assert all(te > 0 and p < 0.05 for te, p in result.edge_te.values())
    for t in result.targets:
        assert t.omnibus_p <= 1 and (t.omnibus_te > 0 or not t.sources)
    assert result.selected_past == {t.target: t.past for t in result.targets}
    assert result.settings["n_permutations"] == 100


def test_to_networkx_and_plot():
    nx = pytest.importorskip("networkx")
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    net = random_var_network(4, 1500, seed=7)
    result = infer_network(net.data, max_lag=3, method="gaussian", n_permutations=100)
    graph = result.to_networkx()
    assert isinstance(graph, nx.MultiDiGraph)
    assert sorted((s, t, d["lag"]) for s, t, d in graph.edges(data=True)) == sorted(result.edges)
    assert result.plot() is not None


def test_holm():
    # m = 4, alpha 0.05: thresholds 0.0125, 0.0167, 0.025, 0.05; the third fails, so two are rejected.
    assert holm([0.01, 0.5, 0.03, 0.015], 0.05) == [True, False, False, True]
    assert holm([0.2, 0.3], 0.05) == [False, False]


def test_targets_without_sources_count_in_the_correction():
    # One target of five with a source at p = 0.03: below alpha alone, above alpha / 5 among all five.
    assert corrected([0.03, 1.0, 1.0, 1.0, 1.0], 0.05, fdr=True) == [False] * 5
    assert corrected([0.03, 1.0, 1.0, 1.0, 1.0], 0.05, fdr=False) == [False] * 5
    assert corrected([0.009, 1.0, 1.0, 1.0, 1.0], 0.05, fdr=True) == [True] + [False] * 4


@pytest.mark.parametrize(("seed", "target"), [(6, 4), (13, 1)])
def test_a_source_chosen_by_chance_in_noise_gives_no_edge(seed, target):
    """I.i.d. noise where one target's first source passes its maximum statistic at alpha by chance: the
    omnibus test, on the data that chose it, reads the least p-value 1/101; the target's p-value is
    the maximum statistic's, and five targets' correction drops it."""
    noise = np.random.default_rng(seed).standard_normal((400, 5))[100:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 100 surrogates are few for 5 targets, which is said
        result = infer_network(noise, seed=seed, method="gaussian", n_permutations=100)
    assert result.targets[target].sources and result.targets[target].omnibus_p > 1 / 101  # not the floor
    assert result.edges == []


@pytest.mark.slow
def test_noise_reads_as_a_network_at_most_alpha_of_the_time():
    """The family-wise error rate over all targets where no process drives another: runs with any edge
    among 60 of i.i.d. noise stay below alpha plus two standard errors."""
    runs = 0
    for seed in range(60):
        noise = np.random.default_rng(seed).standard_normal((400, 5))[100:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs += bool(infer_network(noise, seed=seed, method="gaussian", n_permutations=100).edges)
    assert runs / 60 <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 60)


def test_a_warning_before_the_run_where_surrogates_are_too_few_for_the_targets():
    noise = np.random.default_rng(0).standard_normal((100, 5))
    with pytest.warns(UserWarning, match=r"n_permutations: 60 surrogates .* use at least 99"):
        infer_network(noise, max_lag=1, method="gaussian", n_permutations=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enough = infer_network(noise, max_lag=1, method="gaussian", n_permutations=99)
    # The result keeps the least p-value a target can reach beside the level it meets first.
    assert enough.settings["p_floor"] == pytest.approx(0.01)
    assert enough.settings["p_floor"] <= enough.settings["alpha"] / 5


def test_a_warning_where_a_process_mixes_too_slowly_for_shifted_surrogates():
    x = np.random.default_rng(0).standard_normal((400, 3))
    for step in range(1, 400):
        x[step] += 0.99 * x[step - 1]
    with pytest.warns(UserWarning, match="mixes too slowly"):
        infer_network(x[100:], max_lag=1, method="gaussian", n_permutations=99)


def test_benjamini_hochberg():
    # m = 5, alpha 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05; the largest k with p_(k) below is 3.
    assert benjamini_hochberg([0.005, 0.5, 0.025, 0.015, 0.2], 0.05) == [True, False, True, True, False]
    assert benjamini_hochberg([0.2, 0.3], 0.05) == [False, False]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        (dict(data=np.zeros(100)), "data"),
        (dict(data=np.full((100, 3), np.nan)), "data"),
        (dict(data=np.random.default_rng(0).standard_normal((100, 1))), "data"),
        (dict(data=[np.ones((100, 2)), np.ones((100, 3))]), "data"),
        (dict(min_lag=3, max_lag=2), "min_lag"),
        (dict(max_lag=0), "max_lag"),
        (dict(max_lag=95), "max_lag"),
        (dict(method="mine"), "method"),
        (dict(alpha=1.5), "alpha"),
        (dict(n_permutations=10), "n_permutations"),
        (dict(n_permutations=10**7), "n_permutations"),
        (dict(fdr="yes"), "fdr"),
        (dict(n_jobs=0), "n_jobs"),
    ],
)
def test_bad_input_is_named(kwargs, named):
    args = dict(data=np.random.default_rng(0).standard_normal((100, 3))) | kwargs
    with pytest.raises(ValueError, match=f"^{named}"):
        infer_network(**args)


def test_a_transposed_array_is_named_with_the_expected_shape():
    data = np.random.default_rng(0).standard_normal((1000, 4))
    with pytest.raises(ValueError, match=r"^data: a trial of shape \(4, 1000\) .*\(T, P\).*pass data\.T"):
        infer_network(data.T, max_lag=3)
    with pytest.raises(ValueError, match=r"^data: .*pass data\.T"):
        infer_network([data.T, data.T], max_lag=3)


@pytest.mark.slow
def test_slowly_forgetting_independent_processes_read_as_a_network_at_most_alpha():
    """Independent AR(1) processes of root 0.99 over 300 steps: surrogates shifted in time (continued
    by their mirror image) read them as coupled in 38 of these 400 runs (9.5%); the default surrogates
    (phase-randomised for the processes that mix too slowly for their trial, the autoregressive sieve
    for the others) within alpha plus two standard errors of 400 runs (7.2%)."""
    runs = 0
    for seed in range(400):
        x = np.random.default_rng(seed).standard_normal((400, 5))
        for step in range(1, 400):
            x[step] += 0.99 * x[step - 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs += bool(infer_network(x[100:], seed=seed, method="gaussian").edges)
    assert runs / 400 <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400)


def test_the_surrogates_asked_for_are_used_and_recorded():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((200, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = infer_network(data, method="gaussian", n_permutations=20, max_lag=2)
        spectrum = infer_network(data, method="gaussian", n_permutations=20, max_lag=2, surrogates="fourier")
    assert auto.settings["surrogates"] == "autoregressive"
    assert spectrum.settings["surrogates"] == "fourier"
    with pytest.raises(ValueError, match="surrogates"):
        infer_network(data, n_permutations=20, surrogates="trials")
    with pytest.raises(ValueError, match="surrogates"):
        infer_network(data, n_permutations=20, surrogates="shuffled")
