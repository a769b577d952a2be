"""Deep InfoMax (Hjelm et al., ICLR 2019): local MI between the locations of a feature map and a
global vector, or the matching locations of a second grid; and global MI between a whole feature map
and a vector.

Local scores are ``s[i, j, l] = <phi(x_i)[:, l], psi(y_j)>`` (global y) or
``<phi(x_i)[:, l], psi(y_j)[:, l]>`` (grid y, resized to x's grid): phi is a 1x1-convolution MLP, psi
an MLP for a vector y and a convolution MLP seeing 3x3 patches for a grid y. Pairs i = j are
positives, i != j negatives, at every location l; the reported local MI is the average over
locations. MOLE uses the grid-grid form on its first conv layer, I(T_1; X) between the input image
and the layer's feature map (Li & Pei 2023, App. A.2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import MIEstimate, SettingCheck
from iblearn.estimators.critics import ConcatCritic, flat, seeded
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.negatives import all_pair_scores
from iblearn.functional.bounds import dv_bound, infonce_bound, js_bound


def _conv_mlp(hidden: int, out: int, kernel: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.LazyConv2d(hidden, kernel, padding=kernel // 2), nn.ReLU(), nn.Conv2d(hidden, out, 1)
    )


class LocalCritic(nn.Module):
    """Embeds every location of x, and y (a vector or a grid), into a common space; scores all pairs."""

    separable = True

    def __init__(self, embed_dim: int, hidden: int) -> None:
        super().__init__()
        self.phi = _conv_mlp(hidden, embed_dim)
        # A feature at location l depends on a neighbourhood of the input grid: let psi see a 3x3 patch.
        self.psi_grid = _conv_mlp(hidden, embed_dim, kernel=3)
        self.psi_vec = nn.Sequential(nn.LazyLinear(hidden), nn.ReLU(), nn.Linear(hidden, embed_dim))

    def local_scores(self, x: Tensor, y: Tensor) -> Tensor:
        """``(N, N, L)`` scores of x_i's locations against y_j."""
        ex = self.phi(x).flatten(2)  # (N, E, L)
        if y.ndim == 4:
            ey = self.psi_grid(F.adaptive_avg_pool2d(y, (x.shape[-2], x.shape[-1]))).flatten(2)
            return torch.einsum("iel,jel->ijl", ex, ey)
        return torch.einsum("iel,je->ijl", ex, self.psi_vec(flat(y)))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.local_scores(x, y).diagonal(dim1=0, dim2=1).mean(dim=0)

    def pairwise(self, x: Tensor, y: Tensor) -> Tensor:
        return self.local_scores(x, y).mean(dim=2)


