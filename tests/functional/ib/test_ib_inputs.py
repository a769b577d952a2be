"""The exact IB's tools on inputs a caller brings from elsewhere: a joint that carries a gradient, and
the curve's read-outs given what is not a number."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn import functional as ibf
from iblearn.functional.ib.exact import maximal_correlation_squared, upper_envelope

torch.set_num_threads(1)

JOINT = [[0.45, 0.05], [0.05, 0.45]]  # a binary symmetric channel, eps = 0.1: beta_c = 1 / 0.64


@pytest.mark.parametrize("search", ["combined", "anneal", "thorough"])
def test_a_joint_that_requires_grad_gives_the_same_curve(search):
    """A joint computed by a model (a softmax's output) carries a gradient; the solver reads its values."""
    plain = ibf.ib_curve(torch.tensor(JOINT, dtype=torch.float64), [1.0, 4.0], search=search)
    graded = torch.tensor(JOINT, dtype=torch.float64, requires_grad=True)
    curve = ibf.ib_curve(graded, [1.0, 4.0], search=search)
    torch.testing.assert_close(curve.i_ty, plain.i_ty, rtol=0, atol=1e-12)
    assert not curve.i_ty.requires_grad
    assert ibf.dib_exhaustive(graded, [4.0]).i_ty.shape == (1,)


def test_the_curve_read_at_what_is_not_a_number_is_refused():
    curve = ibf.ib_curve(JOINT, [1.0, 4.0, 16.0])
    assert float(curve.i_ty_at(0.0)) == 0.0
    for bad in ("a", math.nan, [0.1, math.inf], True):
        with pytest.raises(ValueError, match=r"^i_xt: "):
            curve.i_ty_at(bad)


def test_envelope_of_points_of_unequal_counts_is_refused():
    with pytest.raises(ValueError, match=r"^y: "):
        upper_envelope([0.0, 1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"^x: "):
        upper_envelope([0.0, math.nan], [0.0, 1.0])


def test_maximal_correlation_of_a_joint_with_a_gradient():
    p = torch.tensor(JOINT, dtype=torch.float64, requires_grad=True)
    value = maximal_correlation_squared(p)
    assert value.requires_grad and abs(float(value.detach()) - 0.64) < 1e-12
