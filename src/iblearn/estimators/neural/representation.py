"""The base of the estimators that learn a representation of x and y and read the MI off it (LMI,
MIENF, MINDE): :class:`RepresentationEstimator`, which builds its default network from its settings,
and the input standardization its networks share (:class:`~iblearn.estimators.standardize.Standardize`).
Trained by the same trainer as the bounds (:mod:`.trainer`), it is no bound: no scores, no negatives,
no pooled estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.critics import seeded
from iblearn.estimators.neural.base import NeuralEstimator
from iblearn.estimators.neural.inputs import refuse_constant, wants_grad
from iblearn.estimators.standardize import Standardize as Standardize  # the networks' input scaling


class RepresentationEstimator(NeuralEstimator):
    """The base of the estimators that learn a representation of x and y and read the MI off it (latent
    MI, MIENF, MINDE): the network is the ``critic`` (trained, averaged and saved as a critic is, by the
    trainer), ``objective`` what training maximizes (no bound: ``fit`` watches it on the held-out rows
    and keeps the best network; the trainer judges the loss alone), :meth:`_estimate` the MI from the
    representation of the data. Not differentiable, and no bound. ``fit`` first sets the network's
    input standardization from its rows (a DataLoader: left as it is)."""

    accepts = frozenset({"vector"})
    #: For the errors: why the network takes continuous y only, and why it needs both widths.
    continuous_y: ClassVar[str]
    both_widths: ClassVar[str]

    @classmethod
    def network(cls) -> str:
        """The default network's name: ``critic``'s default."""
        return cast(str, cls.declared.defaults["critic"])

    def check_settings(self) -> None:
        super().check_settings()
        if self.critic_kind is not None:
            V.choice(self.critic_kind, "critic", (self.network(),))
            for dim in ("x_dim", "y_dim"):
                if getattr(self, dim) is None:
                    raise ValueError(f"{dim}: {self.both_widths}; pass x_dim and y_dim")
                setattr(self, dim, V.positive_int(getattr(self, dim), dim))

    def build_critic(self) -> nn.Module:
        if self.critic_kind is None:
            return self.critic  # the module given
        x_dim, y_dim, hidden = self.x_dim, self.y_dim, self.hidden
        if x_dim is None or y_dim is None or not isinstance(hidden, tuple):  # check_settings makes them so
            raise ValueError(
                f"x_dim, y_dim, hidden: the {self.network()} needs both widths and a sequence of widths"
            )
        return seeded(lambda: self.make_network(x_dim, y_dim, hidden), self.seed)

    def make_network(self, x_dim: int, y_dim: int, hidden: tuple[int, ...]) -> nn.Module:
        """The default network, for inputs of ``x_dim`` and ``y_dim`` columns."""
        raise NotImplementedError

    def _estimate(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def fit(self, x: Any, y: Any = None, **options: Any) -> NeuralEstimator:  # type: ignore[override]
        """Train the network: :meth:`NeuralEstimator.fit`'s arguments, with held-out rows and early
        stopping on ``objective``; the first call also sets the input standardization from ``x, y``."""
        fresh = self.steps_done.is_meta or int(self.steps_done) == 0  # on meta, _inputs names the device
        if fresh and isinstance(x, Tensor | np.ndarray) and y is not None:
            xt, yt = self._inputs(x, y)
            refuse_constant(xt, yt)  # its standardization would divide by a spread of 0
            for net in (self.critic, self.averaged):
                if net is not None:
                    net.calibrate(xt, yt)  # type: ignore[operator]
        return super().fit(x, y, **options)

    def watched_bounds(self, *parts: tuple[Tensor, Tensor]) -> list[float]:
        """``objective`` on each of ``parts`` with the network that reports, in eval mode (no dropout)."""
        with self.trainer.watching(self):
            return [float(self.objective(*self._inputs(*part))) for part in parts]

    def _in_batches(self, fn: Callable[[Tensor, Tensor], Any], x: Tensor, y: Tensor) -> list[Any]:
        """``fn`` on consecutive batches of ``eval_batch_size`` rows, in order."""
        size = self.eval_batch_size
        return [fn(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]

    def _reported_batches(
        self, x: Any, y: Any, fn: Callable[[Tensor, Tensor], Any] | None = None
    ) -> list[Any]:
        """:meth:`_in_batches` of ``fn`` (None: the network itself) on the checked rows of x and y,
        while :attr:`scorer` is the network that reports (the weight average where ``average`` is set),
        without gradient."""
        xt, yt = self._inputs(x, y)
        with self.reporting(), torch.no_grad():
            return self._in_batches(self.scorer if fn is None else fn, xt, yt)

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        """The estimate on one batch; where it holds no gradient (LMI's neighbour counts), inputs that
        ask for one are refused: a loss built on it would fail at backward."""
        xt, yt = self._inputs(x, y)
        value = self._finite(self._estimate(xt, yt), "estimate", (xt, yt))
        if torch.is_grad_enabled() and wants_grad(xt, yt) and not value.requires_grad:
            raise ValueError(
                f"x, y: {type(self).__name__}'s batch_mi is not differentiable, so it cannot be a training "
                "loss; use a bound (InfoNCE, MINE, NWJ) or RenyiMI, or pass detached inputs to measure"
            )
        return value

    def mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        with torch.no_grad():
            return self._finite(self._estimate(xt, yt), "estimate", (xt, yt))
