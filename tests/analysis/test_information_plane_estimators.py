"""InformationPlane takes any estimator, as an object or by registry name, besides its own methods."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from iblearn.analysis.information_plane import InformationPlane
from iblearn.estimators import KSG, GaussianMI, MixedKSG


def _setup():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    return net, torch.randn(60, 2), torch.arange(60) % 2


def test_an_estimator_object_or_registry_name_measures_the_plane():
    net, x, y = _setup()
    plane = InformationPlane(net, ["1"], x, y, ixt=KSG(k=3), ity=MixedKSG(base=2), base=2)
    # An estimator measures the plain I(X; T): the Theorem 1 warning applies.
    with pytest.warns(UserWarning, match="I\\(X; T\\) is infinite"):
        plane.record(0)
    own = InformationPlane(net, ["1"], x, y, ixt="ksg", ity="mixed_ksg", base=2)
    with pytest.warns(UserWarning):
        own.record(0)
    (p,), (q,) = plane.result().points, own.result().points
    assert (p.ixt, p.ity) == pytest.approx((q.ixt, q.ity), rel=1e-12)  # the estimator's base is undone
    assert plane.result().ixt_method == "ksg"
    by_name = InformationPlane(net, ["1"], x, y, ixt="gaussian", ity="quantized")
    with pytest.warns(UserWarning):
        by_name.record(0)
    assert by_name.result().ixt_method == "gaussian" and math.isfinite(by_name.result().points[0].ixt)
    assert isinstance(by_name._ixt_estimator, GaussianMI)


def test_an_unknown_name_is_refused_naming_the_argument():
    net, x, y = _setup()
    with pytest.raises(ValueError, match=r"ixt: expected one of 'binning'.*a registered estimator's name"):
        InformationPlane(net, ["1"], x, y, ixt="kraskov")
