"""Stochastic layers and the VIB head (paper 003, Sec. 5.3; Alemi et al. 2017)."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn.training.stochastic import GaussianNoise, UniformNoise, VIBHead, vib_loss


def test_noise_is_on_in_training_and_off_at_evaluation_unless_asked() -> None:
    x = torch.zeros(20000, 1)
    g = GaussianNoise(0.5)
    assert float(g.train()(x).std()) == pytest.approx(0.5, rel=0.03)
    assert torch.equal(g.eval()(x), x)
    assert float(GaussianNoise(0.5, at_eval=True).eval()(x).std()) == pytest.approx(0.5, rel=0.03)
    u = UniformNoise(2.0)(x)
    assert float(u.min()) >= -1 and float(u.max()) <= 1 and float(u.var()) == pytest.approx(4 / 12, rel=0.05)


def test_learned_scale_gets_a_gradient_and_bad_scale_is_refused() -> None:
    g = GaussianNoise(0.3, learn_scale=True)
    g(torch.zeros(100, 2)).pow(2).mean().backward()
    assert g.log_scale.grad is not None and float(g.log_scale.grad) > 0
    assert not list(GaussianNoise(0.3).parameters())
    for bad in (0.0, -1.0, True):
        with pytest.raises(ValueError, match="scale"):
            GaussianNoise(bad)


def test_vib_kl_by_hand_and_deterministic_evaluation() -> None:
    mu, log_var = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    kl = 0.5 * (1 + (2 - 1 - math.log(2)))  # 1/2 sum(mu^2 + var - 1 - log var)
    logits, y = torch.zeros(1, 2), torch.tensor([0])
    assert float(vib_loss(logits, y, mu, log_var, beta=0.5)) == pytest.approx(
        math.log(2) + 0.5 * kl, rel=1e-6
    )
    head = VIBHead(4, bottleneck=2, classes=3, samples=4).eval()
    h = torch.randn(5, 4)
    assert torch.equal(head(h)[0], head(h)[0])
    head.train()
    assert not torch.equal(head(h)[0], head(h)[0])
    assert head(h)[0].shape == (4, 5, 3)  # one set of logits per draw of z
    with pytest.raises(ValueError, match="bottleneck"):
        VIBHead(4, bottleneck=0, classes=3)
    with pytest.raises(ValueError, match="beta"):
        vib_loss(logits, y, mu, log_var, beta=-1)


def test_vib_loss_averages_the_cross_entropy_over_draws_not_the_logits() -> None:
    # eq. (8) of Alemi et al. is E_z[-log q(y|z)]: two draws with opposite confident logits give the mean
    # of a small and a large cross-entropy, not the cross-entropy of the (uninformative) mean logits.
    draws = torch.tensor([[[4.0, 0.0]], [[0.0, 4.0]]])  # (draws, N, classes)
    y, zero = torch.tensor([0]), torch.zeros(1, 1)
    per_draw = [math.log(1 + math.exp(-4.0)), math.log(1 + math.exp(4.0))]
    assert float(vib_loss(draws, y, zero, zero)) == pytest.approx(sum(per_draw) / 2, rel=1e-6)
    assert float(vib_loss(draws.mean(0), y, zero, zero)) == pytest.approx(math.log(2), rel=1e-6)
