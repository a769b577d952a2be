"""The base of the trainable (neural) MI estimators: a critic fitted by gradient ascent on a variational
bound.

Three things are kept apart (the lesson of torch-mist): ``loss(x, y)``, the critic's training loss on a
batch (for MINE its gradient is the bias-corrected one, and its value is not an estimate);
``batch_mi(x, y)``, the bound on a batch, differentiable, for use as a training signal for a network; and
``est(x, y)``, the reported estimate on data, pooled over all of it, with the critic's weights averaged
over training (``average``: :mod:`.averaging`). ``fit`` trains the critic from tensors or from a
DataLoader (:mod:`.fitting`). A critic whose loss or estimate becomes NaN or Inf raises
:class:`CriticDivergedError` with the step, never returns NaN.

A bound family is a subclass that defines :meth:`NeuralEstimator.objective` (what the critic maximizes
on a batch) and :meth:`NeuralEstimator._pooled` (the bound reported from all joint and marginal scores);
see :mod:`.nwj` for one in full. Under ``torch.distributed`` each rank passes its own rows and draws
its negatives from every rank's (:mod:`.distributed`). What inputs are accepted is :mod:`.inputs`; when
a critic has diverged or an estimate cannot be read as one, :mod:`iblearn.estimators.reliability` (both
re-exported here).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import Bound, Estimator, MIEstimate
from iblearn.estimators.neural import distributed, fitting
from iblearn.estimators.neural.averaging import WeightAverage, averaged_copy
from iblearn.estimators.neural.inputs import (
    as_input,
    checked_pair,
    detached,
    param_dtype,
    refuse_constant,
    wants_grad,
)
from iblearn.estimators.neural.negatives import scores
from iblearn.estimators.neural.settings import (
    NeuralSettings,
    Setting,
    constructor_signature,
    validation_share,
)
from iblearn.estimators.reliability import (
    BELOW_TRAINING,
    BELOW_ZERO,
    IMPLAUSIBLE,
    CriticDivergedError,
    UnreliableEstimateWarning,
    judged,
    label_entropy,
    not_diverged,
    plausible,
)

__all__ = [
    "BELOW_TRAINING",
    "BELOW_ZERO",
    "IMPLAUSIBLE",
    "CriticDivergedError",
    "NeuralEstimator",
    "UnreliableEstimateWarning",
    "as_input",
    "detached",
    "param_dtype",
    "wants_grad",
]


class NeuralEstimator(Estimator):
    """Shared machinery: input checks, scores, the training step, ``fit`` and pooled estimates; and the
    constructor of a bound on vectors with a default critic (NWJ and JS use it as it is).

    Args:
        x_dim, y_dim: input sizes (flattened); None infers them at the first call.
        config: the settings as one :class:`NeuralSettings` (or a family's extension of it), in place
            of the keywords.
        **settings: the other keywords: the fields of :class:`NeuralSettings` (``critic``, ``hidden``,
            ``y_classes``, ``lr``, ``n_negatives``, ``eval_batch_size``, ``average``, ``seed``,
            ``base``, ``validation``, ``patience``, ``eval_every``), each described there.

    A family with settings of its own declares them once, as fields of a :class:`NeuralSettings`
    subclass named in its ``Settings`` attribute: its constructor then takes them as keywords (and
    ``inspect.signature``, ``get_estimator`` and ``settings()`` see them), with no constructor to write.
    """

    accepts = frozenset({"vector", "grid", "graph"})  # graphs: node representations

    trainable = True
    differentiable = True
    bound: ClassVar[Bound] = "lower"
    # A bootstrap resample repeats rows, and a repeated row re-paired with its own copy is a joint pair
    # among the negatives: the spread over resamples would measure that, not the estimate's noise.
    resampling = "half"
    #: Whether the marginal term sums over the classes of integer labels y (:func:`.negatives.class_scores`):
    #: only for bounds that see the marginal scores through exp(T) alone, where weights are log offsets.
    class_sums: ClassVar[bool] = False

    #: The family's settings: the constructor takes their fields as keywords (:func:`.settings.
    #: constructor_signature`), so a new bound declares its knobs once, in its dataclass.
    Settings: ClassVar[type[NeuralSettings]] = NeuralSettings
    #: Settings the class sets itself (MINE-f's objective) or has no use for: not among its keywords.
    fixed: ClassVar[Mapping[str, Any]] = {}
    config: NeuralSettings
    critic: nn.Module
    averaged: nn.Module | None
    steps_done: Tensor
    x_dim = Setting[int | None]()
    y_dim = Setting[int | None]()
    hidden = Setting[Any]()
    y_classes = Setting[int | None]()
    lr = Setting[float]()
    n_negatives = Setting[int]()
    eval_batch_size = Setting[int]()
    average = Setting[float | None]()
    seed = Setting[int]()
    validation = Setting[float]()
    patience = Setting[int]()
    eval_every = Setting[int]()
    #: What the last ``fit`` saw of the bound on training and held-out rows (None before one that held
    #: rows out): :class:`.fitting.History`.
    history: fitting.History | None

    def __init__(
        self, x_dim: int | None = None, y_dim: int | None = None, *, config: Any = None, **settings: Any
    ) -> None:
        if config is None:
            keywords = inspect.signature(type(self)).parameters
            unknown = [name for name in settings if name not in keywords or name == "config"]
            if unknown:
                raise TypeError(f"{type(self).__name__}() got unexpected keyword argument(s) {unknown}")
            config = self.Settings(x_dim=x_dim, y_dim=y_dim, **settings, **self.fixed)
        super().__init__(base=config.base)
        self.config = replace(config, base=self.base)
        self.critic = config.build_critic()
        # The reported estimate's critic: an exponential moving average of the weights train_step gives.
        self.averaged, self._average = None, None
        if config.average is not None:
            self.averaged = averaged_copy(self.critic)
            self._average = WeightAverage(self.critic, self.averaged, config.average)
        self._optimizer = fitting.CriticOptimizer(self.critic)
        self._reporting = False  # est(x, y) is reporting, with the averaged critic where there is one
        self.history = None
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self._shuffles = torch.Generator().manual_seed(0)  # negatives while training; reseeded by fit
        self.register_load_state_dict_pre_hook(fitting.older_checkpoint)  # type: ignore[no-untyped-call]
        self.register_load_state_dict_post_hook(fitting.refreeze)  # type: ignore[no-untyped-call]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        own = init is not None and not any(
            p.kind is p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()
        )
        # A class with a constructor of its own (DIM, GMI, AA-MINE) is described by it; the others by
        # their settings.
        cls.__signature__ = None if own else constructor_signature(cls.Settings, cls.fixed)  # type: ignore[attr-defined]

    @property
    def critic_kind(self) -> str | None:
        """The default critic's name, or None for a module given as the critic."""
        return self.config.critic if isinstance(self.config.critic, str) else None

    @property
    def scorer(self) -> nn.Module:
        """The critic that scores: the live one, except while ``est(x, y)`` reports an estimate after
        training steps, when it is the weight average (if averaging is on)."""
        return self.averaged if self._reporting and self.averaged is not None else self.critic

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Within it :attr:`scorer` is the critic that reports an estimate: the weight average once
        ``train_step`` has updated it, else the live critic. It nests: an estimate that reports within
        a report (LMI's embeddings, every resample of a standard error) keeps the outer one's critic."""
        before = self._reporting
        self._reporting = before or (self.averaged is not None and int(self.steps_done) > 0)
        try:
            yield
        finally:
            self._reporting = before

    def settings(self) -> dict[str, Any]:
        """The constructor's keywords, read from ``config`` (a critic module is not one)."""
        return self.config.as_keywords(inspect.signature(type(self)).parameters)

    def _device(self) -> torch.device:
        for p in self.critic.parameters():
            return p.device
        return self.steps_done.device

    def _inputs(self, x: Any, y: Any) -> tuple[Tensor, Tensor]:
        """``x`` and ``y`` as the critic takes them, checked (:func:`.inputs.checked_pair`)."""
        return checked_pair(
            x,
            y,
            dtype=param_dtype(self.critic),
            device=self._device(),
            y_classes=self.y_classes,
            x_dim=self.x_dim,
            y_dim=self.y_dim,
        )

    def _scores(
        self, x: Tensor, y: Tensor, n_shuffles: int, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """Joint scores (N,) and marginal scores (flat) of :attr:`scorer` (see :func:`.negatives.scores`)."""
        by_class = self.class_sums and self.y_classes is not None
        return scores(self.scorer, x, y, n_shuffles, gen, by_class=by_class)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        """The quantity the critic maximizes on a batch (inputs already checked)."""
        raise NotImplementedError

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        """The reported bound from joint and marginal scores pooled over the data."""
        raise NotImplementedError

    def loss(self, x: Any, y: Any) -> Tensor:
        """The critic's training loss on a batch (minimize it over the critic's parameters). It moves
        what a training step moves (the negatives' generator, MINE's running denominator): to watch a
        critic without changing its training, call ``est``."""
        xt, yt = self._inputs(x, y)
        loss = self._finite(-self._weighed(self.objective(xt, yt), xt), "loss")
        self._finite(self._training_bound(loss), "batch's bound", (xt, yt))
        return loss

    def _weighed(self, bound: Tensor, x: Tensor) -> Tensor:
        """This rank's bound on its rows ``x``, weighted so that the mean over ranks is the bound on all
        rows, however many each rank holds (:func:`.distributed.row_share`); ``bound`` itself outside a
        process group and for equal batches."""
        share = distributed.row_share(len(x), x.device)
        return bound if share == 1.0 else bound * share

    def _training_bound(self, loss: Tensor) -> Tensor:
        """The bound on the batch that a training loss stands for: minus the loss, where the critic is
        trained on the bound itself (MINE's loss is a gradient surrogate, and says otherwise)."""
        return -loss.detach()

    def train_step(self, x: Any, y: Any) -> float:
        """One optimizer step of the critic on a batch (inputs are detached); returns the loss.

        Under ``torch.distributed`` the critic's gradients are averaged over the ranks, and the loss
        returned (and judged for divergence) is the mean over the ranks: the single-process step on the
        concatenated batch, taken alike on every rank (:mod:`.distributed`)."""
        return fitting.step(self, x, y)

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        # .to() and its kin replace the tensors: Adam's moments must follow them to their dtype and device.
        if self._average is not None:
            self._average.forget()
        self._optimizer.release()
        return super()._apply(fn, recurse)  # type: ignore[no-untyped-call]

    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        steps: int = 2000,
        batch_size: int = 256,
        seed: int = 0,
        progress: Callable[[int, float], None] | None = None,
        validation: float | None = None,
        patience: int | None = None,
    ) -> NeuralEstimator:
        """Train the critic for at most ``steps`` batches, keeping the critic with the best bound on
        held-out rows, and return ``self``.

        A critic trained blindly fits its training rows: InfoNCE reported -5.6 nats on held-out rows of
        a 25 x 25-dimensional Gaussian holding 1.29. So ``fit`` holds out a share
        ``validation`` of the rows, evaluates the bound on them every ``eval_every`` steps (and after
        the last), and when ``patience`` evaluations in a row bring no improvement stops early; the
        estimator is then restored as it stood at its best evaluation (critic, weight average, Adam's
        moments, ``steps_done``), as benchmark-mi's estimators keep their best critic (Czyz et al.
        2023). What it saw is in :attr:`history`. ``validation=0`` trains on every row for every step,
        as ``fit`` did before (the same critic, bit for bit).

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
            validation: the share of rows held out, in [0, 1); None: the estimator's setting.
            patience: evaluations without improvement before stopping, at least 1; None: the setting.

        Raises:
            ValueError: a bad argument, named; ``validation`` leaving fewer than 2 rows on a side.
        """
        steps = V.positive_int(steps, "steps")
        batch_size = V.positive_int(batch_size, "batch_size")
        seed = V.seed(seed)
        share = self.validation if validation is None else validation_share(validation)
        patience = self.patience if patience is None else V.positive_int(patience, "patience")
        self.history = fitting.train(self, x, y, steps, batch_size, seed, progress, share, patience)
        self.eval()
        return self

    def _watched(self, *parts: tuple[Tensor, Tensor]) -> list[float]:
        """The bound (nats) on each of ``parts`` as an estimate reports it (the averaged critic); under
        ``torch.distributed``, on every rank's rows of them, so every rank takes the same decisions."""
        with fitting.watching(self):
            everyone = [self._everyone(*part) for part in parts]
            with distributed.local():
                return [float(self.mi(*part)) for part in everyone]

    def _batches(self, x: Any, y: Any, batch_size: int, seed: int) -> Any:
        """The training batches ``fit`` draws (:func:`.fitting.sample_batches`)."""
        return fitting.sample_batches(x, y, batch_size, seed)

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        """The reported bound on one batch, differentiable w.r.t. the inputs (a training signal)."""
        xt, yt = self._inputs(x, y)
        bound = self._pooled(*self._scores(xt, yt, self.n_negatives, self._shuffles))
        return self._finite(self._weighed(bound, xt), "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        """The bound on all the data, scores pooled across the evaluation batches
        (:func:`.fitting.eval_parts`). Shuffles use a fixed generator, so the estimate is reproducible.
        """
        xt, yt = self._inputs(x, y)
        gen = torch.Generator().manual_seed(0)
        parts = [self._scores(xt[idx], yt[idx], self.n_negatives, gen) for idx in self._eval_parts(xt)]
        joint, marginal = (torch.cat(part) for part in zip(*parts, strict=True))
        return self._finite(self._pooled(joint, marginal), "estimate", (xt, yt))

    def _eval_parts(self, x: Tensor) -> tuple[Tensor, ...]:
        return fitting.eval_parts(len(x), self.eval_batch_size, x.device)

    def _batch_mean(self, x: Tensor, y: Tensor, bound: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        """``bound`` on each evaluation batch, weighted by its rows: for bounds that do not pool scores
        (InfoNCE's log-softmax is per batch)."""
        terms = [bound(x[idx], y[idx]) * len(idx) for idx in self._eval_parts(x)]
        return self._finite(torch.stack(terms).sum() / len(x), "estimate", (x, y))

    def _batch_limit(self, result: MIEstimate) -> MIEstimate:
        """``result`` with its ceiling: InfoNCE on a batch of B never exceeds log B."""
        largest = max(len(idx) for idx in self._eval_parts(torch.empty(result.n_samples)))
        return replace(result, limit=math.log(largest) / math.log(self.base))

    def _finite(self, value: Tensor, what: str, inputs: tuple[Any, Any] | None = None) -> Tensor:
        """``value``, unless it is NaN or Inf, or (given the ``inputs`` it came from) beyond what is
        plausible for them (:meth:`_plausible`): then the critic has diverged, and a number would hide it."""
        limit = math.inf if inputs is None else self._plausible(*inputs)
        return not_diverged(value, limit, f"{self.name}: the {what}", int(self.steps_done))

    def _plausible(self, x: Any, y: Any) -> float:
        """What no bound on these inputs can exceed without divergence
        (:func:`iblearn.estimators.reliability.plausible`)."""
        return plausible(x, y, self.y_classes)

    def forward(self, x: Any, y: Any, **request: Any) -> MIEstimate:
        """The reported estimate (see :meth:`Estimator.forward`), scored by the averaged critic once
        ``train_step`` has updated it. Autograd follows it only where x or y require gradients: an
        estimate pooled over a test set otherwise holds no graph through the critic (for a conv critic
        over thousands of images, gigabytes), and ``loss`` is what trains the critic."""
        with self.reporting(), torch.set_grad_enabled(torch.is_grad_enabled() and self._needs_graph(x, y)):
            x, y = self._everyone(x, y)
            refuse_constant(x, y)
            with distributed.local():
                return super().forward(x, y, **request)

    def _everyone(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Under ``torch.distributed``, the rows of every rank (in rank order, any number on each), so
        that an estimate is the single-process one on all of them, the same on every rank; else, or for
        inputs that are not rows (graphs), ``x`` and ``y`` as given."""
        return distributed.every_rank_rows(x, y)

    def _judged(self, result: MIEstimate, x: Any, y: Any) -> MIEstimate:
        """``result``, flagged and warned about where it is impossible for the data or cannot be read as
        an estimate (:func:`iblearn.estimators.reliability.judged`): against 0, H(Y) of labels ``y``,
        its ceiling, and for a lower bound log N and the bound on training rows that ``fit`` recorded at
        the kept critic."""
        best = self.history.best if self.history is not None and self.bound == "lower" else None
        entropy = label_entropy(y) if self.y_classes is not None else None
        return judged(
            result, self.name, self.base, training_best=None if best is None else best[0], entropy=entropy
        )

    def _needs_graph(self, x: Any, y: Any) -> bool:
        return wants_grad(x, y)

    def get_extra_state(self) -> dict[str, Any]:
        """What training goes on from, saved with ``state_dict`` (:func:`.fitting.extra_state`)."""
        return fitting.extra_state(self)

    def set_extra_state(self, state: dict[str, Any]) -> None:
        fitting.load_extra_state(self, state)


NeuralEstimator.__signature__ = constructor_signature(NeuralSettings, {})  # type: ignore[attr-defined]