class DIM(BoundEstimator):
    """Deep InfoMax estimator between feature maps ``x (N, C, H, W)`` and ``y``: a vector ``(N, D)`` or
    a grid ``(N, C', H', W')``.

    Args:
        mode: ``"local"`` (per-location MI, averaged over locations) or ``"global"`` (a concat critic on
            the flattened map and y).
        objective: the critic's training objective, ``"js"`` (Jensen-Shannon, DIM's default) or
            ``"infonce"``, Hjelm et al.'s two estimators of Sec. 3.1. In local mode the reported MI is
            InfoNCE per location either way; in global mode it is the bound the critic trains on:
            the DV bound of the JS-trained critic, or InfoNCE over every (map, y) pair of each
            evaluation batch. InfoNCE never exceeds log of the evaluation batch (``MIEstimate.limit``).
        module_bound: what a network trained with DIM maximizes (:meth:`module_objective`):
            ``"infonce"`` (the default), InfoNCE on the critic's scores whatever the critic trains on,
            or ``"critic"``, the critic's own objective, one bound for both as Hjelm et al. train
            encoder and critic. Chosen by measurement in local mode (MOLE's DIM+MINE, MNIST, 10,000
            training and 2,000 test images, 5 epochs, 3 seeds, one commit; docs/results/mole.md): test
            accuracy against BP's 97.08, ``"infonce"`` with a JS critic 97.85 (+0.77, above BP on every seed),
            ``"critic"`` with ``objective="js"`` 96.38 (-0.70), and ``objective="infonce"`` (where the
            two agree) 96.58 (-0.50).
        embed_dim, hidden: sizes of the 1x1-convolution critic.
        lr, eval_batch_size, seed, base: as for :class:`iblearn.estimators.MINE`.
    """

    accepts = frozenset({"grid"})

    name = "dim"

    hidden: int

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "mode": V.one_of("local", "global"),
        "module_bound": V.one_of("infonce", "critic"),
        "embed_dim": V.positive_int,  # 0 built layers without outputs
    }

    def __init__(
        self,
        *,
        mode: str = "local",
        objective: str = "js",
        module_bound: str = "infonce",
        embed_dim: int = 64,
        hidden: int = 128,
        lr: float = 5e-4,
        eval_batch_size: int = 256,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        self.mode = mode  # each checked on assignment: setting_checks
        self.objective_kind = V.choice(objective, "objective", ("js", "infonce"))
        self.module_bound = module_bound
        self.embed_dim = embed_dim
        super().__init__(
            hidden=V.positive_int(hidden, "hidden"),  # one width: the critic's convolutions
            lr=lr,
            eval_batch_size=eval_batch_size,
            average=None,
            seed=seed,
            base=base,
        )

    fixed_widths = False  # local mode's critic runs on feature maps of any size

    def build_critic(self) -> nn.Module:
        hidden = self.hidden
        if self.mode == "local":
            return seeded(lambda: LocalCritic(self.embed_dim, hidden), self.seed)
        return seeded(lambda: ConcatCritic(None, None, (hidden, hidden)), self.seed)

    def _inputs(self, x: Any, y: Any) -> tuple[Tensor, Tensor]:
        xt, yt = super()._inputs(x, y)
        if xt.ndim != 4:
            raise ValueError(f"x: DIM needs feature maps (N, C, H, W), got shape {tuple(xt.shape)}")
        if yt.ndim not in (2, 4):
            raise ValueError(
                f"y: expected a vector (N, D) or a grid (N, C, H, W), got shape {tuple(yt.shape)}"
            )
        return xt, yt

    def _local(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """All scores ``(N, M, L)``, the positives ``(N, L)`` and the negatives ``(N (M - 1), L)``, for
        M columns (N, or every rank's under ``torch.distributed``)."""
        critic = self.scorer
        if not isinstance(critic, LocalCritic):
            raise ValueError("mode: local scores need mode='local'")
        y = self._columns(x, y)
        s = critic.local_scores(x, y)
        off = ~torch.eye(len(x), len(y), dtype=torch.bool, device=x.device)
        return s, s.diagonal(dim1=0, dim2=1).T, s[off]

    def _infonce(self, x: Tensor, y: Tensor) -> Tensor:
        """Global mode: InfoNCE on the N x N scores of every (map, y) pair (the concat critic's first
        layer once per side). Local mode: the mean over locations of InfoNCE on each location's N x N
        scores. A lower bound for any critic."""
        if self.mode == "global":
            return infonce_bound(all_pair_scores(self.scorer, x, self._columns(x, y)))
        s, _, _ = self._local(x, y)
        return torch.stack([infonce_bound(s[:, :, loc]) for loc in range(s.shape[2])]).mean()

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        if self.objective_kind == "infonce":
            return self._infonce(x, y)
        if self.mode == "global":
            return js_bound(*self._scores(x, y, 1, self.trainer.shuffles))
        _, joint, marginal = self._local(x, y)
        return js_bound(joint, marginal)  # a mean of per-pair terms: the mean over locations too

    def module_objective(self, x: Any, y: Any) -> Tensor:
        """What a network that produces ``x`` maximizes, with gradients to x and y: InfoNCE on the
        critic's scores (``module_bound="infonce"``) or the critic's own :meth:`objective`
        (``"critic"``: JS, or InfoNCE with ``objective="infonce"``).

        With a JS critic the default trains the module on another bound than the critic; one bound for
        both (Hjelm et al., Sec. 3.1, train encoder and critic on one objective) is ``"critic"``, and
        measurement made the mix the default (see the class docstring); any critic's scores give a valid
        InfoNCE bound.
        """
        inputs = self._inputs(x, y)
        if self.module_bound == "infonce":
            return self._finite(self._infonce(*inputs), "objective")
        return self._finite(self.objective(*inputs), "objective")

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        # Global mode: DV of the JS-trained critic (iblearn.estimators.JS), log E_Q over every rank.
        return dv_bound(joint, self._every_rank(marginal))

    def _reports_dv(self) -> bool:
        return self.mode == "global" and self.objective_kind == "js"

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        if self._reports_dv():
            return super().batch_mi(x, y)
        xt, yt = self._inputs(x, y)
        return self._finite(self._weighed(self._infonce(xt, yt), xt), "bound")

    def mi(self, x: Any, y: Any) -> Tensor:
        """Global mode: the DV bound of the JS-trained critic, or InfoNCE on each evaluation batch.

        Local mode: InfoNCE per location, whatever the training objective. A JS-trained critic's DV
        is ruled by its few most overconfident negatives (dot products are unbounded, and pairs never
        met in training batches score high): measured on a grid-grid task, some locations' DV fell to
        -12 nats while training improved; InfoNCE charges such a negative to its own row only, and is
        honest about its ceiling, log of the evaluation batch."""
        if self._reports_dv():
            return super().mi(x, y)
        return self._batch_mean(*self._inputs(x, y), self._infonce)

    def _limited(self, result: MIEstimate) -> MIEstimate:
        return result if self._reports_dv() else self._batch_limit(result)
