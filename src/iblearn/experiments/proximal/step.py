"""One training step of ``iblearn reproduce proximal`` (Han et al. 2023): the optimizer of each method
(ProximalSplit, plain backprop, backprop at the split's rates), the closures that run f and g on a batch,
the step of either kind of optimizer, and the size of eq. (5)'s second-order term next to eq. (4)'s."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn.experiments.proximal.config import Config, Method, theta_rate
from iblearn.optim import NonFiniteStepError, ProximalSplit


def optimizer_class(name: str) -> Any:  # an optimizer class; called with (params, lr=...)
    """The optimizer class of ``name`` (``--set optimizers``): Adam, AdamW, NAdam, SGD or AdamP."""
    if name == "AdamP":
        try:
            from adamp import AdamP
        except ImportError as err:
            raise ValueError("optimizers: AdamP needs the adamp package (pip install adamp)") from err
        return AdamP  # type: ignore[no-any-return]
    options = {
        "Adam": torch.optim.Adam,
        "AdamW": torch.optim.AdamW,
        "NAdam": torch.optim.NAdam,
        "SGD": torch.optim.SGD,
    }
    if name not in options:
        raise ValueError(f"optimizers: unknown optimizer {name!r}; known: {', '.join([*options, 'AdamP'])}")
    return options[name]


def build_optimizer(
    method: Method,
    f: nn.Module,
    g: nn.Module,
    opt_name: str,
    settings: tuple[float, float, float],
    lam: float,
) -> Any:  # torch.optim.Optimizer, or ProximalSplit (step takes a closure)
    alpha, beta, gamma = settings
    gamma = method.gamma if method.gamma is not None else gamma
    cls = optimizer_class(opt_name)
    if method.kind == "backprop":
        return cls([*f.parameters(), *g.parameters()], lr=method.lr or alpha)
    if method.kind == "split-lr":
        rate = theta_rate(opt_name, beta, gamma, lam)
        return cls([{"params": f.parameters(), "lr": rate}, {"params": g.parameters()}], lr=alpha)
    return ProximalSplit(
        f.parameters(),
        g.parameters(),
        cls,
        lr_backward=alpha,
        lr_forward=gamma,
        beta=beta,
        lam=lam,
        order=method.order,
        keep_first_order=method.keep_first_order,
        constraint=method.constraint,
    )


Closure = Callable[[], tuple[Tensor, Any]]


def train_step(opt: Any, closure: Closure) -> float:
    """One step of either kind of optimizer; the loss before it, NaN where the step was refused."""
    if isinstance(opt, ProximalSplit):
        try:
            return float(opt.step(closure))
        except NonFiniteStepError:
            return math.nan
    opt.zero_grad()
    loss = closure()[0]
    if not torch.isfinite(loss):
        return math.nan
    loss.backward()
    opt.step()
    return float(loss.detach())


def second_order_ratio(f: nn.Module, closure: Closure, beta: float) -> float:
    """||beta/2 grad_theta ||grad_z L||^2|| / ||grad_theta L|| at the current parameters: the size of
    eq. (5)'s term next to eq. (4)'s in the kept reading's l2 step. Buffers (BatchNorm statistics) and
    the global RNG are left as they were."""
    theta = [p for p in f.parameters() if p.requires_grad]
    buffers = [b.clone() for b in f.buffers()]
    with torch.enable_grad(), torch.random.fork_rng(devices=[]):
        loss, z = closure()
        zs = (z,) if isinstance(z, Tensor) else tuple(z)
        grads_z = torch.autograd.grad(loss, zs, create_graph=True)
        first = torch.autograd.grad(loss, theta, retain_graph=True, allow_unused=True)
        penalty = beta / 2 * torch.stack([(gz**2).sum() for gz in grads_z]).sum()
        second = torch.autograd.grad(penalty, theta, allow_unused=True)
    with torch.no_grad():
        for b, saved in zip(f.buffers(), buffers, strict=True):
            b.copy_(saved)

    def norm(grads: tuple[Tensor | None, ...]) -> float:
        return math.sqrt(sum(float((t.detach() ** 2).sum()) for t in grads if t is not None))

    return norm(second) / max(norm(first), 1e-300)


def make_closure(
    f: nn.Module, g: nn.Module, x: Tensor, loss_of: Callable[[Tensor], Tensor], seen: dict[str, Tensor]
) -> Closure:
    """ProximalSplit's closure: the loss of g(f(x)) and the bottleneck f(x); g's output kept in ``seen``."""

    def closure() -> tuple[Tensor, Tensor]:
        z = f(x)
        seen["out"] = g(z)
        return loss_of(seen["out"]), z

    return closure


def make_vae_closure(
    enc: nn.Module, dec: nn.Module, noisy: Tensor, clean: Tensor, seen: dict[str, Tensor]
) -> Closure:
    """The VAE's closure: MSE of the reconstruction of ``noisy`` against ``clean``, and (mu, sigma)."""

    def closure() -> tuple[Tensor, tuple[Tensor, Tensor]]:
        mu, sigma = enc(noisy)
        seen["out"] = dec(mu + sigma * torch.randn_like(sigma))  # eq. (6): z = mu + sigma * eps
        return F.mse_loss(seen["out"], clean), (mu, sigma)

    return closure


def batch_closure(
    part: str, f: nn.Module, g: nn.Module, xb: Tensor, yb: Tensor, config: Config, seen: dict[str, Tensor]
) -> Closure:
    """The closure of one batch: cross-entropy of the classifier (``"image"``), or the denoising VAE's
    MSE against the clean batch, on a noisy copy drawn here (``"vae"``)."""
    if part == "image":
        return make_closure(f, g, xb, partial(F.cross_entropy, target=yb), seen)
    noisy = xb + config.noise_std * torch.randn_like(xb)
    return make_vae_closure(f, g, noisy, xb, seen)
