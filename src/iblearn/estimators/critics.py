"""Critics for the neural estimators: small configurable MLPs by default, any ``nn.Module`` accepted.

A critic is called as ``critic(x, y) -> (N,)`` scores for the pairs (x_i, y_i). A critic that can score
all N x M pairs more cheaply than pair by pair sets ``separable = True`` and implements
``pairwise(x, y) -> (N, M)``; the estimators then use every in-batch pair as a negative. A critic
whose cost is mostly in one argument can implement ``repaired(x, y, perms) -> (joint (N,), marginal
(len(perms) * N,))``, the scores of (x_i, y_i) and of (x_i, y_perm[i]) for each permutation, sharing
that work across the pairings (:class:`ConcatCritic`'s first layer; AA-MINE's copy of the sub-network),
and ``all_pairs(x, y) -> (N, M)``, every pairing's score (InfoNCE and global DIM with a joint critic;
with y the k one-hot classes, the class-summed marginal of MINE and NWJ). Such optional methods are
looked up on the critic's class (:func:`critic_method`).
Inputs are flattened to ``(N, -1)``: images and feature maps can go to the default critics as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.lazy import LazyModuleMixin

from iblearn import _checks as V

Hidden = Sequence[int]
#: A two-layer ReLU MLP of width 256, the shape Belghazi et al. (2018) and Poole et al. (2019) use.
DEFAULT_HIDDEN: tuple[int, ...] = (256, 256)


def hidden_widths(hidden: Any, name: str = "hidden") -> tuple[int, ...]:
    """``hidden`` checked: a sequence of positive integer widths. A width of 0 leaves the next layer
    without inputs, and torch leaves that layer's bias uninitialised memory: InfoNCE then reported its
    ceiling, log N, for a critic that ignores its inputs."""
    widths = tuple(hidden) if isinstance(hidden, list | tuple) else None
    if widths is None or not all(
        isinstance(w, int | np.integer) and not isinstance(w, bool) and w > 0 for w in widths
    ):
        raise ValueError(f"{name}: expected a sequence of positive integer widths, got {hidden!r}")
    return tuple(int(w) for w in widths)


def mlp(in_dim: int | None, hidden: Hidden, out_dim: int) -> nn.Sequential:
    """Linear-ReLU stack; ``in_dim=None`` infers the input size at the first call (``nn.LazyLinear``)."""
    hidden = hidden_widths(hidden)
    layers: list[nn.Module] = []
    previous = in_dim
    for width in hidden:
        layers += [nn.Linear(previous, width) if previous else nn.LazyLinear(width), nn.ReLU()]
        previous = width
    layers.append(nn.Linear(previous, out_dim) if previous else nn.LazyLinear(out_dim))
    return nn.Sequential(*layers)


def flat(t: Tensor) -> Tensor:
    return t.reshape(t.shape[0], -1)


class ConcatCritic(nn.Module):
    """``T(x, y) = MLP([x, y])``: the joint critic of MINE."""

    separable = False

    def __init__(self, x_dim: int | None, y_dim: int | None, hidden: Hidden = DEFAULT_HIDDEN) -> None:
        super().__init__()
        in_dim = x_dim + y_dim if x_dim and y_dim else None
        self.net = mlp(in_dim, hidden, 1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.net(torch.cat([flat(x), flat(y)], dim=1)).squeeze(1)

    def repaired(self, x: Tensor, y: Tensor, perms: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """Scores of the pairs (x_i, y_i), and of (x_i, y_perm[i]) for each of ``perms``, concatenated.

        The same numbers as calling the critic on each pairing, for about the cost of one pairing in the
        first layer, which dominates with wide inputs: ``W [x; y] = W_x x + W_y y``, and re-pairing y
        only re-indexes ``W_y y`` (docs/design.md, "Measurements behind the code").
        """
        first = self.net[0]
        # Not materialized yet. (A lazy layer loaded from a checkpoint holds its weights but keeps its
        # class until its first forward, which this path never calls: its class would not tell.)
        if not isinstance(first, nn.Linear) or nn.parameter.is_lazy(first.weight):
            return self(x, y), torch.cat([self(x, y[p]) for p in perms])
        fx, fy = flat(x), flat(y)
        ax = F.linear(fx, first.weight[:, : fx.shape[1]], first.bias)
        by = F.linear(fy, first.weight[:, fx.shape[1] :])
        hidden = torch.cat([ax + by] + [ax + by[p] for p in perms])
        scores = self.net[1:](hidden).squeeze(1)
        return scores[: len(fx)], scores[len(fx) :]

    def all_pairs(self, x: Tensor, y: Tensor) -> Tensor:
        """Scores ``(N, M)`` of every x_i paired with every y_j: the first layer's x and y halves once
        each, their broadcast sum through the rest of the net (the same numbers as ``critic(x_i, y_j)``
        pair by pair, for N + M first-layer rows instead of N M)."""
        if not isinstance(self.net[0], nn.Linear) or nn.parameter.is_lazy(self.net[0].weight):
            self(x[:1], y[:1])  # a lazy first layer takes its size (and class) at a first call
        first = cast(nn.Linear, self.net[0])
        fx, fy = flat(x), flat(y)
        ax = F.linear(fx, first.weight[:, : fx.shape[1]], first.bias)  # (N, H)
        by = F.linear(fy, first.weight[:, fx.shape[1] :])  # (M, H)
        hidden = ax.unsqueeze(1) + by.unsqueeze(0)  # (N, M, H)
        return self.net[1:](hidden.reshape(len(fx) * len(fy), -1)).reshape(len(fx), len(fy))


class SeparableCritic(nn.Module):
    """``T(x, y) = g(x) . h(y)``: all N x M pairs cost one matrix product (the InfoNCE default)."""

    separable = True

    def __init__(
        self, x_dim: int | None, y_dim: int | None, hidden: Hidden = DEFAULT_HIDDEN, embed_dim: int = 32
    ) -> None:
        super().__init__()
        V.positive_int(embed_dim, "embed_dim")
        self.g = mlp(x_dim, hidden, embed_dim)
        self.h = mlp(y_dim, hidden, embed_dim)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return (self.g(flat(x)) * self.h(flat(y))).sum(dim=1)

    def pairwise(self, x: Tensor, y: Tensor) -> Tensor:
        return self.g(flat(x)) @ self.h(flat(y)).T


def critic_method(critic: nn.Module, name: str) -> Callable[..., Any] | None:
    """The critic's optional method ``name`` (``repaired``, ``all_pairs``), where its class defines one;
    else None (a user's submodule that happens to be called ``all_pairs`` is not one)."""
    return getattr(critic, name) if callable(getattr(type(critic), name, None)) else None


def seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``build()`` with every weight drawn from ``seed``, those of lazy layers included.

    A lazy layer (``nn.LazyLinear``, ``nn.LazyConv2d``) draws its weights at its first call, long after
    the constructor and from whatever state the global RNG is in by then. Here each gets its own seed,
    drawn from ``seed`` in the order of ``module.modules()``, and a pre-hook that materializes it under
    that seed; so the same ``seed`` gives the same critic whatever runs in between. Neither path touches
    the global RNG's state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = build()
        lazy = [m for m in module.modules() if isinstance(m, LazyModuleMixin)]
        seeds = torch.randint(0, 2**62, (len(lazy),)).tolist()
    for layer, layer_seed in zip(lazy, seeds, strict=True):
        # prepend: run before the layer's own hook, which would materialize it from the global RNG.
        layer.register_forward_pre_hook(partial(_materialize, seed=layer_seed), prepend=True)
    return module


def _materialize(layer: nn.Module, args: tuple[Any, ...], *, seed: int) -> None:
    if not (isinstance(layer, LazyModuleMixin) and layer.has_uninitialized_params()):
        return  # materialized already (or loaded from a state_dict)
    device = args[0].device
    # manual_seed seeds the accelerator's RNG too: fork the one the weights are drawn on. A device type
    # is always named: torch before 2.13 parses it whatever the devices (None raised TypeError); with no
    # devices listed, only the CPU's generator is forked.
    devices = [] if device.type in ("cpu", "meta") else [device]
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cpu"):
        torch.manual_seed(seed)
        if not devices:
            layer.initialize_parameters(*args)
            return
        # Drawn on the CPU, whose generator gives these numbers on any device (an accelerator's draws
        # others from the same seed), then copied in: a seed means the same critic everywhere.
        twin = copy.deepcopy(layer).cpu()
        twin.initialize_parameters(*(a.cpu() if isinstance(a, Tensor) else a for a in args))
        layer.initialize_parameters(*args)
        layer.load_state_dict(twin.state_dict())


def make_critic(kind: str, x_dim: int | None, y_dim: int | None, hidden: Hidden) -> nn.Module:
    if kind == "concat":
        return ConcatCritic(x_dim, y_dim, hidden)
    if kind == "separable":
        return SeparableCritic(x_dim, y_dim, hidden)
    raise ValueError(f"critic: expected 'concat', 'separable' or an nn.Module, got {kind!r}")
