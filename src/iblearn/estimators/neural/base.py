"""The base of the neural MI estimators: an estimator with a network that its :class:`.trainer.Trainer`
trains.

:class:`NeuralEstimator` holds the network (``critic``, and ``averaged``, its weight average), the
settings, the count of training steps (``steps_done``) and the trainer (``trainer``); it
checks inputs, reports an estimate (``est(x, y)``, scored by the weight average once trained: see
:meth:`NeuralEstimator.reporting`), and saves and loads its state. What it trains is its
:meth:`NeuralEstimator.objective` on a batch. Two kinds build on it: a variational bound, a critic
plus its objective plus its pooled estimate (:mod:`.bound`), and an estimator that learns a
representation and reads the MI off it (:mod:`.representation`). A critic whose loss or estimate
becomes NaN or Inf raises :class:`CriticDivergedError` with the step, never returns NaN.

What inputs are accepted is :mod:`.inputs`; when a critic has diverged, and what a verdict on an
estimate reads of its data, :mod:`iblearn.estimators.reliability`. Under ``torch.distributed`` an
estimate is the single-process one on every rank's rows (:mod:`iblearn.distributed`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import distributed
from iblearn._settings import SETTINGS
from iblearn.estimators.base import Estimator, MIEstimate, SettingCheck
from iblearn.estimators.critics import Hidden, make_critic, seeded
from iblearn.estimators.neural import fitting
from iblearn.estimators.neural.averaging import averaged_copy, frozen
from iblearn.estimators.neural.contract import BatchLoss, TrainingTarget
from iblearn.estimators.neural.inputs import (
    as_input,
    checked_pair,
    detached,
    param_dtype,
    refuse_constant,
    wants_grad,
)
from iblearn.estimators.neural.settings import (
    HIDDEN,
    LR,
    critic_choice,
    eval_batch,
    unit_rate,
    validation_share,
    widths,
)
from iblearn.estimators.neural.trainer import History, Trainer
from iblearn.estimators.reliability import (
    IMPLAUSIBLE,
    CriticDivergedError,
    UnreliableEstimateWarning,
    not_diverged,
    plausible,
)

__all__ = [
    "IMPLAUSIBLE",
    "CriticDivergedError",
    "NeuralEstimator",
    "UnreliableEstimateWarning",
    "as_input",
    "detached",
    "param_dtype",
    "wants_grad",
]


class NeuralEstimator(Estimator, TrainingTarget):
    """An estimator with a network that its :class:`~iblearn.estimators.neural.trainer.Trainer`
    trains: input checks, the reported estimate and its figures, ``fit``, ``train_step`` and ``loss``
    (the trainer's), and the state saved; and the settings every neural estimator shares, with the
    default critic on vectors (NWJ and JS use it as it is).

    Args:
        x_dim, y_dim: input widths (flattened) the default critic is built for; None infers them at the
            first call. With ``y_classes`` and no ``y_dim``, ``y_dim`` is the number of classes (one-hot).
        y_classes: the number of classes, for integer labels y (one-hot encoded); None: y is continuous.
            Where a bound allows (``class_sums``) the marginal term then sums over the classes instead
            of re-pairing (exact and lower-variance: ``negatives.class_scores``).
        n_negatives: re-pairings per sample for the marginal term of ``est`` and ``batch_mi`` (concat
            critics; none with ``y_classes``); a training step uses one, as MINE's Algorithm 1 does.
        critic: ``"concat"``, ``"separable"`` (built from ``x_dim``, ``y_dim``, ``hidden`` and ``seed``:
            :func:`iblearn.estimators.critics.make_critic`), or an ``nn.Module``, used as it is (not a
            setting: a module cannot be rebuilt from a record, so ``settings()`` leaves it out). The
            attribute ``critic`` is the module; ``critic_kind`` the default critic's name (None: a module).
        hidden: hidden widths of the default critic (DIM: the width of its convolutions, an int);
            two layers of 64 by default (``settings.HIDDEN``: chosen by measurement on benchmark-mi's
            tasks, ``benchmarks/neural_bmi.py``; a wider critic fits its training rows' noise sooner).
        lr: Adam learning rate of the critic (2e-3, ``settings.LR``, by default).
        eval_batch_size: rows per evaluation batch; negatives are drawn within a batch.
        average: rate of the exponential moving average of the critic's weights over the ``train_step``
            calls (so ``fit``) that ``est(x, y)`` reports with (:class:`.averaging.WeightAverage`; one
            more copy of the critic's weights). None reports with the last weights, as a critic trained
            through ``loss`` with your own optimizer must (the average follows ``train_step`` only).
        seed: initializes the critic (lazy layers too, when x_dim or y_dim is None).
        base: of the logarithm the estimate is reported in.
        validation: the share of the rows ``fit`` holds out to watch the bound on (row tensors only;
            a DataLoader is used whole), in [0, 1): 0 trains on every row for every step, blindly. A
            critic trained blindly fits its rows, and its bound on other rows falls far below the truth;
            benchmark-mi holds out data and keeps the best critic (Czyz et al. 2023).
        patience: evaluations of the held-out bound without improvement before ``fit`` stops early.
        eval_every: training steps between evaluations of the held-out bound (benchmark-mi's 250).

    ``y_classes`` and ``n_negatives`` are settings of the bounds that draw negatives
    (:class:`~.bound.BoundEstimator`, whose signature this is: NWJ's, JS's and FLO's); a family that
    draws none (a Gaussian q, a representation) leaves them out of its own signature and holds the
    defaults.

    A family lists every setting it takes in its own ``__init__`` (so that ``help()``, IDEs and mypy
    see them all), stores and checks its own, and passes the shared ones on
    (``super().__init__(**passed_on(locals(), Base))``: :func:`~iblearn.estimators.base.passed_on`), which
    builds the critic from all of them, after the checks across settings of :meth:`check_settings`,
    by :meth:`build_critic`: a family's own settings that the critic or those checks read are assigned
    before the ``super().__init__`` call, work that needs the critic after it. Each shared setting is
    checked on every assignment (``setting_checks``), after construction too.
    """

    accepts = frozenset({"vector", "grid", "graph"})  # graphs: node representations

    trainable = True
    # A bootstrap resample repeats rows, and a repeated row re-paired with its own copy is a joint pair
    # among the negatives: the spread over resamples would measure that, not the estimate's noise.
    resampling = "half"
    seeded = True

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "y_classes": V.optional(V.positive_int),
        "n_negatives": V.positive_int,
        "hidden": widths,
        "lr": V.positive,
        "eval_batch_size": eval_batch,
        "average": V.optional(unit_rate),
        "seed": SETTINGS["seed"].check,
        "validation": validation_share,
        "patience": V.positive_int,
        "eval_every": V.positive_int,
    }

    y_classes: int | None
    n_negatives: int
    #: The objective a family trains on, where it offers a choice (the setting ``objective``: the name
    #: ``objective`` is the method).
    objective_kind: str | None = None
    #: Whether ``fit`` may capture its training step in a CUDA graph and replay it (:mod:`.captured`): a
    #: step on batches of rows that reads nothing to the host, draws nothing but the derangements of
    #: :func:`~.negatives.drawn`, and whose shapes do not depend on the data. A family says so.
    capturable_step = False
    #: Whether the default critic, built for the widths of the first inputs when ``x_dim`` or ``y_dim`` is
    #: None, takes those widths only (an MLP's); a family whose critic takes other sizes says not.
    fixed_widths = True
    #: The settings the network is made from when the estimator is built: one assigned afterwards would
    #: be reported by ``settings()`` and leave the network as it was, so it is refused, naming it.
    built_from: ClassVar[tuple[str, ...]] = (
        "x_dim",
        "y_dim",
        "y_classes",
        "critic",
        "hidden",
        "average",
        "seed",
    )
    critic: nn.Module

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        y_classes: int | None = None,
        n_negatives: int = 8,
        critic: nn.Module | str = "concat",
        hidden: Hidden | int = HIDDEN,
        lr: float = LR,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        validation: float = 0.2,
        patience: int = 4,
        eval_every: int = 250,
        base: float = math.e,
    ) -> None:
        super().__init__(base=base)
        self.x_dim, self.y_dim = x_dim, y_dim
        self.y_classes = y_classes  # each checked on assignment: setting_checks
        self.n_negatives = n_negatives
        given = critic_choice(critic, "critic")
        #: The default critic's name, or None for a module given as the critic.
        self.critic_kind: str | None = given if isinstance(given, str) else None
        self.hidden = hidden
        self.lr = lr
        self.eval_batch_size = eval_batch_size
        self.average = average
        self.seed = seed
        self.validation, self.patience, self.eval_every = validation, patience, eval_every
        self.check_settings()
        if isinstance(given, nn.Module):
            self.critic = given  # what build_critic starts from (FLO wraps it)
        self.critic = self.build_critic()
        # The reported estimate's critic: an exponential moving average of the weights train_step gives.
        self.averaged: nn.Module | None = None if self.average is None else averaged_copy(self.critic)
        self.trainer = Trainer(self.critic, self.averaged, self.average)
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.steps_done: Tensor
        #: The widths of the first inputs, which a default critic built lazily takes from then on.
        self._widths: tuple[int | None, int | None] = (None, None)
        self.register_load_state_dict_pre_hook(_complete_state)  # type: ignore[no-untyped-call]
        self.register_load_state_dict_post_hook(_refreeze)  # type: ignore[no-untyped-call]

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.built_from and "trainer" in self.__dict__:  # built: the network holds it
            check = self._all_setting_checks.get(name)
            if check is not None:
                check(value, name)  # a bad value is refused as the constructor refuses it
            raise ValueError(
                f"{name}: the network is built from it when the estimator is made, and does not change "
                f"with it; make another: {type(self).__name__}(**{{**est.settings(), {name!r}: ...}})"
            )
        super().__setattr__(name, value)

    def setting(self, name: str) -> Any:
        """The setting ``name``; ``critic`` and ``objective`` name the network built and the method
        trained, so their settings are :attr:`critic_kind` (a module given is no setting) and
        :attr:`objective_kind`."""
        if name == "critic":
            return self.critic if self.critic_kind is None else self.critic_kind
        if name == "objective":
            return self.objective_kind
        return super().setting(name)

    def check_settings(self) -> None:
        """Checks across settings, once each is checked alone (a family extends it)."""
        if self.y_classes is not None and self.y_dim is None:
            self.y_dim = self.y_classes  # the critic takes the labels one-hot

    def build_critic(self) -> nn.Module:
        """The critic: the module given, or the default critic named, its weights drawn from ``seed``."""
        if self.critic_kind is None:
            return self.critic
        kind, hidden = self.critic_kind, self.hidden
        if isinstance(hidden, int):
            raise ValueError(
                f"hidden: expected a sequence of positive integer widths, got {hidden!r} (one width: DIM's)"
            )
        return seeded(lambda: make_critic(kind, self.x_dim, self.y_dim, hidden), self.seed)

    @property
    def scorer(self) -> nn.Module:
        """The critic that scores: the live one, except while ``est(x, y)`` reports an estimate after
        training steps, when it is the weight average (if averaging is on)."""
        return self.trainer.scorer

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Within it :attr:`scorer` is the critic that reports an estimate: the weight average once
        ``train_step`` has updated it, else the live critic. It nests: an estimate that reports within
        a report (LMI's embeddings, every resample of a standard error) keeps the outer one's critic."""
        with self.trainer.reporting(int(self.steps_done)):
            yield

    @property
    def history(self) -> History | None:
        """What the last ``fit`` saw of the bound on training and held-out rows (None before one that
        held rows out): :class:`~iblearn.estimators.neural.trainer.History`."""
        return self.trainer.history

    def _device(self) -> torch.device:
        for p in self.critic.parameters():
            return p.device
        return self.steps_done.device

    def _inputs(self, x: Any, y: Any) -> tuple[Tensor, Tensor]:
        """``x`` and ``y`` as the critic takes them, checked (:func:`.inputs.checked_pair`): a default
        critic built for the first inputs' widths refuses others by name."""
        lazy = self.critic_kind is not None and self.fixed_widths
        x_dim, y_dim = (
            (self.x_dim or self._widths[0], self.y_dim or self._widths[1])
            if lazy
            else (self.x_dim, self.y_dim)
        )
        xt, yt = checked_pair(
            x,
            y,
            dtype=param_dtype(self.critic),
            device=self._device(),
            y_classes=self.y_classes,
            x_dim=x_dim,
            y_dim=y_dim,
        )
        if lazy and None in (x_dim, y_dim):
            self._widths = (xt[0].numel(), yt[0].numel())
        return xt, yt

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        """The quantity training maximizes on a batch (inputs already checked)."""
        raise NotImplementedError

    def loss(self, x: Any, y: Any) -> Tensor:
        """The critic's training loss on a batch (minimize it over the critic's parameters). It moves
        what a training step moves (the negatives' generator, MINE's running denominator): to watch a
        critic without changing its training, call ``est``."""
        return self.trainer.loss(self, x, y)

    def checked_inputs(self, x: Any, y: Any) -> tuple[Any, Any]:
        """``x`` and ``y`` as the critic takes them, checked (:class:`~.contract.TrainingTarget`; a
        family that takes other inputs overrides :meth:`_inputs`)."""
        return self._inputs(x, y)

    def batch_loss(self, x: Any, y: Any) -> BatchLoss:
        """What the trainer minimizes on a batch of checked inputs (:class:`~.contract.TrainingTarget`):
        minus :meth:`objective`, weighed for this rank's rows (:meth:`_weighed`), with the bound it
        stands for (:meth:`_batch_bound`)."""
        loss = -self._weighed(self.objective(x, y), x)
        return BatchLoss(loss, self._batch_bound(loss))

    def _batch_bound(self, loss: Tensor) -> Tensor | None:
        """The bound on the batch that a training ``loss`` stands for, which the trainer judges for
        divergence; None where training maximizes no bound (only the loss itself is judged)."""
        return None

    def _weighed(self, bound: Tensor, x: Tensor) -> Tensor:
        """This rank's bound on its rows ``x``, weighted so that the mean over ranks is the bound on all
        rows, however many each rank holds (:func:`.distributed.rank_weight`); ``bound`` itself outside a
        process group and for equal batches."""
        share = distributed.rank_weight(len(x), x.device)
        return bound if share == 1.0 else bound * share

    def train_step(self, x: Any, y: Any) -> float:
        """One optimizer step of the critic on a batch (inputs are detached); returns the loss.

        Under ``torch.distributed`` the critic's gradients are averaged over the ranks, and the loss
        returned (and judged for divergence) is the mean over the ranks: the single-process step on the
        concatenated batch, taken alike on every rank (:mod:`iblearn.distributed`)."""
        return self.trainer.step(self, x, y)

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        self.trainer.moved()  # .to() and its kin replace the tensors the trainer holds
        result = super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        if recurse:
            # A network handed over as a setting (DGI's encoder, AA-MINE's sub-network) is the caller's,
            # not a submodule: held as a plain attribute, neither in the state dict nor switched by
            # train() / eval(). It runs on the estimator's inputs, though, so it follows the estimator's
            # device and dtype.
            owned = {id(m) for m in self.modules()}
            for network in list(vars(self).values()):
                if isinstance(network, nn.Module) and id(network) not in owned:
                    network._apply(fn)
        return result

    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        steps: int = 2000,
        batch_size: int = 256,
        seed: int = 0,
        progress: Callable[[int, float], None] | None = None,
    ) -> NeuralEstimator:
        """Train the critic for at most ``steps`` batches, keeping the critic with the best bound on
        held-out rows, and return ``self``.

        A critic trained blindly fits its training rows: InfoNCE reported -5.6 nats on held-out rows of
        a 25 x 25-dimensional Gaussian holding 1.29. So ``fit`` holds out a share
        ``validation`` of the rows, evaluates the bound on them every ``eval_every`` steps (and after
        the last), and when ``patience`` evaluations in a row bring no improvement stops early; the
        estimator is then restored as it stood at its best evaluation (critic, weight average, Adam's
        moments, ``steps_done``), as benchmark-mi's estimators keep their best critic (Czyz et al.
        2023). What it saw is in :attr:`history`. An estimator built with ``validation=0`` trains on
        every row for every step, blindly, with no evaluation.

        Args:
            x, y: tensors of samples (batches drawn without replacement, in a fresh random order on
                each pass over the data), or ``x`` an iterable of ``(x, y)`` batches such as a
                DataLoader (cycled as long as needed; nothing is held out of it) and ``y`` None.
            steps: optimizer steps, at most.
            batch_size: samples per step (tensors only).
            seed: seeds the split, the batch draws and the negatives. Every call starts again from
                ``seed``: two calls with the same seed train on the same batches and negatives; pass a
                different seed to continue with fresh ones.
            progress: called as ``progress(step, loss)`` after every step.

        Raises:
            ValueError: a bad argument, named; ``validation`` leaving fewer than 2 rows on a side.
        """
        self.trainer.fit(
            self,
            x,
            y,
            steps=steps,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
            validation=self.validation,
            patience=self.patience,
            eval_every=self.eval_every,
        )
        return self

    def watched_bounds(self, *parts: tuple[Any, Any]) -> list[float]:
        """What ``fit`` keeps the best network by, on each of ``parts`` (in nats, higher is better),
        read as an estimate reads it (:meth:`~iblearn.estimators.neural.trainer.Trainer.watching`)."""
        raise NotImplementedError

    def training_batches(self, x: Any, y: Any, batch_size: int, seed: int) -> Iterator[tuple[Any, Any]]:
        """The training batches ``fit`` draws (:class:`~.contract.TrainingTarget`; a family that draws
        them otherwise overrides :meth:`_batches`)."""
        return self._batches(x, y, batch_size, seed)

    def _batches(self, x: Any, y: Any, batch_size: int, seed: int) -> Any:
        """The training batches (:func:`.fitting.sample_batches`)."""
        return fitting.sample_batches(x, y, batch_size, seed)

    def _finite(self, value: Tensor, what: str, inputs: tuple[Any, Any] | None = None) -> Tensor:
        """``value``, unless it is NaN or Inf, or (given the ``inputs`` it came from) beyond what is
        plausible for them (:meth:`plausible_limit`): then the critic has diverged, and a number would
        hide it."""
        limit = math.inf if inputs is None else self.plausible_limit(*inputs)
        return not_diverged(value, limit, f"{self.name}: the {what}", int(self.steps_done))

    def plausible_limit(self, x: Any, y: Any) -> float:
        """What no bound on these inputs can exceed without divergence
        (:func:`iblearn.estimators.reliability.plausible`)."""
        return plausible(x, y, self.y_classes)

    def forward(self, x: Any, y: Any, **request: Any) -> MIEstimate:
        """The reported estimate (see :meth:`Estimator.forward`), scored by the averaged critic once
        ``train_step`` has updated it. Autograd follows it only where x or y require gradients: an
        estimate pooled over a test set otherwise holds no graph through the critic (for a conv critic
        over thousands of images, gigabytes), and ``loss`` is what trains the critic.

        Warns (UserWarning) where the estimator has never taken a training step: the estimate is then
        the bound of a critic drawn at random, which says nothing of the data."""
        with self.reporting(), torch.set_grad_enabled(torch.is_grad_enabled() and self._needs_graph(x, y)):
            x, y = self._everyone(x, y)
            refuse_constant(x, y)
            with distributed.single_process():
                estimate = super().forward(x, y, **request)
        if self._untrained():
            warnings.warn(
                f"{self.name}: the estimate is the bound of a critic that has taken no training step, a "
                f"number that says nothing of the data; call {self._fit_call} first (or train_step, or "
                "load the state_dict of a trained estimator)",
                UserWarning,
                stacklevel=V.outside_stacklevel(),
            )
        return estimate

    #: How ``fit`` is called, in the warning of an estimate before any training step.
    _fit_call: ClassVar[str] = "fit(x, y)"

    def _untrained(self) -> bool:
        """Whether an estimate reads a network drawn at random: one the estimator built (a network handed
        over may be trained, or exact), that has taken no training step (``train_step``, ``fit``, or a
        trained state loaded); ``fit`` watching its bound is training, and says nothing."""
        if self.critic_kind is None or self.trainer.is_watching or self.steps_done.is_meta:
            return False
        return int(self.steps_done) == 0

    def _everyone(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Under ``torch.distributed``, the rows of every rank (in rank order, any number on each), so
        that an estimate is the single-process one on all of them, the same on every rank; else, or for
        inputs that are not rows (graphs), ``x`` and ``y`` as given."""
        return distributed.every_rank_rows(x, y)

    def _needs_graph(self, x: Any, y: Any) -> bool:
        return wants_grad(x, y)

    def get_extra_state(self) -> dict[str, Any]:
        """What training goes on from, saved with ``state_dict``
        (:meth:`~iblearn.estimators.neural.trainer.Trainer.state_dict`)."""
        return self.trainer.state_dict()

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.trainer.load_state_dict(state)


def _complete_state(est: NeuralEstimator, state: dict[str, Any], prefix: str, *_: Any) -> None:
    """Completes, before loading, a state dict that lacks the weight average or ``_extra_state``.

    Without the weight average the average starts from the state's critic, so ``est`` reports what the
    critic reports; without ``_extra_state`` (the trainer's Adam state and negatives' generator) training
    goes on with fresh Adam moments.
    """
    if est.averaged is not None and not any(k.startswith(prefix + "averaged.") for k in state):
        critic = prefix + "critic."
        for key in [k for k in state if k.startswith(critic)]:
            state[prefix + "averaged." + key.removeprefix(critic)] = state[key]
    fresh = {"optimizer": None, "shuffles": est.trainer.shuffles.get_state()}
    state.setdefault(prefix + "_extra_state", fresh)


def _refreeze(est: NeuralEstimator, _: Any) -> None:
    """After loading: a lazy critic's average is materialized then, with parameters requiring grad."""
    if est.averaged is not None:
        frozen(est.averaged)
