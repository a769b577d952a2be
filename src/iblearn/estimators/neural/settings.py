"""The settings a neural estimator is built from: one frozen dataclass, checked once.

Every neural estimator holds its settings as ``est.config``, a :class:`NeuralSettings` (or a family's
extension of it with the family's own knobs, e.g. MINE's ``rate``), and ``est.settings()`` is read off
it: the fields the estimator's constructor takes, so ``type(est)(**est.settings())`` rebuilds it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Generic, TypeVar, cast, overload

from torch import nn

from iblearn import _checks as V
from iblearn.estimators.critics import Hidden, hidden_widths, make_critic, seeded

T = TypeVar("T")

#: The default critic's hidden widths and Adam learning rate of the neural estimators (chosen by
#: measurement: see :class:`NeuralSettings`). The critics' own default, ``critics.DEFAULT_HIDDEN``
#: (256, 256), is that of a critic built directly.
HIDDEN: tuple[int, ...] = (64, 64)
LR = 2e-3


@dataclass(frozen=True, kw_only=True)
class NeuralSettings:
    """Settings shared by the neural estimators (defaults: :class:`NeuralEstimator`'s constructor's).

    The default critic and learning rate were chosen by measurement on benchmark-mi's tasks
    (``benchmarks/neural_bmi.py``; the figures in ``docs/benchmarks.md``): two layers of 64 at lr 2e-3
    come closer to the truth than 256 x 256 at lr 5e-4, since a wider critic fits its training rows'
    noise sooner, and a step takes about half the time.

    Attributes:
        critic: ``"concat"``, ``"separable"`` (built from ``x_dim``, ``y_dim``, ``hidden`` and ``seed``:
            :func:`iblearn.estimators.critics.make_critic`), or an ``nn.Module``, used as it is (not a
            setting: a module cannot be rebuilt from a record, so ``settings()`` leaves it out).
        x_dim, y_dim: input widths (flattened) the default critic is built for; None infers them at the
            first call. With ``y_classes`` and no ``y_dim``, ``y_dim`` is the number of classes (one-hot).
        hidden: hidden widths of the default critic (DIM: the width of its convolutions, an int);
            ``HIDDEN``, two layers of 64, by default.
        y_classes: the number of classes, for integer labels y (one-hot encoded); None: y is continuous.
            Where the bound allows (``class_sums``) the marginal term then sums over the classes instead
            of re-pairing (exact and lower-variance: ``negatives.class_scores``).
        lr: Adam learning rate of the critic (2e-3, ``LR``, by default).
        n_negatives: re-pairings per sample for the marginal term of ``est`` and ``batch_mi`` (concat
            critics; none with ``y_classes``); a training step uses one, as MINE's Algorithm 1 does.
        eval_batch_size: rows per evaluation batch; negatives are drawn within a batch.
        average: rate of the exponential moving average of the critic's weights over the ``train_step``
            calls (so ``fit``) that ``est(x, y)`` reports with
            (:class:`iblearn.estimators.neural.averaging.WeightAverage`; it keeps one more copy of the
            critic's weights). None reports with the last weights, as a critic trained through ``loss``
            with your own optimizer must (the average follows ``train_step`` only). ``loss``,
            ``train_step`` and ``batch_mi`` always use the live critic.
        seed: initializes the critic (lazy layers too, when x_dim or y_dim is None).
        base: of the logarithm the estimate is reported in.
        validation: the share of the rows ``fit`` holds out to watch the bound on (row tensors only;
            a DataLoader is used whole), in [0, 1): 0 trains on every row for every step, blindly.
        patience: evaluations of the held-out bound without improvement before ``fit`` stops early.
        eval_every: training steps between evaluations of the held-out bound (benchmark-mi's 250).
    """

    critic: nn.Module | str = "concat"
    x_dim: int | None = None
    y_dim: int | None = None
    hidden: Hidden | int = HIDDEN
    y_classes: int | None = None
    lr: float = LR
    n_negatives: int = 8
    eval_batch_size: int = 1024
    average: float | None = 0.01
    seed: int = 0
    base: float = math.e
    # A critic trained blindly for its steps fits its rows, and its bound on other rows falls far below
    # the truth; benchmark-mi holds out data and keeps the best critic, evaluating every 250 steps
    # (Czyz et al. 2023).
    validation: float = 0.2
    patience: int = 4
    eval_every: int = 250

    def __post_init__(self) -> None:
        if not isinstance(self.critic, nn.Module | str):
            raise ValueError(f"critic: expected 'concat', 'separable' or an nn.Module, got {self.critic!r}")
        average = self.average
        if average is not None and not (
            isinstance(average, int | float) and not isinstance(average, bool) and 0 < average <= 1
        ):
            raise ValueError(f"average: the averaging rate must be None or lie in (0, 1], got {average!r}")
        if self.y_classes is not None:
            self._set("y_classes", V.positive_int(self.y_classes, "y_classes"))
            if self.y_dim is None:  # the critic takes the labels one-hot
                self._set("y_dim", self.y_classes)
        self._set("hidden", self._widths(self.hidden))
        self._set("lr", V.positive(self.lr, "lr"))
        self._set("n_negatives", V.positive_int(self.n_negatives, "n_negatives"))
        self._set("eval_batch_size", V.positive_int(self.eval_batch_size, "eval_batch_size"))
        if self.eval_batch_size < 2:
            raise ValueError("eval_batch_size: an evaluation batch needs 2 samples to re-pair, got 1")
        V.seed(self.seed)
        self._set("validation", validation_share(self.validation))
        self._set("patience", V.positive_int(self.patience, "patience"))
        self._set("eval_every", V.positive_int(self.eval_every, "eval_every"))
        if isinstance(self.base, int | float) and not isinstance(self.base, bool):
            self._set("base", float(self.base))  # checked by the estimator

    @staticmethod
    def _widths(hidden: Any) -> tuple[int, ...] | int:
        """``hidden`` checked: a sequence of widths (a family whose critic takes one width overrides this)."""
        return hidden_widths(hidden)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # normalized once, here: the dataclass is frozen after

    def build_critic(self) -> nn.Module:
        """The critic: the module given, or the default critic named, its weights drawn from ``seed``."""
        if isinstance(self.critic, nn.Module):
            return self.critic
        kind, hidden = self.critic, self.hidden
        if isinstance(hidden, int):
            raise ValueError(f"hidden: the default critics take a sequence of widths, got {hidden!r}")
        return seeded(lambda: make_critic(kind, self.x_dim, self.y_dim, hidden), self.seed)

    def as_keywords(self, keywords: Any) -> dict[str, Any]:
        """The fields named in ``keywords`` (a constructor's parameters), in their order, as keyword
        arguments; a module (the critic, not rebuildable from a record) is left out."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {
            name: values[name]
            for name in keywords
            if name in values and not isinstance(values[name], nn.Module)
        }


def validation_share(value: Any) -> float:
    """``value`` checked as the share of rows held out for validation: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"validation: the share of rows held out must lie in [0, 1), got {value!r}")
    return float(value)


class Setting(Generic[T]):
    """An estimator's attribute that is a field of its ``config`` (``est.lr`` is ``est.config.lr``): the
    settings live in one place, and an attribute cannot drift from what ``settings()`` reports.
    Assigning one replaces ``config`` by a copy with that field changed, checked as the constructor
    checks it."""

    def __init__(self, field: str | None = None) -> None:
        self.field = field

    def __set_name__(self, owner: type, name: str) -> None:
        self.field = self.field or name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Setting[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Setting[T] | T:
        if obj is None:
            return self
        return cast(T, getattr(obj.config, cast(str, self.field)))  # type: ignore[attr-defined]

    def __set__(self, obj: Any, value: T) -> None:
        obj.config = replace(obj.config, **{cast(str, self.field): value})


def constructor_signature(settings: type[NeuralSettings], fixed: Mapping[str, Any]) -> inspect.Signature:
    """The constructor a family's settings make: ``x_dim, y_dim`` by position or by name, then as keywords
    with their defaults ``critic``, ``hidden``, the family's own fields, and the other shared ones (less
    those the family ``fixed``), then ``config``. One list of settings, the dataclass, instead of a
    constructor restating it per estimator."""
    P = inspect.Parameter
    shared = [f.name for f in fields(NeuralSettings)]
    own = [f.name for f in fields(settings) if f.name not in shared]
    rest = [n for n in shared if n not in ("critic", "hidden", "x_dim", "y_dim")]
    order = ["critic", "hidden", *own, *rest]
    defaults = {f.name: f.default for f in fields(settings)}
    params = [P(name, P.POSITIONAL_OR_KEYWORD, default=None) for name in ("x_dim", "y_dim")]
    params += [P(name, P.KEYWORD_ONLY, default=defaults[name]) for name in order if name not in fixed]
    return inspect.Signature([*params, P("config", P.KEYWORD_ONLY, default=None)])
