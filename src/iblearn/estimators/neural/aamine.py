"""Architecture-aware MINE (AA-MINE, Elad et al. (2019), Sec. 3 and Fig. 2): I(X; F(X) + eps) for a known
deterministic sub-network F and Gaussian noise eps.

A plain MINE critic must learn from scratch that a representation l came from x; AA-MINE's critic
holds its own copy of F, passes x through it, and compares the result with l. At zero noise it only
has to check equality, so its estimate grows without bound as training goes on, as the true MI
(infinite) demands; a plain MINE saturates (Elad et al. 2019, Fig. 1).

Under ``torch.distributed`` each rank passes its own rows of x, as for MINE
(:mod:`iblearn.distributed`); the noise is drawn for the global batch, alike on every
rank, and each rank adds its rows of it, and ``est(x)`` gathers every rank's x.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import distributed
from iblearn._modes import evaluating
from iblearn.estimators.base import MIEstimate, SettingCheck, passed_on
from iblearn.estimators.critics import DEFAULT_HIDDEN, ConcatCritic, Hidden, flat, mlp, seeded
from iblearn.estimators.neural.fitting import passes
from iblearn.estimators.neural.inputs import as_input, param_dtype
from iblearn.estimators.neural.mine import MINE


class ArchitectureAwareCritic(nn.Module):
    """``D(x, l) = head([F'(x), l, (F'(x) - l)^2])`` with F' a trainable copy of the sub-network.

    The squared difference hands the head the comparison it needs ("whether the result is close to the
    second argument, up to noise", Elad et al. (2019), Sec. 3) instead of making it learn subtraction.
    """

    separable = False

    def __init__(self, subnet_copy: nn.Module, hidden: Hidden = DEFAULT_HIDDEN) -> None:
        super().__init__()
        self.copy = subnet_copy
        self.head = mlp(None, hidden, 1)

    def forward(self, x: Tensor, rep: Tensor) -> Tensor:
        return self._head(flat(self.copy(x)), flat(rep))

    def _head(self, f: Tensor, r: Tensor) -> Tensor:
        return self.head(torch.cat([f, r, (f - r) ** 2], dim=1)).squeeze(1)

    def repaired(self, x: Tensor, rep: Tensor, perms: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """Scores of (x_i, rep_i) and of (x_i, rep_perm[i]) for each of ``perms``, with F'(x) computed
        once: the copy of the sub-network (a conv stack, say) is most of the critic's cost, and a
        re-pairing only moves the representations (docs/design.md, "Measurements behind the code")."""
        f, r = flat(self.copy(x)), flat(rep)
        scores = self._head(f.repeat(1 + len(perms), 1), torch.cat([r, *(r[p] for p in perms)]))
        return scores[: len(f)], scores[len(f) :]


def module(value: Any, name: str) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise ValueError(f"{name}: expected an nn.Module, got {type(value).__name__}")
    return value


class AAMINE(MINE):
    """I(X; subnet(X) + eps), eps ~ N(0, noise_std^2 I), estimated by MINE with an architecture-aware
    critic. Called with x alone: ``AAMINE(subnet, 0.1).fit(x)(x)``.

    :meth:`fit` (stand-alone estimation) runs the sub-network in eval mode, its modes restored after, so
    that fitting a critic moves none of its BatchNorm statistics. ``train_step``, ``loss`` and
    ``batch_mi`` run it in whatever mode it is in: greedy training, which trains the sub-network
    between critic steps, relies on that.

    Args:
        subnet: the deterministic network F_i (layers 1..i). It is used, never trained, by the
            estimator; the critic trains a copy of it taken now (call :meth:`sync` to copy again).
        noise_std: standard deviation of the noise; 0 gives the noise-free (infinite-MI) case.
        architecture_aware: False gives the plain MINE of the paper's comparison (a concat critic on
            ``[x, l]``).
        hidden, rate, lr, n_negatives, eval_batch_size, average, seed, base: as for :class:`MINE`.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
        >>> est = AAMINE(net, noise_std=0.1, hidden=(32,), lr=2e-3).fit(torch.randn(512, 4), steps=50)
        >>> est(torch.randn(256, 4)).n_samples
        256
    """

    capturable_step = False  # its batches carry noise drawn on the host

    name = "aamine"
    _fit_call = "fit(x)"  # it makes y = subnet(x) + eps itself
    labels_y = False  # its architecture-aware critic reads y as numbers

    subnet: nn.Module

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "noise_std": V.nonnegative,
        "architecture_aware": V.flag,
    }

    def __init__(
        self,
        subnet: nn.Module,
        noise_std: float,
        *,
        architecture_aware: bool = True,
        hidden: Hidden = DEFAULT_HIDDEN,
        rate: float = 0.01,
        lr: float = 5e-4,
        n_negatives: int = 8,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        self.__dict__["subnet"] = module(subnet, "subnet")  # the caller's: a value, not a submodule
        self.noise_std = noise_std  # each checked on assignment: setting_checks
        self.architecture_aware = architecture_aware
        super().__init__(**passed_on(locals(), MINE))  # the others keep MINE's defaults
        self._noise = torch.Generator().manual_seed(self.seed)

    def build_critic(self) -> nn.Module:
        """A critic on a copy of the sub-network (architecture-aware), or the concat critic on
        ``[x, l]``, drawn from ``seed``."""
        hidden = self.hidden
        if isinstance(hidden, int):
            raise ValueError(f"hidden: AA-MINE's critic takes a sequence of widths, got {hidden!r}")
        return seeded(
            lambda: (
                ArchitectureAwareCritic(copy.deepcopy(self.subnet), hidden)
                if self.architecture_aware
                else ConcatCritic(None, None, hidden)
            ),
            self.seed,
        )

    def sync(self) -> None:
        """Copy the sub-network's current weights into the critic's copy (architecture-aware mode), and
        into the averaged critic's."""
        for critic in (self.critic, self.averaged):
            if isinstance(critic, ArchitectureAwareCritic):
                copy_: nn.Module = critic.copy
                copy_.load_state_dict(self.subnet.state_dict())

    def noisy(self, x: Tensor, gen: torch.Generator | None = None) -> Tensor:
        """``subnet(x) + eps``, differentiable w.r.t. the sub-network."""
        return self.add_noise(self.subnet(x), gen)

    def add_noise(self, rep: Tensor, gen: torch.Generator | None = None) -> Tensor:
        """``rep + eps``: for a caller that already holds ``rep = subnet(x)`` (greedy training does), so
        that the sub-network does not run twice; pass the result as y to ``train_step`` / ``batch_mi``."""
        if self.noise_std == 0:
            return rep
        # A draw lies within 8 stds of 0 but for a chance of 1e-15: beyond that the noise is inf, and the
        # critic would refuse y (never passed) as holding NaN or Inf.
        if 8 * self.noise_std > torch.finfo(rep.dtype).max:
            raise ValueError(
                f"noise_std: {self.noise_std:g} makes a noise that {rep.dtype} holds as inf (its largest "
                f"number is {torch.finfo(rep.dtype).max:.3g}); give a smaller one, or a float64 sub-network"
            )
        # Under torch.distributed, this rank's rows of the noise of the global batch, drawn alike on
        # every rank: the noise one process draws on the concatenated batch.
        offset, total = distributed.offset_and_total(len(rep), rep.device)
        noise = torch.randn((total, *rep.shape[1:]), generator=gen or self._noise, dtype=rep.dtype)
        return rep + self.noise_std * noise[offset : offset + len(rep)].to(rep.device)

    def _inputs(self, x: Any, y: Any = None) -> tuple[Tensor, Tensor]:
        if y is not None:
            return super()._inputs(x, y)
        xt = self._x(x)
        return super()._inputs(xt, self.noisy(xt))

    def _everyone(self, x: Any, y: Any) -> tuple[Any, Any]:
        # With y None, x alone carries the rows: an estimate gathers every rank's x, and makes y there.
        if y is None and distributed.is_distributed() and isinstance(x, Tensor | np.ndarray):
            return distributed.gather(V.as_tensor(x, "x")), None
        return super()._everyone(x, y)

    def _x(self, x: Any) -> Tensor:
        """x checked, and cast to the sub-network's dtype (numpy gives float64)."""
        return V.continuous(as_input(x, "x", param_dtype(self.subnet)), "x", allow_grid=True)

    def _batches(self, x: Any, y: Any, batch_size: int, seed: int) -> Any:
        if y is not None:
            raise ValueError("y: AA-MINE makes its own y = subnet(x) + noise; pass x alone")
        if isinstance(x, Tensor | np.ndarray):  # samples (a numpy array is not a stream of batches)
            return ((xb, None) for xb, _ in super()._batches(x, x, batch_size, seed))
        return ((b[0] if isinstance(b, list | tuple) else b, None) for b in passes(x))

    def mi(self, x: Any, y: Any = None) -> Tensor:
        """DV estimate on ``x``; the noise comes from a fixed generator, so the estimate is reproducible,
        and the sub-network runs in eval mode, ``eval_batch_size`` rows at a time (measuring moves no
        BatchNorm statistics and applies no dropout)."""
        xt = self._x(x)
        if y is None:
            with evaluating(self.subnet):
                rep = torch.cat([self.subnet(part) for part in xt.split(self.eval_batch_size)])
            y = self.add_noise(rep, torch.Generator().manual_seed(1))
        return super().mi(xt, y)

    def fit(self, x: Any, y: Any = None, **options: Any) -> AAMINE:
        """As :meth:`NeuralEstimator.fit`, with x alone, and the sub-network in eval mode meanwhile."""
        with evaluating(self.subnet):
            super().fit(x, y, **options)
        return self

    def get_extra_state(self) -> dict[str, Any]:
        return {**super().get_extra_state(), "noise": self._noise.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        super().set_extra_state(state)
        if "noise" in state:  # a state without _extra_state (neural.base._complete_state) lacks it
            self._noise.set_state(state["noise"].cpu())

    def train_step(self, x: Any, y: Any = None) -> float:
        return super().train_step(x, y)

    def batch_mi(self, x: Any, y: Any = None) -> Tensor:
        return super().batch_mi(x, y)

    def forward(self, x: Any, y: Any = None, **request: Any) -> MIEstimate:
        return super().forward(x, y, **request)

    def _needs_graph(self, x: Any, y: Any) -> bool:
        # With y None, y = subnet(x) + eps is made here: the sub-network is one of the inputs, and the
        # estimate is differentiable w.r.t. it where it has trainable parameters.
        trainable = y is None and any(p.requires_grad for p in self.subnet.parameters())
        return trainable or super()._needs_graph(x, y)
