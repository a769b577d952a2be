"""CLUB (Cheng et al. 2020): a contrastive log-ratio upper bound on MI through a variational q(y | x)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import distributed
from iblearn.estimators.base import Bound, passed_on
from iblearn.estimators.critics import DEFAULT_HIDDEN, Hidden, flat, mlp, seeded
from iblearn.estimators.neural.bound import BoundEstimator
from iblearn.estimators.neural.settings import HIDDEN, LR
from iblearn.functional.bounds import club_bound, gaussian_log_likelihood

#: |log-variance| of q stays below this: where y is a function of x, maximum likelihood drives the
#: variance to 0 and the log-likelihood to infinity; e^-10 of y's scale is far below any noise measured.
LOG_VAR_LIMIT = 10.0


class GaussianConditional(nn.Module):
    """q(y | x) = N(mean(x), diag(exp(log_var(x)))), two MLPs of x (the construction of CLUB's code).
    ``forward(x)`` returns ``(mean, log_var)``, each ``(N, y_dim)``."""

    def __init__(self, x_dim: int | None, y_dim: int, hidden: Hidden = DEFAULT_HIDDEN) -> None:
        super().__init__()
        self.mean = mlp(x_dim, hidden, y_dim)
        self.log_var = mlp(x_dim, hidden, y_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = flat(x)
        return self.mean(h), LOG_VAR_LIMIT * torch.tanh(self.log_var(h) / LOG_VAR_LIMIT)


class GaussianQ(BoundEstimator):
    """The machinery of an estimator through a Gaussian q(y | x) trained by maximum likelihood (CLUB,
    DoE): the critic is q, ``objective`` its mean log-likelihood, ``_estimate`` the reported value
    from q's means and log-variances on the data, pooled over all of it."""

    capturable_step = True

    accepts = frozenset({"vector", "grid"})

    # NeuralEstimator's settings, listed here less y_classes and n_negatives: a q(y | x) draws no
    # negatives.
    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "gaussian",
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
        super().__init__(**passed_on(locals(), BoundEstimator))
        self._batch_value = torch.zeros(())  # the estimate on the last training batch

    def check_settings(self) -> None:
        super().check_settings()
        if self.critic_kind is not None:
            V.choice(self.critic_kind, "critic", ("gaussian",))
            if self.y_dim is None:
                raise ValueError("y_dim: the Gaussian q(y | x) outputs y's width; pass y_dim")
            self.y_dim = V.positive_int(self.y_dim, "y_dim")

    def build_critic(self) -> nn.Module:
        if self.critic_kind is None:
            return self.critic  # the module given
        hidden, y_dim = self.hidden, self.y_dim
        if not isinstance(hidden, tuple) or y_dim is None:  # check_settings makes both so
            raise ValueError(f"hidden, y_dim: a Gaussian q needs widths and y_dim, got {hidden!r}, {y_dim!r}")
        return seeded(lambda: GaussianConditional(self.x_dim, y_dim, hidden), self.seed)

    def _q(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_var = self.scorer(x)
        return mean, log_var

    def _estimate(self, mean: Tensor, log_var: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        mean, log_var = self._q(x)
        self._batch_value = self._estimate(mean.detach(), log_var.detach(), flat(y))
        return gaussian_log_likelihood(mean, log_var, flat(y))

    def _batch_bound(self, loss: Tensor) -> Tensor | None:
        # The loss is q's negative log-likelihood, no estimate: watch the estimate on the batch.
        return self._batch_value

    def watched_bounds(self, *parts: tuple[Tensor, Tensor]) -> list[float]:
        """q's mean log-likelihood (nats a row) on each of ``parts``: what ``fit`` keeps the best q by,
        and so what :attr:`history` holds. Not the estimate: the best upper bound is not the largest,
        and the smallest would reward a q that fits badly (a q of y alone gives 0). Under
        ``torch.distributed``, on every rank's rows, so that every rank keeps the same q."""
        with self.trainer.watching(self):
            everyone = [self._inputs(*self._everyone(*part)) for part in parts]
            with distributed.single_process():
                return [float(gaussian_log_likelihood(*self._q(x), flat(y))) for x, y in everyone]

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        return self._finite(self._estimate(*self._q(xt), flat(yt)), "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        """The estimate on all the data at once: q evaluated batch by batch, the means over all N rows
        (and, for CLUB, all N^2 pairs, in O(N d): :func:`~iblearn.functional.club_bound`)."""
        xt, yt = self._inputs(x, y)
        order = self._eval_parts(xt)  # a fixed shuffle of the rows: y follows it
        parts = [self._q(xt[idx]) for idx in order]
        mean, log_var = (torch.cat(part) for part in zip(*parts, strict=True))
        y = flat(yt)[torch.cat(order)]
        return self._finite(self._estimate(mean, log_var, y), "estimate", (xt, yt))


class CLUB(GaussianQ):
    """CLUB (Cheng et al. 2020, "CLUB: a contrastive log-ratio upper bound of mutual information"):
    ``E_p(x,y)[log q(y|x)] - E_p(x) E_p(y)[log q(y|x)]`` with a Gaussian q(y | x) learned by maximum
    likelihood (the paper's variational CLUB, as the authors' code computes it: see
    :func:`~iblearn.functional.club_bound`).

    An upper bound where q is good enough (the paper's condition: ``KL(p(x, y) || q(x, y)) <=
    KL(p(x) p(y) || q(x, y))``); even at q the true conditional it exceeds I by
    ``KL(p(x) p(y) || p(x, y))``: ``rho^2 / (1 - rho^2)`` in place of ``-log(1 - rho^2) / 2`` for a
    bivariate normal (1.29 against 0.41 nats at rho = 0.75). It is meant as a compression term to
    minimize (``batch_mi`` is differentiable in x and y), not as a tight estimate. ``fit`` trains q by
    maximizing its log-likelihood on the positive pairs, as the paper does; the estimate pools all the
    data, with every one of its N^2 pairs in the second term (exact, in O(N d) for a Gaussian: the
    sampled form, :func:`~iblearn.functional.club_sampled_bound`, saves nothing here).

    Args:
        x_dim: x's width (flattened); None infers it at the first call.
        y_dim: y's width (flattened), which q outputs: required with the default q.
        critic: ``"gaussian"`` (:class:`GaussianConditional` of ``x_dim``, ``y_dim`` and ``hidden``),
            or a module ``x -> (mean, log_var)``; ``y_dim`` is needed to build the default.
        hidden, lr, eval_batch_size, average, seed, base, validation, patience, eval_every:
            as for :class:`~iblearn.estimators.neural.base.NeuralEstimator`.

    Example:
        >>> from iblearn.data import bivariate_normal
        >>> x, y = bivariate_normal().sample(4000, seed=0)
        >>> est = CLUB(1, 1, hidden=(64,), lr=3e-3).fit(x.float(), y.float(), steps=300)
        >>> 1.0 < float(est(x.float(), y.float())) < 1.5  # CLUB of the true q: 1.2857; I = 0.4133
        True
    """

    name = "club"
    bound: ClassVar[Bound] = "upper"

    def _estimate(self, mean: Tensor, log_var: Tensor, y: Tensor) -> Tensor:
        return club_bound(mean, log_var, y)
