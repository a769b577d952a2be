"""MINE (Belghazi et al. 2018): the Donsker-Varadhan bound with a bias-corrected gradient, and MINE-f."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import SettingCheck, passed_on
from iblearn.estimators.critics import Hidden
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.contract import BatchLoss
from iblearn.estimators.neural.settings import HIDDEN, LR, unit_rate
from iblearn.functional.bounds import dv_bound, log_mean_exp, nwj_bound


class _MINE(BoundEstimator):
    """MINE's bound, training and settings (:class:`MINE`'s docstring), with the objective MINE takes
    and MINE-f fixes in ``objective_kind``."""

    capturable_step = True

    class_sums = True

    objective_kind = "dv"

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "rate": unit_rate,
        "clip": V.optional(V.positive),
    }

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        rate: float = 0.01,
        # Song & Ermon (2020)'s tau = 5: unbounded, MINE's held-out bound falls far below 0 on heavy
        # tails as training goes on (the figures in docs/benchmarks.md).
        clip: float | None = 5.0,
        y_classes: int | None = None,
        n_negatives: int = 8,
        critic: nn.Module | str = "concat",
        hidden: Hidden = HIDDEN,
        lr: float = LR,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        validation: float = 0.2,
        patience: int = 4,
        eval_every: int = 250,
        base: float = math.e,
    ) -> None:
        self.rate = rate  # each checked on assignment: setting_checks
        self.clip = clip
        super().__init__(**passed_on(locals(), BoundEstimator))
        # The bound's own training state, saved and loaded with the critic (a buffer): the log of the
        # moving average of E_Q[exp T] over the training batches; NaN before the first.
        self.register_buffer("log_ema", torch.tensor(float("nan"), dtype=torch.float64))
        self.log_ema: Tensor

    def _scores(
        self, x: Tensor, y: Tensor, n_shuffles: int, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        joint, marginal = super()._scores(x, y, n_shuffles, gen)
        if self.clip is None or (self.class_sums and self.y_classes is not None):
            return joint, marginal  # class sums carry log weights in the scores: nothing to clip
        return joint.clamp(-self.clip, self.clip), marginal.clamp(-self.clip, self.clip)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        if self.objective_kind == "f":
            return nwj_bound(*self._scores(x, y, 1, self.trainer.shuffles))
        return self._dv_step(x, y)[0]

    def batch_loss(self, x: Any, y: Any) -> BatchLoss:
        """Minus the surrogate of :meth:`objective` and, to judge, the batch's DV bound (the surrogate's
        exp(lme - EMA) is large whenever the average lags, in healthy training too)."""
        if self.objective_kind == "f":
            return super().batch_loss(x, y)
        surrogate, dv = self._dv_step(x, y)
        return BatchLoss(-self._weighed(surrogate, x), self._weighed(dv, x))

    def _dv_step(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """A training batch's bias-corrected surrogate of the DV bound and the DV bound itself
        (detached), the moving average of the denominator updated by the batch."""
        joint, marginal = self._scores(x, y, 1, self.trainer.shuffles)
        # Under torch.distributed over every rank's marginal scores: the same denominator, and moving
        # average, on every rank.
        lme = log_mean_exp(self._every_rank(marginal))
        with torch.no_grad():
            batch = lme.detach().double()
            moved = torch.logaddexp(math.log1p(-self.rate) + self.log_ema, math.log(self.rate) + batch)
            # The first batch starts the average (chosen on the device: no read of it to the host).
            self.log_ema.copy_(torch.where(torch.isnan(self.log_ema), batch, moved))
        # d/dtheta exp(lme - log_ema) = E_Q[grad T e^T] / EMA: the bias-corrected gradient of log E_Q e^T.
        surrogate = joint.mean() - torch.exp(lme - self.log_ema.to(lme.dtype))
        return surrogate, (joint.mean() - lme).detach()

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        ema = self.log_ema
        result = super()._apply(fn, recurse)
        # Only the device follows: at rate 0.01 a bfloat16 running mean stops moving (steps round away).
        self.log_ema = ema.to(self.log_ema.device)
        return result

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return dv_bound(joint, self._every_rank(marginal))


class MINE(_MINE):
    """Mutual Information Neural Estimation (Belghazi et al. 2018): the Donsker-Varadhan bound.

    Training follows Algorithm 1 of MINE with the bias-corrected gradient: the denominator
    E_Q[exp T] of the DV gradient is replaced by its exponential moving average (``rate``, default
    0.01: MINE Sec. 3.2). ``objective="f"`` trains on the f-divergence (NWJ) bound instead: MINE-f,
    unbiased gradients without a moving average. The reported estimate is the DV bound (MINE, eq. 10),
    on whatever data ``est(x, y)`` is given (pass held-out data for an honest number).

    The critic's scores are clipped to ``[-clip, clip]`` in both terms, in training and in the
    estimate, with Song & Ermon (2020)'s tau = 5 by default. The DV bound of the unclipped critic meets
    heavy tails badly: a few marginal pairs far out get scores whose exponentials swamp
    ``log E_Q[exp T]`` (benchmark-mi's student-identity-2-2-1, 0.43 nats: -1.48 nats, and a held-out
    bound of -92 as training went on; clipped, 0.40). Clipping both terms is the DV bound of another
    critic, ``clip(T)``, so the estimate stays a lower bound on the MI (SMILE clips the marginal term
    only, which is not one); but it can never exceed ``2 * clip`` nats: raise ``clip``, or pass None,
    for an MI of more than a few nats. With integer labels y (``y_classes``) nothing is clipped (the
    marginal scores carry the classes' log weights).

    Args:
        objective: ``"dv"`` (MINE) or ``"f"`` (MINE-f).
        rate: moving-average rate of the bias correction.
        clip: the critic's scores are clipped to ``[-clip, clip]`` (see above); None: unbounded.
        x_dim, y_dim, critic, hidden, y_classes, lr, n_negatives, eval_batch_size, average, seed: as for
            :class:`~iblearn.estimators.neural.base.NeuralEstimator`, and so are ``base``, ``validation``,
            ``patience`` and ``eval_every``. With ``y_classes`` the marginal term sums over the classes
            instead of re-pairing.

    Example:
        >>> from iblearn.data import bivariate_normal
        >>> x, y = bivariate_normal().sample(4000, seed=0)
        >>> est = MINE(1, 1, hidden=(64,), lr=2e-3).fit(x.float(), y.float(), steps=400)
        >>> 0.2 < float(est(x.float(), y.float())) < 0.5  # truth 0.4133
        True
    """

    name = "mine"
    labels_y = True

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        objective: str = "dv",
        rate: float = 0.01,
        clip: float | None = 5.0,
        y_classes: int | None = None,
        n_negatives: int = 8,
        critic: nn.Module | str = "concat",
        hidden: Hidden = HIDDEN,
        lr: float = LR,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        validation: float = 0.2,
        patience: int = 4,
        eval_every: int = 250,
        base: float = math.e,
    ) -> None:
        self.objective_kind = V.choice(objective, "objective", ("dv", "f"))
        super().__init__(**passed_on(locals(), _MINE))


class MINEf(_MINE):
    """MINE-f (Belghazi et al. 2018): MINE trained on the f-divergence bound; reports the DV bound.
    Settings as for :class:`MINE`, less ``objective``."""

    name = "mine_f"
    labels_y = True
    objective_kind = "f"
