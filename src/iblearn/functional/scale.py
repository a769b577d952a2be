"""Exact rescaling, so that estimators that do not depend on the data's scale do not over the whole
float range either.

A standard deviation squares the values: from about 1e154 the squares overflow, below about 1e-154 they
underflow to 0, and a threshold on it calls a constant column of 1/3 non-constant (its mean rounds off
1/3, so the deviations are 1e-17, not 0). Dividing by a power of two near the largest magnitude first
brings every value into (-2, 2) and changes no digit (unless the quotient is subnormal, 2^-1022 below
the largest value); constancy is decided by comparing the values themselves.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def power_of_two_scale(t: Tensor, dim: int | None = None) -> Tensor:
    """The power of two at or below the largest magnitude of ``t`` (over ``dim``, or over everything),
    1 where that magnitude is 0; float64, on ``t``'s device, detached. Dividing by it is exact. Never
    leaves the device (a step of a differentiable estimator on a GPU reads nothing back for it)."""
    t = t.detach()
    # The largest magnitude as max(max, -min): two reads of t, no |t| written out.
    dims = () if dim is None else dim  # () reduces over every dimension
    return power_of_two_bits(torch.maximum(t.amax(dim=dims), t.amin(dim=dims).neg()))


def power_of_two_at_most(top: Tensor) -> Tensor:
    """:func:`power_of_two_scale` of values whose largest magnitudes are ``top`` (elementwise); on the
    CPU through numpy (kNN's sample preparation, host code already), elsewhere :func:`power_of_two_bits`."""
    if top.device.type == "cpu":  # the same powers by ldexp, exact down to 2^-1074, in fewer operations
        value = top.detach().to(torch.float64).numpy()
        _, exp = np.frexp(value)
        return torch.from_numpy(np.asarray(np.where(value > 0, np.ldexp(1.0, exp - 1), 1.0)))
    return power_of_two_bits(top)


def power_of_two_bits(top: Tensor) -> Tensor:
    """:func:`power_of_two_at_most` on ``top``'s device."""
    _, exponent = torch.frexp(top.to(torch.float64))
    power = exponent.to(torch.int64) - 1  # 2^power <= top < 2^(power + 1)
    # 2^power written as float64 bits, on t's device (no copy to the host and back): exact down to
    # 2^-1074, where a power computed by pow or exp2 need not be. Normal: the biased exponent alone;
    # subnormal (below 2^-1022): one mantissa bit.
    normal = (power + 1023).clamp(0, 2046) << 52
    subnormal = torch.ones_like(power) << (power + 1074).clamp(0, 51)
    scale = torch.where(power >= -1022, normal, subnormal).view(torch.float64)
    return torch.where(top > 0, scale, torch.ones_like(scale))


def constant_columns(t: Tensor) -> Tensor:
    """Columns of ``t (N, d)`` whose every value equals the first, exactly: ``(d,)`` bool."""
    return (t == t[:1]).all(dim=0)
