"""Settings assigned after construction are checked as the constructor checks them, with its message
(non-parametric and neural estimators alike);
the logarithm's base takes numpy and torch real scalars; a z that determines x is named as the reason
no standard error exists."""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from iblearn.estimators import (
    AAMINE,
    DIM,
    KSG,
    MINE,
    NWJ,
    SMILE,
    Binning,
    GaussianMI,
    InfoNCE,
    MixedKSG,
    RenyiMI,
)
from iblearn.estimators.base import Estimator

torch.set_num_threads(1)

BAD = [
    (RenyiMI, "normalize", "no"),
    (RenyiMI, "alpha", 0.0),
    (RenyiMI, "alpha", math.nan),
    (RenyiMI, "sigma_x", -1.0),
    (RenyiMI, "sigma_y", "scott"),
    (RenyiMI, "channels_x", "sum"),
    (KSG, "variant", True),
    (KSG, "variant", 2.0),
    (KSG, "k", True),
    (KSG, "k", 0),
    (KSG, "standardize", "no"),
    (KSG, "ties", "drop"),
    (KSG, "backend", "gpu"),
    (KSG, "seed", 1.5),
    (MixedKSG, "metric", "cosine"),
    (Binning, "n_bins", 0),
    (Binning, "strategy", "kmeans"),
    (Binning, "correction", "jackknife"),
    (GaussianMI, "rtol", -1.0),
    (GaussianMI, "bias_correction", "yes"),
    (NWJ, "lr", 0),
    (NWJ, "hidden", (0,)),
    (NWJ, "average", 2.0),
    (NWJ, "seed", 1.5),
    (NWJ, "validation", 1.0),
    (NWJ, "patience", 0),
    (NWJ, "eval_every", True),
    (NWJ, "eval_batch_size", 1),
    (NWJ, "n_negatives", 0),
    (NWJ, "y_classes", 0),
    (MINE, "rate", 0.0),
    (MINE, "clip", -1.0),
    (InfoNCE, "chunk", 0),
    (SMILE, "clip", None),
    (DIM, "mode", "mid"),
    (DIM, "module_bound", "dv"),
    (DIM, "embed_dim", 0),
    *[
        (cls, "base", b)
        for cls in (KSG, RenyiMI, GaussianMI)
        for b in (math.nan, math.inf, 1, 0, -2.0, True, "2")
    ],
]


@pytest.mark.parametrize(("cls", "name", "value"), BAD, ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in BAD])
def test_a_bad_setting_assigned_later_is_refused_as_the_constructor_refuses_it(cls, name, value):
    with pytest.raises(ValueError) as built:
        cls(**{name: value})
    est = cls()
    before = getattr(est, name)
    with pytest.raises(ValueError, match=re.escape(str(built.value))):
        setattr(est, name, value)
    assert getattr(est, name) == before  # left as it was
    assert str(built.value).startswith(f"{name}: ")


def test_a_setting_of_an_estimator_over_a_network_is_checked_on_assignment():
    est = AAMINE(torch.nn.Linear(2, 2), 0.1, hidden=(4,))
    with pytest.raises(ValueError, match="noise_std: must be a finite number >= 0"):
        est.noise_std = -1.0
    with pytest.raises(ValueError, match="architecture_aware: expected True or False"):
        est.architecture_aware = "yes"
    assert (est.noise_std, est.architecture_aware) == (0.1, True)


def test_a_good_setting_assigned_later_is_kept_as_the_constructor_keeps_it():
    est = KSG()
    est.k, est.variant, est.base = np.int64(5), np.int64(2), np.float32(2.0)
    assert (est.k, est.variant, est.base) == (5, 2, 2.0)
    assert type(est.k) is int and type(est.variant) is int and type(est.base) is float
    x = torch.randn(200, 1, generator=torch.Generator().manual_seed(0))
    assert est(x, x + 0.5 * torch.randn(200, 1)).unit == "bits"


@pytest.mark.parametrize("base", [np.float32(2.5), np.float64(2.5), np.int64(2), torch.tensor(2.0), 2, 10.0])
def test_numpy_and_torch_real_scalars_are_bases(base):
    assert KSG(base=base).base == pytest.approx(float(base))


@pytest.mark.parametrize(
    ("base", "reason"),
    [
        (math.nan, "must be finite"),
        (np.float32("inf"), "must be finite"),
        (10**400, "must be finite"),
        (1, "must be positive and not 1"),
        (torch.tensor(1.0), "must be positive and not 1"),
        (-2, "must be positive and not 1"),
        (True, "expected a real number"),
        (torch.tensor([2.0]), "expected a real number"),
        (torch.tensor(2 + 0j), "expected a real number"),
        ("e", "expected a real number"),
    ],
)
def test_a_bad_base_is_refused_for_what_is_wrong_with_it(base, reason):
    with pytest.raises(ValueError, match=f"base: .*{reason}"):
        KSG(base=base)


def test_a_subclass_inherits_the_checks_and_adds_its_own():
    class Thing(Estimator):
        setting_checks: ClassVar[dict[str, Any]] = {"size": lambda value, name: int(value)}

        def __init__(self, size: int = 1, **kwargs) -> None:
            self.size = size
            super().__init__(**kwargs)

    thing = Thing(size=3.7)
    assert thing.size == 3
    with pytest.raises(ValueError, match="base: the logarithm's base must be finite"):
        thing.base = math.inf
    thing.other = "anything"  # not a setting: unchecked


@pytest.mark.parametrize("which", ["x", "y"])
def test_a_z_that_determines_x_or_y_is_named_when_resampling(which):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 1, generator=g, dtype=torch.float64)
    y = x + torch.randn(300, 1, generator=g, dtype=torch.float64)
    z = torch.cat([x, x], 1) if which == "x" else torch.cat([y, 2 * y], 1)
    assert float(GaussianMI()(x, y, z=z)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match=f"z: determines {which} linearly .*collinear"):
        GaussianMI()(x, y, z=z, n_resamples=20)


def test_a_z_that_does_not_determine_x_or_y_resamples():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(300, 2, generator=g, dtype=torch.float64)
    x = z[:, :1] + torch.randn(300, 1, generator=g, dtype=torch.float64)
    y = x + z[:, 1:] + torch.randn(300, 1, generator=g, dtype=torch.float64)
    assert GaussianMI()(x, y, z=z, n_resamples=20).stderr > 0


@pytest.mark.parametrize(("name", "value"), [("hidden", (8,)), ("average", None), ("seed", 3), ("x_dim", 2)])
def test_a_setting_the_network_is_built_from_is_refused_once_it_is_built(name, value):
    est = MINE()
    before = est.settings()
    with pytest.raises(ValueError, match=rf"^{name}: the network is built from it when the estimator"):
        setattr(est, name, value)
    assert est.settings() == before  # what it reports is still the network it has
    est.lr = 1e-4  # a setting each training step reads stays free to change
    assert est.settings()["lr"] == 1e-4
