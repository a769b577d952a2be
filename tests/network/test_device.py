"""infer_network's KSG surrogates counted in batches on a torch device: on the CPU the exact path's
edges and p-values bit for bit, and each surrogate's CMI from the same counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional import cmi_surrogates
from iblearn.functional.cmi_surrogates import KSGCMI, BatchedKSGCMI, condition, engine, surrogates
from iblearn.network import infer_network
from iblearn.network.simulate import random_var_network

torch.set_num_threads(1)

# Few surrogates for the targets keep these tests fast; the warning that says so is tested on its own.
pytestmark = pytest.mark.filterwarnings("ignore:n_permutations:UserWarning")


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return random_var_network(3, 300, seed=1, nonlinear=1).data


def _same_network(data: np.ndarray, max_lag: int, n_permutations: int) -> None:
    exact, batched = (
        infer_network(
            data, max_lag=max_lag, method="ksg", n_permutations=n_permutations, seed=5, device=device
        )
        for device in (None, "cpu")
    )
    assert exact.edges and batched.edges == exact.edges
    assert batched.targets == exact.targets  # every past, source, TE and p-value, as floats
    assert batched.significant == exact.significant
    assert batched.settings["device"] == "cpu" and exact.settings["device"] is None


def test_batched_on_the_cpu_is_the_exact_path_bit_for_bit(data):
    _same_network(data, 1, 60)  # 1/61 passes alpha / 3, the first corrected level of 3 targets


def test_conditions_are_listed_for_the_estimates_made_on_the_host(data, monkeypatch):
    """The exact path estimates a candidate and its surrogates against each conditioning set's lists;
    the batched one counts the surrogates apart from them, so its conditions ask for the candidates'
    own estimates only, and get lists as long as those call for."""
    asked: list[int] = []
    prepare = cmi_surrogates.prepared_condition

    def recording(y, z, k, estimates):
        asked.append(estimates)
        return prepare(y, z, k, estimates)

    monkeypatch.setattr(cmi_surrogates, "prepared_condition", recording)
    runs = {}
    for device in (None, "cpu"):
        asked.clear()
        infer_network(data, max_lag=1, method="ksg", n_permutations=60, seed=5, device=device)
        runs[device] = list(asked)
    assert runs[None] and all(h % 61 == 0 for h in runs[None])
    assert runs["cpu"] == [h // 61 for h in runs[None]]


@pytest.mark.slow
def test_batched_on_the_cpu_is_the_exact_path_on_four_processes():
    _same_network(random_var_network(4, 400, seed=3, nonlinear=1).data, 2, 80)


@pytest.mark.parametrize("dz", [0, 1, 3])
def test_each_surrogate_is_the_exact_estimate(dz):
    g = np.random.default_rng(dz)
    n = 300
    z = g.standard_normal((n, dz))
    c = g.standard_normal(n) + z.sum(axis=1)
    y = 0.5 * np.roll(c, 1) + g.standard_normal(n) + z.sum(axis=1)
    cond, plan = condition(y, z), surrogates((n,), 12, "shift", (0, 1, 2, 3))
    exact = KSGCMI().surrogates(cond, c, plan)
    batched = BatchedKSGCMI(torch.device("cpu")).surrogates(cond, c, plan)
    # The counts are the same; the means of the terms are torch's of a (B, N) tensor's rows, which may
    # sum in another order than one (N,) tensor's.
    np.testing.assert_allclose(batched, exact, rtol=0, atol=1e-12)
    # Every p-value against them the same: at each of their values as the observed one, as many above.
    assert [(batched >= v).sum() for v in exact] == [(exact >= v).sum() for v in exact]


def test_engine_picks_the_batched_estimator_for_a_device():
    assert type(engine("ksg")) is KSGCMI
    assert isinstance(engine("ksg", "cpu"), BatchedKSGCMI) and engine("ksg", "cpu").batched
    assert not isinstance(engine("gaussian", "cpu"), KSGCMI)


@pytest.mark.parametrize(
    "device",
    [
        "npu:7x",
        "meta",
        3.5,
        pytest.param("cuda", marks=pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is here")),
    ],
)
def test_a_bad_device_is_named(data, device):
    with pytest.raises(ValueError, match="device"):
        infer_network(data, max_lag=1, method="ksg", n_permutations=20, device=device)
