"""The information plane's exact IB curve: the data's joint, the gaps below the curve, the picture."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from iblearn.analysis import InformationPlane, data_joint

torch.set_num_threads(1)


def four_bit_task() -> tuple[torch.Tensor, torch.Tensor]:
    bits = ((torch.arange(16)[:, None] >> torch.arange(4)) & 1).float() * 2 - 1
    x = bits.repeat(3, 1)  # each pattern three times, with labels that differ: a noisy rule
    y = torch.cat([(bits.sum(1) > 0).long(), (bits[:, 0] > 0).long(), (bits.sum(1) > 0).long()])
    return x, y


def test_data_joint_counts_distinct_rows():
    x, y = four_bit_task()
    joint = data_joint(x, y)
    assert joint.shape == (16, 2) and float(joint.sum()) == pytest.approx(1.0)
    assert bool(((joint * 48).round() == joint * 48).all())
    assert data_joint(x + 0.01 * torch.randn(48, 4), y, n_bins=2).shape == (16, 2)
    with pytest.raises(ValueError, match="sample counts"):
        data_joint(x, y[:5])


def test_binned_layers_lie_below_the_curve(tmp_path):
    """A layer of a deterministic network is a function of the input row, so its plug-in point is a
    point of the data's joint, on or below its IB curve; the curve's ends are the data-processing bounds."""
    torch.manual_seed(1)
    x, y = four_bit_task()
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2), nn.Tanh())
    plane = InformationPlane(net, ["1", "3"], x, y, n_bins=4, bound=True, base=2, input_kind="discrete")
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for epoch in range(3):
        plane.record(epoch)
        opt.zero_grad()
        nn.functional.cross_entropy(net[:3](x), y).backward()
        opt.step()
    result = plane.result()
    assert result.bound is not None and min(result.gaps()) > -1e-9
    assert result.bound.h_x == pytest.approx(math.log(16))
    assert 0 < result.bound.i_xy < math.log(2)  # the rule is noisy: X does not fix Y
    fig = result.plot(tmp_path / "plane.png")
    assert (tmp_path / "plane.png").stat().st_size > 0 and "IB curve" in [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()
    ]


def test_a_given_joint_and_no_bound():
    x, y = four_bit_task()
    net = nn.Sequential(nn.Linear(4, 2), nn.Tanh())
    given = torch.full((4, 2), 1 / 8, dtype=torch.float64)
    plane = InformationPlane(net, ["1"], x, y, bound=given, input_kind="discrete")
    assert plane.bound is not None and plane.bound.i_xy == pytest.approx(0.0, abs=1e-12)
    plain = InformationPlane(net, ["1"], x, y, input_kind="discrete")
    plain.record(0)
    assert plain.result().bound is None
    with pytest.raises(ValueError, match="bound"):
        plain.result().gaps()
    with pytest.raises(ValueError, match="pxy"):
        InformationPlane(net, ["1"], x, y, bound=torch.ones(2, 2), input_kind="discrete")
