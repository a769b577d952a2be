"""The trainer of a neural estimator's network: one :class:`Trainer` per estimator (``est.trainer``).

It owns what training carries from step to step and nothing an estimate needs: the network's Adam
(:class:`CriticOptimizer`) and its lifecycle, the weight average the estimate reports with
(:class:`~.averaging.WeightAverage`), the generator of the training negatives, the step with its
judgement of divergence, ``fit``'s loop with its held-out rows, early stopping and :class:`History`,
which network scores (the live one, or the average while reporting), the state saved with
``state_dict``, and the step's agreement across ranks under ``torch.distributed``. What it asks of the
estimator is :class:`~.contract.TrainingTarget`, public and one way: the loss on a batch with the bound
it stands for, the batch source, the held-out bound, and what is plausible on the inputs. The held-out
rows it watches are split off by :mod:`.fitting`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from iblearn import distributed
from iblearn._settings import setting
from iblearn.estimators.neural.averaging import WeightAverage
from iblearn.estimators.neural.captured import CapturedSteps, capturable
from iblearn.estimators.neural.contract import TrainingTarget
from iblearn.estimators.neural.fitting import hold_out
from iblearn.estimators.neural.inputs import detached, refuse_constant
from iblearn.estimators.reliability import CriticDivergedError, not_diverged


def adam(params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam, fused into one kernel where torch has one for these parameters' device and dtype (a critic
    step is many small tensors, each a launch; docs/design.md, "Measurements behind the code")."""
    # torch checks fused support at the first step, not here: decide from the parameters themselves.
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, fused=fused or None)


class CriticOptimizer:
    """The critic's Adam, owned by the trainer, with the lifecycle a module's optimizer needs.

    It is created at the first step, not with the estimator: a lazy critic has no parameters before its
    first call. When the estimator moves (``.to()``, ``.double()``) it keeps only its state dict, and
    the next step creates it again over the parameters as they stand then, loading that state (which
    casts Adam's moments to the parameters' dtype and device). A state dict loaded before the first
    step waits the same way.

    Args:
        critic: the module whose parameters it trains.
    """

    def __init__(self, critic: nn.Module) -> None:
        self.critic = critic
        self._adam: torch.optim.Optimizer | None = None
        self._pending: dict[str, Any] | None = None  # state waiting for the optimizer to exist

    def step(self, loss: Tensor, lr: float) -> None:
        """One Adam step on ``loss``'s gradient w.r.t. the critic's parameters, at the rate ``lr``: the
        estimator's setting, which a loaded state's rate does not replace."""
        if self._adam is None:
            self._adam = adam(list(self.critic.parameters()), lr)
            if self._pending is not None:
                self._adam.load_state_dict(self._pending)
                self._pending = None
        for group in self._adam.param_groups:  # the setting may have changed since the last step
            group["lr"] = lr
        self._adam.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.critic)  # as DDP would: the same step on every rank
        self._adam.step()

    @property
    def adam(self) -> torch.optim.Optimizer | None:
        """The optimizer, once a step has created it."""
        return self._adam

    def release(self) -> None:
        """Keep the state only, for an optimizer created again over moved parameters (see above)."""
        if self._adam is not None:
            self._pending, self._adam = self._adam.state_dict(), None

    def state_dict(self) -> dict[str, Any] | None:
        """Adam's state (None before the first step, when nothing was loaded)."""
        return self._adam.state_dict() if self._adam is not None else self._pending

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Adam's state, kept until the next step creates the optimizer (as the parameters stand then)."""
        self._adam = None
        self._pending = copy.deepcopy(state)


@dataclass
class History:
    """What ``fit`` saw of the bound, evaluated every ``eval_every`` steps with the critic that reports
    (the weight average where there is one), for plotting: ``plt.plot(h.steps, h.validation)``.

    Attributes:
        steps: the training steps done at each evaluation.
        train: the bound on as many training rows as are held out (the same rows each time), in nats.
        validation: the bound on the held-out rows, in nats.
        best_step: the step whose critic ``fit`` kept (the best validation bound).
        stopped_early: whether ``fit`` stopped before its ``steps`` for want of improvement.
    """

    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    best_step: int | None = None
    stopped_early: bool = False

    @property
    def best(self) -> tuple[float, float] | None:
        """The (train, validation) bounds at ``best_step``, or None before any evaluation."""
        if self.best_step is None:
            return None
        i = self.steps.index(self.best_step)
        return self.train[i], self.validation[i]


