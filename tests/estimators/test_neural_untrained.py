"""An estimate from a neural estimator that never trained is its untrained critic's bound, a number that
says nothing of the data: ``est(x, y)`` warns then, naming ``fit``, and only then."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from iblearn.estimators import AAMINE, CLUB, MINE, InfoNCE

pytestmark = pytest.mark.usefixtures("one_thread")


def _pairs(n: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=g)
    return x, x + torch.randn(n, 2, generator=g)


def _quiet(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return est(*args)


@pytest.mark.parametrize("make", [lambda: MINE(2, 2, hidden=(8,)), lambda: InfoNCE(2, 2, hidden=(8,))])
def test_an_estimate_before_any_training_step_warns_naming_fit(make):
    x, y = _pairs()
    est = make()
    with pytest.warns(
        UserWarning, match=rf"{est.name}: .* has taken no training step.* fit\(x, y\) first"
    ) as seen:
        est(x, y)
    assert seen[0].filename == __file__  # the caller's line, past the estimator's and torch's frames


def test_an_upper_bound_and_aa_mine_warn_too():
    x, y = _pairs()
    with pytest.warns(UserWarning, match=r"club: .* fit\(x, y\) first"):
        CLUB(2, 2, hidden=(8,))(x, y)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh()).requires_grad_(False)
    with pytest.warns(UserWarning, match=r"aamine: .* fit\(x\) first"):
        AAMINE(net, 0.1, hidden=(8,))(x)


def test_no_warning_after_a_training_step_fit_or_loading_a_trained_state():
    x, y = _pairs()
    stepped = MINE(2, 2, hidden=(8,))
    stepped.train_step(x[:64], y[:64])
    _quiet(stepped, x, y)
    fitted = MINE(2, 2, hidden=(8,)).fit(x, y, steps=3, batch_size=64)
    _quiet(fitted, x, y)
    loaded = MINE(2, 2, hidden=(8,))
    loaded.load_state_dict(fitted.state_dict())
    _quiet(loaded, x, y)
    assert float(loaded(x, y).value) == float(fitted(x, y).value)


def test_training_loops_that_read_the_bound_before_their_first_step_stay_quiet():
    # The loss, the batch bound and fit's own held-out evaluations are training: no warning.
    x, y = _pairs()
    est = MINE(2, 2, hidden=(8,), eval_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.loss(x[:64], y[:64])
        est.batch_mi(x[:64], y[:64])
        est.fit(x, y, steps=2, batch_size=32)
