"""The MI of Gaussian classes each with a covariance of its own: the estimate's bootstrap correction,
its invariance, the classes' shape figure and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.data.tasks import get_exact_task
from iblearn.functional import quadratic_classes_mi
from iblearn.functional.quadratic_classes import quadratic_pointwise, quadratic_shape


def _draw(name: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = get_exact_task(name).sample(n, seed=seed)
    return torch.as_tensor(x), torch.as_tensor(y)


def test_the_bootstrap_takes_the_fits_bias_off_classes_of_unequal_spreads():
    """Five classes of spreads 1 to 2 in ten columns, N = 1,000: the plug-in reads high, the corrected
    estimate holds the truth within three of its standard errors over eight draws."""
    task = get_exact_task("labels-spreads-5-line-10d")
    corrected, plug_in = [], []
    for seed in range(8):
        x, y = _draw(task.name, 1000, seed)
        corrected.append(float(quadratic_classes_mi(x, y, seed=seed)) - task.truth)
        plug_in.append(float(quadratic_classes_mi(x, y, seed=seed, bias_correction=False)) - task.truth)
    stderr = np.std(corrected) / np.sqrt(len(corrected))
    assert abs(np.mean(corrected)) < 3 * stderr + 0.005
    assert np.mean(plug_in) > np.mean(corrected)


def test_the_estimate_is_unchanged_by_an_invertible_map_of_x_to_its_monte_carlo_error():
    x, y = _draw("labels-spreads-3-triangle-2d", 1500, 0)
    value = float(quadratic_classes_mi(x, y))
    a = torch.tensor([[2.0, 0.5], [-0.3, 0.7]], dtype=torch.float64)
    assert float(quadratic_classes_mi(x @ a + 5.0, y)) == pytest.approx(value, abs=0.02)
    assert float(quadratic_classes_mi(x, y)) == value  # the draws come from the seed


def test_the_pointwise_terms_average_near_the_plug_in():
    x, y = _draw("labels-spreads-5-line-10d", 3000, 1)
    terms = quadratic_pointwise(x, y)
    assert terms.shape == (3000,)
    plug_in = float(quadratic_classes_mi(x, y, bias_correction=False))
    assert float(terms.mean()) == pytest.approx(plug_in, abs=5 * float(terms.std()) / np.sqrt(3000) + 0.02)


def test_the_shape_figure_centres_on_gaussian_classes_and_sees_tails_and_rectified_units():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    spread = 1.0 + 0.5 * y[:, None]
    gaussian = [
        quadratic_shape(
            torch.from_numpy(0.5 * y[:, None] + spread * rng.standard_normal((2000, 5))), torch.from_numpy(y)
        )
        for _ in range(8)
    ]
    assert abs(np.mean(gaussian)) < 1.5 and max(abs(z) for z in gaussian) < 4
    heavy = torch.from_numpy(0.5 * y[:, None] + rng.standard_t(3, (2000, 5)))
    relu = torch.from_numpy(np.maximum(rng.standard_normal((2000, 5)) + 0.5 * y[:, None], 0.0))
    relu += 0.01 * torch.from_numpy(rng.standard_normal((2000, 5)))
    assert quadratic_shape(heavy, torch.from_numpy(y)) > 10
    assert abs(quadratic_shape(relu, torch.from_numpy(y))) > 4


def test_bad_input_names_its_argument():
    x, y = _draw("labels-spreads-3-triangle-2d", 200, 0)
    with pytest.raises(ValueError, match="resamples"):
        quadratic_classes_mi(x, y, resamples=0)
    with pytest.raises(ValueError, match="draws"):
        quadratic_classes_mi(x, y, draws=10)
    assert float(quadratic_classes_mi(x, torch.zeros_like(y))) == 0.0  # one class: Y is constant
    with pytest.raises(ValueError, match="labels"):
        quadratic_classes_mi(x[:3], torch.arange(3))  # every class of one row
    lone = y.clone()
    lone[0] = 7  # a class of one row takes the pooled covariance
    assert float(quadratic_classes_mi(x, lone)) == pytest.approx(float(quadratic_classes_mi(x, y)), abs=0.05)
    with pytest.raises(ValueError, match="x"):
        quadratic_classes_mi(torch.zeros(5, 2, dtype=torch.long), y[:5])
