"""``est(x, y, z=z)``: KSG and GaussianMI estimate I(X; Y | Z) as the functions do, with a standard error
and a local-permutation p-value for conditional independence; and ``iblearn estimate --cond``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn import functional as ibf
from iblearn.cli import main
from iblearn.estimators import KSG, GaussianMI, MIEstimate, MixedKSG, get_estimator
from tests.conftest import common_cause, gen


@pytest.mark.parametrize(
    ("est", "function"),
    [(KSG(k=4, seed=3), lambda x, y, z: ibf.ksg_cmi(x, y, z, 4, seed=3)), (GaussianMI(), ibf.gaussian_cmi)],
    ids=["ksg", "gaussian"],
)
def test_object_with_z_equals_the_function(est, function):
    x, y, z = common_cause(400, seed=0, coupling=0.5)
    result = est(x, y, z=z)
    assert isinstance(result, MIEstimate) and result.n_samples == 400 and result.estimator == est.name
    assert float(result) == float(function(x, y, z))
    labels = (z[:, 0] > 0).long()
    assert float(est(x, y, z=labels)) == float(function(x, y, labels))
    in_bits = type(est)(**{**est.settings(), "base": 2})(x, y, z=z)
    assert float(in_bits) == pytest.approx(float(result) / math.log(2), rel=1e-12) and in_bits.unit == "bits"


def test_without_z_nothing_changes():
    x, y, _ = common_cause(300, seed=1)
    assert float(KSG()(x, y)) == float(ibf.ksg_mi(x, y))
    assert float(GaussianMI()(x, y, z=None)) == float(ibf.gaussian_mi(x, y))
    result = KSG()(x, y, n_permutations=9, seed=2)
    assert result.p_value == pytest.approx(0.1)  # the global shuffle, for independence: all below


@pytest.mark.parametrize("name", ["ksg", "gaussian"])
def test_standard_error_with_z(name):
    x, y, z = common_cause(400, seed=2, coupling=0.5)
    est = get_estimator(name)
    result = est(x, y, z=z, n_resamples=8, seed=1)
    assert result.stderr is not None and 0 < result.stderr < 0.2
    assert result.stderr_method == ("half-sampling jackknife" if name == "ksg" else "bootstrap")
    assert float(result) == float(est(x, y, z=z))  # resampling leaves the estimate alone
    assert est(x, y, z=z, n_resamples=8, seed=1).stderr == result.stderr  # seeded


@pytest.mark.parametrize("name", ["ksg", "gaussian"])
def test_p_value_small_under_conditional_dependence(name):
    x, y, z = common_cause(300, seed=3, coupling=0.5)
    result = get_estimator(name)(x, y, z=z, n_permutations=19, seed=0)
    assert result.p_value == pytest.approx(0.05) and result.n_permutations == 19  # the smallest there is


def test_p_value_not_small_under_conditional_independence():
    # x and y strongly dependent (I = 0.51), independent given z: a global shuffle gives p = 1/20 every
    # time; the local permutations keep x's dependence on z. Over 40 seeds of this set-up the p-values
    # spread over [0.1, 1] with mean 0.53 (none <= 0.05); at N = 500 with 49 permutations, over 30
    # seeds, mean 0.55 and 1 of 30 <= 0.05.
    p_values = []
    for seed in range(8):
        x, y, z = common_cause(300, seed=10 + seed)
        p_values.append(KSG()(x, y, z=z, n_permutations=19, seed=seed).p_value)
    assert min(p_values) > 0.05 and np.mean(p_values) > 0.2  # 0.27 here
    x, y, z = common_cause(300, seed=10)
    assert KSG()(x, y, n_permutations=19).p_value == pytest.approx(0.05)  # the wrong (global) test


@pytest.mark.slow
def test_p_values_roughly_uniform_under_conditional_independence():
    p_values = []
    for seed in range(40):
        x, y, z = common_cause(300, seed=100 + seed)
        p_values.append(KSG()(x, y, z=z, n_permutations=49, seed=seed).p_value)
    assert 0.35 < float(np.mean(p_values)) < 0.65
    assert sum(p <= 0.05 for p in p_values) <= 6  # 2 expected at the 5% level


def test_discrete_condition_p_value_shuffles_within_classes():
    g = gen(4)
    labels = torch.randint(0, 3, (300,), generator=g)
    x = labels[:, None].double() + torch.randn(300, 1, generator=g)
    y = labels[:, None].double() + torch.randn(300, 1, generator=g)
    assert GaussianMI()(x, y, z=labels, n_permutations=19).p_value > 0.05


def test_bad_settings_with_z_are_refused():
    x, y, z = common_cause(100, seed=5)
    with pytest.raises(ValueError, match="variant"):
        KSG(variant=2)(x, y, z=z)
    with pytest.raises(ValueError, match="n_permutations"):
        KSG()(x, y, z=z, n_permutations=-1)
    with pytest.raises(ValueError, match="n_resamples"):
        GaussianMI()(x, y, z=z, n_resamples=1)
    with pytest.raises(ValueError, match="sample counts differ"):
        KSG()(x, y, z=z[:50])
    with pytest.raises(TypeError):
        MixedKSG()(x, (y[:, 0] > 0).long(), z=z)  # no conditional form


def test_cli_estimate_with_cond(tmp_path, capsys):
    x, y, z = common_cause(500, seed=6, coupling=0.5)
    for name, value in (("x", x), ("y", y), ("z", z), ("labels", (z[:, 0] > 0).long())):
        np.save(tmp_path / f"{name}.npy", value.numpy())
    paths = [str(tmp_path / "x.npy"), str(tmp_path / "y.npy")]
    assert main(["estimate", *paths, "--cond", str(tmp_path / "z.npy"), "--permutations", "9"]) == 0
    printed = capsys.readouterr().out
    assert f"I(X;Y|Z) = {float(ibf.ksg_cmi(x, y, z)):.4f} nats" in printed
    assert "p-value: 0.1, from 9 permutations" in printed and "independent given Z" in " ".join(
        printed.split()
    )
    labels = str(tmp_path / "labels.npy")
    assert main(["estimate", *paths, "--cond", labels, "--method", "gaussian"]) == 0
    assert f"I(X;Y|Z) = {float(ibf.gaussian_cmi(x, y, (z[:, 0] > 0).long())):.4f}" in capsys.readouterr().out
    assert main(["estimate", *paths, "--cond", labels, "--method", "binning"]) == 2
    assert "--method: binning does not estimate conditional MI" in capsys.readouterr().err
    assert main(["estimate", *paths, "--cond", str(tmp_path / "missing.npy")]) == 2
    assert "--cond: no such file" in capsys.readouterr().err
