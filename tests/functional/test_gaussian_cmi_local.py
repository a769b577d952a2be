"""gaussian_cmi(local=True): the per-sample log-density ratios of the fitted Gaussian, whose mean is the
estimate, against the closed form and through the rank-dropping step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from iblearn.functional import gaussian_cmi, gaussian_mi
from iblearn.functional.gaussian import canonical_bases, gaussian_local_mi_of_bases

torch.set_num_threads(1)


def samples(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 1, generator=g, dtype=torch.float64)
    x = z @ torch.tensor([[1.0, -0.5]], dtype=torch.float64) + torch.randn(
        n, 2, generator=g, dtype=torch.float64
    )
    y = x @ torch.tensor([[0.8, 0.1], [0.0, 0.6]], dtype=torch.float64) + 0.5 * z
    return x, y + torch.randn(n, 2, generator=g, dtype=torch.float64), z


def test_local_values_are_the_log_density_ratio_of_the_sample_gaussian() -> None:
    # x and y 2 x 2 given z: log p(x, y, z) + log p(z) - log p(x, z) - log p(y, z), each the Gaussian
    # with the sample covariance (divisor N) of the centred rows.
    x, y, z = samples(400, seed=0)
    rows = torch.cat([x, y, z], 1).numpy()
    rows = rows - rows.mean(0)
    cov = rows.T @ rows / len(rows)

    def logpdf(cols: list[int]) -> np.ndarray:
        return multivariate_normal(np.zeros(len(cols)), cov[np.ix_(cols, cols)]).logpdf(rows[:, cols])

    truth = logpdf([0, 1, 2, 3, 4]) + logpdf([4]) - logpdf([0, 1, 4]) - logpdf([2, 3, 4])
    local = gaussian_cmi(x, y, z, local=True)
    assert local.shape == (400,)
    assert local.numpy() == pytest.approx(truth, abs=1e-9)


def test_the_mean_of_the_local_values_is_the_estimate() -> None:
    x, y, z = samples(300, seed=1)
    labels = (z[:, 0] > 0).long() + (z[:, 0] > 1).long()
    for cond in (z, labels, torch.cat([z, x[:, :1] ** 2], 1)):
        local = gaussian_cmi(x, y, cond, local=True)
        assert float(local.mean()) == pytest.approx(float(gaussian_cmi(x, y, cond)), abs=1e-9)


def test_collinear_columns_dropped_leave_the_local_values_unchanged() -> None:
    # x's third column is the sum of the others: the rank-dropping step removes it, and the model (so
    # each local value) is that of the two columns.
    x, y, z = samples(300, seed=2)
    wide = torch.cat([x, x[:, :1] + x[:, 1:]], 1)
    local = gaussian_cmi(wide, y, z, local=True)
    assert float(local.mean()) == pytest.approx(float(gaussian_cmi(wide, y, z)), abs=1e-9)
    assert local.numpy() == pytest.approx(gaussian_cmi(x, y, z, local=True).numpy(), abs=1e-9)


def test_z_that_determines_x_gives_zero_local_values() -> None:
    _, y, z = samples(200, seed=3)
    local = gaussian_cmi(2 * z, y, z, local=True)
    assert local.shape == (200,) and bool((local == 0).all())


def test_local_gaussian_mi_of_one_column_is_the_regression_form() -> None:
    # the linear-Gaussian local information of the transfer entropy: -1/2 log(s_e^2 / s_y^2)
    # - e^2 / (2 s_e^2) + y^2 / (2 s_y^2), e the residual of y on x.
    x, y, _ = samples(500, seed=4)
    xc, yc = (x - x.mean(0)).numpy(), (y[:, 0] - y[:, 0].mean()).numpy()
    e = yc - xc @ np.linalg.lstsq(xc, yc, rcond=None)[0]
    sy, se = yc @ yc / len(yc), e @ e / len(e)
    truth = -0.5 * np.log(se / sy) - e**2 / (2 * se) + yc**2 / (2 * sy)
    local = gaussian_local_mi_of_bases(*canonical_bases(x, y[:, :1]))
    assert local.numpy() == pytest.approx(truth, abs=1e-9)
    assert float(local.mean()) == pytest.approx(float(gaussian_mi(x, y[:, :1])), abs=1e-12)


def test_local_must_be_a_flag() -> None:
    x, y, z = samples(50, seed=5)
    with pytest.raises(ValueError, match="local"):
        gaussian_cmi(x, y, z, local="yes")  # type: ignore[arg-type]
