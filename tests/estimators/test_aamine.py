"""AA-MINE (paper 002): the Fig. 1 behaviour, the noise knob, and the x-only interface."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iblearn.estimators import AAMINE, ArchitectureAwareCritic, ConcatCritic


def random_mlp() -> nn.Sequential:
    """Paper 002's Fig. 1 net: a 3-layer MLP with random weights (smaller here)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 5), nn.Tanh()
    )
    return net.requires_grad_(False)


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8192, 10, generator=g), torch.randn(2048, 10, generator=g)


def test_estimate_falls_as_the_noise_grows(inputs):
    x, xt = inputs
    values = [
        float(AAMINE(random_mlp(), std, hidden=(64,), lr=2e-3).fit(x, steps=400)(xt))
        for std in (0.03, 0.3, 1.0)
    ]
    # Measured at 600 steps: 3.4, 0.38, 0.04 nats for noise variances 1e-3, 1e-1, 1.
    assert values[0] > values[1] + 1.0 > values[2] + 1.0


@pytest.mark.slow
def test_fig1_aa_mine_grows_without_bound_at_zero_noise_while_plain_mine_saturates(inputs):
    # Measured, 500-step increments to 3,000: AA-MINE 3.49 -> 6.12 (still +0.3 per 500), plain 3.30 -> 4.90.
    x, xt = inputs
    aa = AAMINE(random_mlp(), 0.0, hidden=(64,), lr=2e-3)
    plain = AAMINE(random_mlp(), 0.0, architecture_aware=False, hidden=(64,), lr=2e-3)
    trace = {"aa": [], "plain": []}
    for step in range(6):
        for key, est in (("aa", aa), ("plain", plain)):
            est.fit(x, steps=500, seed=step)
            trace[key].append(float(est(xt)))
    assert trace["aa"][-1] > trace["plain"][-1] + 0.5
    assert trace["aa"][-1] - trace["aa"][2] > 2 * (trace["plain"][-1] - trace["plain"][2])


def test_the_critic_copies_the_subnet_and_can_resync():
    net = random_mlp()
    est = AAMINE(net, 0.1)
    assert isinstance(est.critic, ArchitectureAwareCritic)
    assert isinstance(AAMINE(net, 0.1, architecture_aware=False).critic, ConcatCritic)
    assert "subnet" not in dict(est.named_children())  # not trained, not saved by the estimator
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert not torch.equal(est.critic.copy[0].weight, net[0].weight)
    est.sync()
    assert torch.equal(est.critic.copy[0].weight, net[0].weight)


def test_the_subnet_follows_the_estimator_to_a_dtype_as_to_a_device():
    """``est.to(device)`` must carry the sub-network it runs on x (``double()`` stands in for a device
    here: a float32 sub-network fails on float64 rows as a CPU one does on a GPU's), though the subnet
    stays the caller's: not a child, not in the state dict."""
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    est = AAMINE(net, 0.1, hidden=(8,), seed=1).double()
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert not any(k.startswith("subnet") for k in est.state_dict())
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    est.fit(x, steps=2, batch_size=32)
    assert est(x).value.dtype == torch.float64


def test_noisy_representation_carries_gradients_to_the_subnet():
    net = nn.Sequential(nn.Linear(3, 2))
    est = AAMINE(net, 0.1, hidden=(8,))
    est.batch_mi(torch.randn(32, 3)).backward()
    assert net[0].weight.grad is not None


def test_state_dict_round_trip_with_lazy_layers(inputs):
    x, xt = inputs
    est = AAMINE(random_mlp(), 0.1, hidden=(16,)).fit(x, steps=20)
    fresh = AAMINE(random_mlp(), 0.1, hidden=(16,))
    fresh.load_state_dict(est.state_dict())
    assert float(fresh(xt)) == float(est(xt))


def test_fit_leaves_the_subnets_batchnorm_statistics_and_modes_alone():
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Tanh()).requires_grad_(False)
    net[2].eval()  # a mixed-mode network: each module's mode comes back as it was
    est = AAMINE(net, 0.1, hidden=(8,)).fit(torch.randn(256, 4) * 3 + 5, steps=5)
    assert float(net[1].running_mean.abs().sum()) == 0 and int(net[1].num_batches_tracked) == 0
    assert [m.training for m in net] == [True, True, False]
    est.train_step(torch.randn(64, 4))  # a training step runs the subnet in its own (train) mode
    assert int(net[1].num_batches_tracked) == 1


def test_the_estimate_runs_the_subnet_in_eval_mode():
    """Measuring moves no BatchNorm statistics and applies no dropout: the estimate repeats."""
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Dropout(0.5), nn.Tanh()).requires_grad_(False)
    est = AAMINE(net, 0.1, hidden=(8,), eval_batch_size=100).fit(torch.randn(256, 4) * 3 + 5, steps=5)
    x = torch.randn(512, 4) * 3 + 5
    assert float(est(x)) == float(est(x))
    assert int(net[1].num_batches_tracked) == 0 and net.training


def test_a_checkpoint_without_extra_state_loads():
    est = AAMINE(random_mlp(), 0.1, hidden=(8,)).fit(torch.randn(256, 10), steps=3)
    state = {k: v for k, v in est.state_dict().items() if k != "_extra_state"}
    again = AAMINE(est.subnet, 0.1, hidden=(8,))
    again.load_state_dict(state)
    x = torch.randn(64, 10)
    assert float(again(x)) == float(est(x))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: AAMINE("net", 0.1), "subnet: expected an nn.Module"),
        (lambda: AAMINE(random_mlp(), -0.1), "noise_std: must be a finite number >= 0"),
        (
            lambda: AAMINE(random_mlp(), 0.1).fit(torch.randn(10, 10), torch.randn(10, 5)),
            "y: AA-MINE makes its own y",
        ),
        (lambda: AAMINE(random_mlp(), 0.1)(torch.randn(10, 10), n_permutations=5), "no y to permute"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_estimate_is_differentiable_with_respect_to_a_trainable_subnet():
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
    est = AAMINE(net, noise_std=0.1, hidden=(16,)).fit(torch.randn(256, 4), steps=5)
    est(torch.randn(128, 4)).value.backward()
    assert net[0].weight.grad is not None
    net.requires_grad_(False)  # a frozen sub-network: nothing to differentiate, no graph kept
    assert est(torch.randn(128, 4)).value.grad_fn is None


def test_fit_takes_a_numpy_array_as_samples_not_as_a_stream_of_batches():
    # Iterated row by row as batches of one sample: "x: at least 2 samples are needed ..., got 1".
    net = nn.Linear(2, 2)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    from_numpy = AAMINE(net, 0.1, hidden=(8,)).fit(x.numpy(), steps=3, batch_size=32)
    from_tensor = AAMINE(net, 0.1, hidden=(8,)).fit(x, steps=3, batch_size=32)
    assert float(from_numpy(x)) == float(from_tensor(x))


def test_a_noise_the_dtype_holds_as_inf_is_refused_naming_noise_std():
    # A std of 1e150 made y inf in float32, refused as "y: contains NaN or Inf", a y never passed; float64
    # holds it.
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh()).requires_grad_(False)
    x = torch.randn(64, 2)
    with pytest.raises(ValueError, match=r"noise_std: 1e\+150 makes a noise that torch.float32 holds as inf"):
        AAMINE(net, 1e150, hidden=(8,)).fit(x, steps=1)
    AAMINE(net.double(), 1e150, hidden=(8,)).double().fit(x.double(), steps=1)
