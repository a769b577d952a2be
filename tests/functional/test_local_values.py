"""Local (pointwise) values of the conditional MI, the transfer entropy and the active information
storage: one value per sample (or embedded time point) whose mean is the estimate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn.functional import information_dynamics as dyn
from iblearn.functional.knn.transfer import ksg_transfer_entropy

torch.set_num_threads(1)


def _gaussian(n: int = 600, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 1, generator=g, dtype=torch.float64)
    x = z + torch.randn(n, 1, generator=g, dtype=torch.float64)
    y = x + z + torch.randn(n, 1, generator=g, dtype=torch.float64)
    return x, y, z


def _switching(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y copies x one step later in alternate blocks of 100 steps, and is noise in the others."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    on = (np.arange(n) // 100) % 2 == 0
    y = rng.standard_normal(n)
    y[1:] = np.where(on[1:], 0.9 * x[:-1] + 0.3 * y[1:], y[1:])
    return x, y, on


def test_ksg_cmi_local_mean_is_estimate() -> None:
    x, y, z = _gaussian()
    local = ibf.ksg_cmi(x, y, z, local=True)
    assert local.shape == (600,) and local.dtype == torch.float64
    assert abs(float(local.mean()) - float(ibf.ksg_cmi(x, y, z))) < 1e-10


def test_ksg_cmi_local_discrete_z_mean_is_estimate() -> None:
    x, y, _ = _gaussian()
    classes = torch.arange(600) % 3
    local = ibf.ksg_cmi(x, y, classes, local=True)
    assert local.shape == (600,)
    assert abs(float(local.mean()) - float(ibf.ksg_cmi(x, y, classes))) < 1e-10


def test_knn_transfer_entropy_local_mean_and_time_points() -> None:
    x, y, _ = _switching(800)
    local = ksg_transfer_entropy(x, y, lag=1, history=2, local=True)
    assert local.shape == (800 - 2,)
    assert abs(float(local.mean()) - float(ksg_transfer_entropy(x, y, lag=1, history=2))) < 1e-10


@pytest.mark.parametrize("method", ["ksg", "gaussian", "copula"])
def test_dynamics_local_means_are_estimates(method: str) -> None:
    x, y, _ = _switching(600)
    w = np.roll(x, 3)
    tol = 1e-10 if method == "ksg" else 1e-9
    ais = dyn.active_information_storage(y, history=2, method=method, local=True)
    assert ais.shape == (598,)
    assert abs(float(ais.mean()) - float(dyn.active_information_storage(y, 2, method))) < tol
    te = dyn.transfer_entropy(x, y, 1, 1, method, condition=w, condition_lag=2, local=True)
    assert te.shape == (598,)
    plain = dyn.transfer_entropy(x, y, 1, 1, method, condition=w, condition_lag=2)
    assert abs(float(te.mean()) - float(plain)) < tol


@pytest.mark.parametrize("method", ["ksg", "gaussian"])
def test_local_transfer_entropy_is_higher_where_the_coupling_is_on(method: str) -> None:
    x, y, on = _switching()
    local = dyn.transfer_entropy(x, y, method=method, local=True).numpy()
    on = on[1:]  # the embedded time points t = 1, ..., T - 1
    assert local[on].mean() > 0.3 > 0.0 > local[~on].mean()
    knn = ksg_transfer_entropy(x, y, local=True).numpy()
    assert knn[on].mean() > 0.3 > 0.0 > knn[~on].mean()


def test_local_flag_is_checked() -> None:
    x, y, z = _gaussian(50)
    with pytest.raises(ValueError, match="local"):
        ibf.ksg_cmi(x, y, z, local="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="local"):
        ibf.transfer_entropy(x[:, 0], y[:, 0], local=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="local"):
        dyn.active_information_storage(x[:, 0], local="no")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="z"):
        ibf.ksg_cmi(x, y, z[:40], local=True)


def test_the_one_transfer_entropy_returns_an_estimate_and_its_local_values() -> None:
    from iblearn import network

    x, y, _ = _switching(600)
    est = ibf.transfer_entropy(x, y, k=3)
    assert isinstance(est, ibf.Estimate) and est.measure == "transfer_entropy"
    assert float(est) == float(ksg_transfer_entropy(x, y, k=3))  # the kNN math underneath
    local = ibf.transfer_entropy(x, y, local=True)
    assert local.shape == (599,) and abs(float(local.mean()) - float(ibf.transfer_entropy(x, y))) < 1e-10
    assert ibf.transfer_entropy is network.transfer_entropy
