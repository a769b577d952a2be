"""One Standardize for the estimators' inputs and greedy training's output modules: its two fits, its
clip, the identity before either, and a greedy state that names the scale ``std``."""

from __future__ import annotations

import torch

from iblearn.estimators.neural.representation import Standardize as FromRepresentation
from iblearn.estimators.standardize import Standardize
from iblearn.training import Standardize as FromTraining


def test_one_class_under_each_name():
    assert FromRepresentation is Standardize is FromTraining


def test_the_two_fits_and_the_clip():
    g = torch.Generator().manual_seed(0)
    t = 3 * torch.randn(200, 4, generator=g) + 1
    t[:, 3] = 2.0  # a constant feature
    one = Standardize(1, clip=2.0)
    assert torch.equal(one(t[:, 0]), t[:, :1].clamp(-2, 2))  # the identity before, 1-d rows one feature
    calibrated = Standardize(4, clip=2.0)
    calibrated.calibrate(t)
    expected = (t - t.mean(0)) / torch.where(t.std(0, unbiased=False) > 0, t.std(0, unbiased=False), 1.0)
    torch.testing.assert_close(calibrated(t), expected.clamp(-2, 2))
    fitted = Standardize()
    assert not fitted.fitted and fitted(t) is t
    fitted.fit([t[:100], t[100:]])
    assert torch.equal(fitted.std, t.std(0).clamp_min(1e-6)) and fitted.std is fitted.scale
    images = t[:, :4].reshape(200, 1, 2, 2)
    assert fitted(images).shape == (200, 1, 2, 2)


def test_a_state_that_names_the_scale_std_loads():
    state = {"mean": torch.tensor([1.0, 2.0]), "std": torch.tensor([2.0, 4.0])}
    layer = Standardize()
    layer.load_state_dict(state)
    assert torch.equal(layer(torch.tensor([[3.0, 6.0]])), torch.tensor([[1.0, 1.0]]))
    assert set(layer.state_dict()) == {"mean", "scale"}
