"""The proximal term of :class:`~iblearn.optim.ProximalSplit`: lam/2 D(z - z~), z~ = z - beta grad_z L
(Han et al. 2023, eqs. 4-7), under each reading of eq. (5) and each constraint D."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def constraint_norm(name: str, delta: float) -> Callable[[Tensor], Tensor]:
    """D: ``"l2"`` (the squared norm, the paper's), ``"l1"`` or ``"huber"`` (with ``delta``), summed."""
    if name == "l2":
        # One dot product: the squares of tiny entries stay inside it instead of forming a tensor of
        # subnormal numbers.
        return lambda v: torch.dot(v.reshape(-1), v.reshape(-1))
    if name == "l1":
        return lambda v: v.abs().sum()
    if name == "huber":
        return lambda v: F.huber_loss(v, torch.zeros_like(v), reduction="sum", delta=delta)
    raise ValueError(f"constraint: expected 'l2', 'l1' or 'huber', got {name!r}")


def drop_negligible(grad: Tensor) -> Tensor:
    """``grad`` with the entries below its dtype's epsilon times its largest set to zero.

    Hooked on grad_z L, it trims the vector that the second-order term sends back through g. On a
    fitted batch a row's grad_z L and its softmax curvature are both tiny, and their product fell below
    ``finfo.tiny`` in every layer back to theta: tens of thousands of subnormal numbers a step, which
    many CPUs handle in slow microcode. Such an entry's share of the gradient is below the rounding of
    the largest entry's, so the update is the same up to float rounding.
    """
    size = grad.detach().abs()
    return grad.masked_fill(size < torch.finfo(grad.dtype).eps * size.max(), 0)


def penalty(zs: tuple[Tensor, ...], grads_z: tuple[Tensor, ...], group: dict[str, Any]) -> Tensor:
    """The proximal term whose gradient theta follows, for the settings of ``group`` (a param group)."""
    norm = constraint_norm(group["constraint"], group["huber_delta"])
    beta, lam = group["beta"], group["lam"]
    if group["order"] == 1:
        # eq. (4)/(6): the target z~ = z - beta grad_z L is a constant.
        steps = [beta * g.detach() for g in grads_z]
    else:
        steps = [beta * g for g in grads_z]
    if group["order"] == 2 and not group["keep_first_order"]:
        # the literal eq. (5)/(7): theta sees lam/2 D(beta grad_z L) only through grad_z L.
        return torch.stack([lam / 2 * norm(s) for s in steps]).sum()
    # z - z~ with z~ = sg(z) - beta grad_z L (kept reading: eq. (5) read as substituting z~ into
    # eq. (4), so theta sees both f(x; theta) and grad_z L; for l2, lam beta (grad_theta L + beta/2
    # grad_theta ||g||^2)). Written z - sg(z) + beta grad_z L, which is exactly beta grad_z L in
    # value: z - (z - beta g) rounds beta g to the spacing of the floats near z.
    return torch.stack([lam / 2 * norm(z - z.detach() + s) for z, s in zip(zs, steps, strict=True)]).sum()
