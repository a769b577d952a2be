"""LARS: layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017), a baseline of Vasudevan (2020)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor


class LARS(torch.optim.Optimizer):
    """SGD with momentum whose step for each parameter tensor w is scaled by its trust ratio
    (You et al. 2017, Algorithm 1):

        local_lr = eta * ||w|| / (||g|| + beta * ||w||)      (1 if ||w|| or ||g|| is 0)
        v <- m * v + lr * local_lr * (g + beta * w)
        w <- w - v

    with g the gradient, beta the weight decay, eta the trust coefficient and lr the global rate
    (You et al. decay it polynomially; use a scheduler). ``exclude_1d`` leaves biases and norm layers
    out of the scaling and the decay, as is common practice.

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
        >>> opt = LARS([w], lr=1.0, momentum=0.0, trust_coefficient=0.1)
        >>> w.grad = torch.tensor([0.6, 0.8])   # ||w|| = 5, ||g|| = 1: local_lr = 0.1 * 5 / 1
        >>> opt.step()
        >>> [round(v, 4) for v in w.detach().tolist()]  # w - 0.5 g
        [2.7, 3.6]
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust_coefficient: float = 0.001,
        eps: float = 1e-9,
        exclude_1d: bool = False,
    ) -> None:
        for value, name in ((lr, "lr"), (trust_coefficient, "trust_coefficient")):
            if not value > 0:
                raise ValueError(f"{name}: must be positive, got {value!r}")
        for value, name in ((momentum, "momentum"), (weight_decay, "weight_decay"), (eps, "eps")):
            if not value >= 0:
                raise ValueError(f"{name}: must be >= 0, got {value!r}")
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "weight_decay": weight_decay,
                "trust_coefficient": trust_coefficient,
                "eps": eps,
                "exclude_1d": exclude_1d,
            },
        )

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                scaled = not (group["exclude_1d"] and p.ndim <= 1)
                decay = group["weight_decay"] if scaled else 0.0
                local = 1.0
                if scaled:
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
                    if float(w_norm) > 0 and float(g_norm) > 0:
                        local = float(
                            group["trust_coefficient"] * w_norm / (g_norm + decay * w_norm + group["eps"])
                        )
                update = (g + decay * p) * (group["lr"] * local)
                buf = self.state[p].get("momentum_buffer")
                if buf is None:
                    buf = self.state[p]["momentum_buffer"] = update.clone()
                else:
                    buf.mul_(group["momentum"]).add_(update)
                p.sub_(buf)
        return loss