class Trainer:
    """Trains an estimator's network (``critic``) and keeps what training goes on from.

    Args:
        critic: the live network, which the optimizer steps.
        averaged: its frozen copy that receives the weight average, or None (no averaging).
        rate: the averaging rate (:class:`~.averaging.WeightAverage`), read where ``averaged`` is given.

    Attributes:
        optimizer: the critic's Adam (:class:`CriticOptimizer`).
        average: the weight average, or None.
        shuffles: the generator of the negatives (and of any other draw) of a training step; ``fit``
            reseeds it, and the state dict saves it.
        history: what the last ``fit`` saw of the bound on training and held-out rows (None before one
            that held rows out).
        replayed: how many of the last ``fit``'s steps replayed a step captured in a CUDA graph
            (:mod:`.captured`).
    """

    def __init__(self, critic: nn.Module, averaged: nn.Module | None, rate: float | None) -> None:
        self.critic, self.averaged = critic, averaged
        self.optimizer = CriticOptimizer(critic)
        self.average = None if averaged is None or rate is None else WeightAverage(critic, averaged, rate)
        self.shuffles = torch.Generator().manual_seed(0)
        self.history: History | None = None
        self.replayed = 0
        self._reporting = False  # an estimate is reporting, with the averaged critic where there is one
        self._watching = False

    @property
    def scorer(self) -> nn.Module:
        """The network that scores: the live one, except while reporting (:meth:`reporting`)."""
        return self.averaged if self._reporting and self.averaged is not None else self.critic

    @contextmanager
    def reporting(self, steps_done: int) -> Iterator[None]:
        """Within it :attr:`scorer` is the weight average once ``steps_done`` steps have updated it, else
        the live critic. It nests: a report within a report keeps the outer one's network."""
        before = self._reporting
        self._reporting = before or (self.averaged is not None and steps_done > 0)
        try:
            yield
        finally:
            self._reporting = before

    @property
    def is_watching(self) -> bool:
        """Whether ``fit`` is watching (:meth:`watching`): an objective that draws its own randomness
        (noise, times, dropout) draws it from a fixed seed then, and from :attr:`shuffles` in a
        training step, whatever the estimator's mode (``fit`` leaves it in eval mode, and a
        ``train_step`` after it still trains)."""
        return self._watching

    @contextmanager
    def watching(self, est: TrainingTarget) -> Iterator[None]:
        """``fit`` reading a bound as an estimate would: reporting, in eval mode (no dropout), without
        gradients; in training mode again after."""
        with self.reporting(int(est.steps_done)):
            est.eval()
            self._watching = True
            try:
                with torch.no_grad():
                    yield
            finally:
                self._watching = False
                est.train()

    def loss(self, est: TrainingTarget, x: Any, y: Any) -> Tensor:
        """:meth:`NeuralEstimator.loss`: the training loss on a batch, refused (with the step) where it,
        or a bound's value on the batch, is not finite or beyond what the inputs allow."""
        xt, yt = est.checked_inputs(x, y)
        batch = est.batch_loss(xt, yt)
        where = int(est.steps_done)
        loss = not_diverged(batch.loss, math.inf, f"{est.name}: the loss", where)
        if batch.bound is not None:
            not_diverged(batch.bound, est.plausible_limit(xt, yt), f"{est.name}: the batch's bound", where)
        return loss

    def step(self, est: TrainingTarget, x: Any, y: Any) -> float:
        """:meth:`NeuralEstimator.train_step`: one optimizer step on a batch (inputs detached), judged
        for divergence first (the loss, and a bound's value on the batch against what is plausible for
        it), then the weight average updated; under ``torch.distributed`` the same step on every rank,
        the loss returned (and judged) the mean over the ranks."""
        xt, yt = est.checked_inputs(x, y)
        loss, bound = est.batch_loss(detached(xt), detached(yt))
        number = int(est.steps_done) + 1
        if distributed.is_distributed():  # every rank judges, and reports, the same numbers
            bound = None if bound is None else distributed.mean_over_ranks(bound)
            reported = distributed.mean_over_ranks(loss)
            loss = loss + (reported - loss.detach())  # the same gradient
        finite = bool(torch.isfinite(loss))
        if not finite or (bound is not None and not abs(float(bound)) <= est.plausible_limit(xt, yt)):
            beyond = ""
            if finite and bound is not None:
                limit = est.plausible_limit(xt, yt)
                beyond = f" (the batch's bound {float(bound):.6g} nats, beyond {limit:.6g})"
            raise CriticDivergedError(
                f"{est.name}: the critic's loss became {float(loss.detach()):.6g}{beyond} at training "
                f"step {number}; "
                "lower the learning rate, or standardize the inputs"
            )
        self.optimizer.step(loss, est.lr)
        est.steps_done += 1
        if self.average is not None:
            self.average.update(int(est.steps_done))
        return float(loss.detach())

    def fit(
        self,
        est: TrainingTarget,
        x: Any,
        y: Any,
        *,
        steps: int,
        batch_size: int,
        seed: int,
        progress: Callable[[int, float], None] | None,
        validation: float,
        patience: int,
        eval_every: int,
    ) -> None:
        """:meth:`NeuralEstimator.fit`'s loop: ``steps`` training steps on batches of ``batch_size``, the
        bound on the held-out share ``validation`` of the rows watched every ``eval_every`` steps and
        after the last, a stop after ``patience`` evaluations without improvement, and the estimator
        left as it stood at its best evaluation; :attr:`history` what it watched (None with nothing
        held out).

        Raises:
            ValueError: a bad argument, named; ``validation`` leaving fewer than 2 rows on a side.
        """
        steps, batch_size = setting("steps", steps), setting("batch_size", batch_size)
        seed = setting("seed", seed)
        if progress is not None and not callable(progress):
            raise ValueError(f"progress: expected a callable progress(step, loss) or None, got {progress!r}")
        given = (x, y)
        x, y, held = hold_out(x, y, validation, seed)
        batches = est.training_batches(x, y, batch_size, seed)
        refuse_constant(*given)
        self.shuffles.manual_seed(seed)
        # On a CUDA device, steps replayed from a captured one (the same batches and negatives).
        captured = CapturedSteps(self, est, x, y, batch_size, seed) if capturable(est, x, y, steps) else None
        history = History() if held is not None else None
        best: dict[str, Any] | None = None
        est.train()
        done = 0
        while done < steps:
            until = steps if history is None else min(steps, (done // eval_every + 1) * eval_every)
            if captured is not None:
                values = captured.steps(until - done)
            else:
                batch = next(batches, None)
                if batch is None:  # an iterator of batches read out: ``steps`` is at most
                    break
                values = [self.step(est, *batch)]
            if progress:
                first = int(est.steps_done) - len(values) + 1
                for j, value in enumerate(values):
                    progress(first + j, value)
            done += len(values)
            if held is None or history is None or done < until:
                continue
            # The training rows watched: as many as are held out, the same each time.
            bounds = est.watched_bounds(held, (x[: len(held[0])], y[: len(held[0])]))
            history.steps.append(int(est.steps_done))
            history.validation.append(bounds[0])
            history.train.append(bounds[1])
            if best is None or bounds[0] > max(history.validation[:-1]):
                best, history.best_step = copy.deepcopy(est.state_dict()), int(est.steps_done)
            elif len(history.steps) - history.steps.index(history.best_step) > patience:  # type: ignore[arg-type]
                history.stopped_early = True
                break
        self.replayed = 0 if captured is None else captured.replayed
        if best is not None:
            est.load_state_dict(best)
        self.history = history
        est.eval()

    def moved(self) -> None:
        """Before ``.to()`` and its kin replace the tensors: Adam's moments must follow them to their
        dtype and device, and the average must pick up the new ones."""
        if self.average is not None:
            self.average.forget()
        self.optimizer.release()

    def state_dict(self) -> dict[str, Any]:
        """The critic's Adam state and the negatives' generator, saved with the estimator's
        ``state_dict``: without them a reloaded estimator restarts Adam's moments and draws other
        negatives, and trains differently from one never saved."""
        return {"optimizer": self.optimizer.state_dict(), "shuffles": self.shuffles.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.shuffles.set_state(state["shuffles"].cpu())
        if self.average is not None:
            self.average.forget()
        self.optimizer.load_state_dict(state["optimizer"])
