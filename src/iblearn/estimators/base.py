"""The interface every estimator object implements: called as ``est(x, y)``, it gives an :class:`MIEstimate`.

An estimator object holds settings (and, for neural estimators, a critic); the math lives in
:mod:`iblearn.functional`. Class attributes say what an estimator is:

* ``differentiable``: its value can be back-propagated (usable as a training loss);
* ``trainable``: it has a critic to fit, and exposes ``loss(x, y)`` for that;
* ``bound``: ``"lower"``, ``"upper"`` or ``None`` relative to the Shannon MI;
* ``accepts``: the kinds of data it estimates from, of ``"vector"`` ``(N, d)``, ``"grid"``
  ``(N, C, H, W)`` and ``"graph"`` (node representations of a graph);
* ``graph_y``: y is a whole graph (``(x, edge_index)`` or a torch-geometric ``Data``), not rows of
  samples (DGI, GMI).

What callers use of a trainable estimator (``loss``, ``batch_mi``, ``train_step``, ``fit``) is
:class:`TrainableEstimator`; :func:`as_trainable` gives an estimator as one, or None.

Settings are the keyword arguments of the class's ``__init__``, as in torch.optim and scikit-learn:
each concrete class lists every setting it takes in its own ``__init__`` signature, with its default,
so that ``help()``, ``inspect.signature``, IDEs and mypy read them all, and an unknown keyword is a
TypeError (and a mypy error). Each setting is stored as an attribute of the same name; one with a
check in the class's ``setting_checks`` (a subclass's table merged over its bases') is checked on
every assignment, so a bad value raises a ValueError naming the argument in ``__init__``, and one
changed after construction (``est.normalize = "no"``) is refused with the constructor's message. The
settings a neural estimator's network is made from (its ``built_from``: widths, critic, seed, ...) are
refused once it is built, which they would no longer change.
The signature is read once, when the class is defined, into ``cls.declared`` (each setting's name
and default, in order); ``est.settings()``, :func:`passed_on` and the registry read that record. A
class hands its base's settings on with :func:`passed_on`, so that the signature is the one list of
them.

Uncertainty is asked for per call: ``est(x, y, n_resamples=100)`` adds a standard error, a bias and a
95% interval, ``est(x, y, n_permutations=200)`` a permutation-test p-value for independence, both from
the one inference core, :mod:`iblearn.functional.inference`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn._checks import log_base as log_base
from iblearn._settings import SETTINGS, resampling_counts, setting

# The interface's own types, importable from here as well.
from iblearn.estimators.estimate import Bound as Bound
from iblearn.estimators.estimate import MIEstimate as MIEstimate
from iblearn.estimators.estimate import unit_name as unit_name
from iblearn.functional import inference
from iblearn.parallel import check_n_jobs, permuted_estimates


def _taken(rows: Tensor, *tensors: Tensor | None) -> list[Any]:
    """The ``rows`` of each tensor (None stays None), on its device."""
    return [None if t is None else t[rows.to(t.device)] for t in tensors]


@dataclass(frozen=True)
class Permutations:
    """A permutation test asked of an estimate: ``count`` permutations drawn from ``seed`` and run
    through joblib as ``n_jobs`` says, against the ``observed`` estimate in nats."""

    observed: float
    count: int
    seed: int
    n_jobs: int | None


#: A setting's check: ``check(value, name)`` gives the value to keep, or raises a ValueError naming it.
SettingCheck = Callable[[Any, str], Any]


#: No default: a setting the constructor requires.
REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Declared:
    """A class's settings as its ``__init__`` declares them, read once when the class is defined:
    each keyword's default (:data:`REQUIRED` where it has none), in order, and whether the
    constructor also takes any other keyword (``**kwargs``)."""

    defaults: Mapping[str, Any]
    open: bool

    @classmethod
    def of(cls, klass: type) -> Declared:
        params = inspect.signature(klass).parameters.values()
        named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        return cls({p.name: p.default for p in named}, any(p.kind is p.VAR_KEYWORD for p in params))


def passed_on(given: Mapping[str, Any], parent: type[Estimator]) -> dict[str, Any]:
    """The keyword arguments of ``parent``'s ``__init__`` among ``given``, a constructor's ``locals()``:
    what a class that lists every setting in its own signature hands to ``super().__init__``
    (``super().__init__(**passed_on(locals(), BoundEstimator))``), so the shared settings are named
    once, in the signature. A parameter of ``parent`` the class does not take keeps ``parent``'s
    default."""
    return {name: given[name] for name in parent.declared.defaults if name in given}


def _merged_checks(cls: type) -> dict[str, SettingCheck]:
    """The :attr:`Estimator.setting_checks` of ``cls`` and its bases, a subclass's over its bases'."""
    merged: dict[str, SettingCheck] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get("setting_checks", {}))
    return merged


class Estimator(nn.Module):
    """Base class: subclasses set the class attributes, take their settings in ``__init__`` (see the
    module) and implement :meth:`mi` (nats, 0-d tensor).

    Args:
        base: of the logarithm the estimate is reported in (e: nats; 2: bits).
    """

    name: ClassVar[str] = "estimator"
    differentiable: ClassVar[bool] = False
    trainable: ClassVar[bool] = False
    bound: ClassVar[Bound] = None
    accepts: ClassVar[frozenset[str]] = frozenset({"vector"})
    graph_y: ClassVar[bool] = False
    #: Whether the class takes a ``seed`` setting, and whether it reads an integer y as class labels
    #: (MixedKSG, a critic with ``y_classes``) rather than as numbers: what the front door builds it by.
    seeded: ClassVar[bool] = False
    labels_y: ClassVar[bool] = False
    #: ``"bootstrap"`` (resample with replacement) or ``"half"`` (half-sampling jackknife).
    resampling: ClassVar[inference.Scheme] = "bootstrap"

    #: The check of each setting, by attribute name, run on every assignment of it: in ``__init__`` and
    #: after (``est.base = 1`` raises as ``Estimator(base=1)`` does, with the same message). A subclass
    #: lists its own settings' checks; the tables of a class and its bases merge.
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {"base": SETTINGS["base"].check}
    _all_setting_checks: ClassVar[dict[str, SettingCheck]]
    #: The settings the class's ``__init__`` declares (:class:`Declared`), read when it is defined.
    declared: ClassVar[Declared]

    def __init__(self, *, base: float = math.e) -> None:
        super().__init__()
        self.base = base

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._all_setting_checks = _merged_checks(cls)
        cls.declared = Declared.of(cls)

    def __setattr__(self, name: str, value: Any) -> None:
        check = self._all_setting_checks.get(name)
        super().__setattr__(name, value if check is None else check(value, name))

    def settings(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild an equivalent estimator, for records and configs:
        ``type(est)(**est.settings())``, the parameters of the class's ``__init__`` (:attr:`declared`)
        read back by :meth:`setting`. A network handed to the constructor (a user's critic, AA-MINE's
        sub-network, DGI's encoder) is not a setting and cannot be rebuilt from a record: pass it
        again."""
        values = {name: self.setting(name) for name in self.declared.defaults}
        return {k: v for k, v in values.items() if not (isinstance(v, nn.Module) or callable(v))}

    def setting(self, name: str) -> Any:
        """The value of the setting ``name``: the attribute of that name (a class whose keyword names
        something else, a network or a method, says where the setting is held)."""
        return getattr(self, name)

    def mi(self, x: Any, y: Any) -> Tensor:
        """The estimate in nats as a 0-d tensor."""
        raise NotImplementedError

    def forward(
        self,
        x: Any,
        y: Any,
        *,
        n_resamples: int = 0,
        n_permutations: int = 0,
        seed: int = 0,
        n_jobs: int | None = None,
    ) -> MIEstimate:
        """Estimate I(X; Y).

        Args:
            x, y: samples as rows (see the estimator for dtypes and shapes).
            n_resamples: if positive, a standard error, a bias and a 95% interval from that many
                resamples (bootstrap, or half-sampling jackknife for kNN estimators: Shao & Wu 1989,
                delete-N/2; :mod:`iblearn.functional.inference`).
            n_permutations: if positive, a permutation-test p-value: the share of estimates with y's rows
                shuffled that reach the observed one, ``(1 + #{perm >= obs}) / (1 + n_permutations)``.
            seed: seeds the resampling and the permutations.
            n_jobs: jobs for the permutations through joblib, as in
                :func:`iblearn.functional.pairwise_mi`; the p-value does not depend on it.
        """
        seed = self._checked_counts(n_resamples, n_permutations, seed)
        check_n_jobs(n_jobs)
        scale = 1.0 / math.log(self.base)
        value = self.mi(x, y)
        xt = V.as_tensor(x, "x")
        yt = V.as_tensor(y, "y") if isinstance(y, Tensor | np.ndarray | list) else None
        n = int(xt.shape[0])
        if (n_resamples or n_permutations) and yt is None and y is not None:
            raise ValueError(
                f"n_resamples, n_permutations: {self.name} cannot resample rows of a {type(y).__name__}"
            )
        asked = Permutations(float(value.detach()), n_permutations, seed, n_jobs)
        if (unspread := self._without_spread(value, xt, yt, None, asked)) is not None:
            return unspread
        resampled = p_value = None
        if n_resamples:
            resampled = self._resampled(n, n_resamples, seed, lambda rows: self.mi(*_taken(rows, xt, yt)))
        if n_permutations:
            if yt is None:
                raise ValueError(
                    f"n_permutations: {self.name} estimates from x alone; there is no y to permute"
                )
            p_value = self._p_value(xt, yt, asked)
        result = self._estimate_of(value * scale, n, resampled, p_value, n_permutations)
        return self._limited(result)

    def coverage(self, samples: Sequence[Any], names: Sequence[str]) -> dict[str, float]:
        """The figures of ``samples`` (named ``names``) on which this estimator's calibration found its
        interval may not cover (none here): the verdict on a named estimate reads them
        (:func:`iblearn.estimation.verdict.uncovered`)."""
        return {}

    def _p_value(self, x: Tensor, y: Tensor, asked: Permutations) -> float:
        """The permutation p-value of independence: one estimate per shuffle of y's rows (permutation
        i drawn by :func:`iblearn.functional.inference.rng` from ``asked.seed``)."""
        draws = (
            torch.from_numpy(inference.rng(asked.seed, inference.PERMUTATION, i).permutation(len(x)))
            for i in range(asked.count)
        )
        nulls = permuted_estimates(self._mi_of_permuted_y, (y, x), draws, asked.n_jobs)
        return inference.p_value(asked.observed, nulls)

    def _without_spread(
        self, value: Tensor, x: Tensor, y: Tensor | None, z: Tensor | None, asked: Permutations
    ) -> MIEstimate | None:
        """What ``forward`` returns where resamples of ``value`` (the estimate of x and y, given z where
        it is not None) would have no spread to read a standard error from, or None: resample and
        permute as asked. None here (the Gaussian closed form knows such a value: ``inf``)."""
        return None

    def _mi_of_permuted_y(self, y: Tensor, x: Tensor) -> Tensor:
        return self.mi(x, y)

    def _limited(self, result: MIEstimate) -> MIEstimate:
        """``result`` with the ceiling the estimator cannot exceed by construction (in ``limit``, which
        the verdict holds it against), where it has one: none here."""
        return result

    @staticmethod
    def _checked_counts(n_resamples: Any, n_permutations: Any, seed: Any) -> int:
        """``forward``'s resampling arguments checked, naming the one at fault; the seed."""
        resampling_counts(n_resamples, n_permutations)
        return setting("seed", seed)  # type: ignore[no-any-return]

    def _estimate_of(
        self,
        value: Tensor,
        n: int,
        resampled: inference.Resampled | None,
        p_value: float | None,
        n_permutations: int,
        measure: str = "mi",
    ) -> MIEstimate:
        """What ``forward`` returns: ``value`` (in this estimator's base) and what is known of it, with
        the bias-aware interval of :func:`iblearn.functional.inference.interval` where it was resampled
        (``resampled`` in nats)."""
        scale = 1.0 / math.log(self.base)
        spread: dict[str, Any] = {}
        if resampled is not None:
            (low, high), bias = inference.interval(
                float(value.detach()) / scale,
                resampled.stderr,
                half=resampled.half,
                n_resamples=resampled.n_resamples,
                floor=0.0,
            )
            spread = dict(
                stderr=resampled.stderr * scale,
                stderr_method=resampled.method,
                interval=(low * scale, high * scale),
                confidence=inference.CONFIDENCE,
                bias=None if resampled.half is None else bias * scale,
            )
        if n_permutations:  # only where there were some: the report's default is none, and a copy costs
            spread["n_permutations"] = n_permutations
        return MIEstimate(
            value=value,
            n_samples=n,
            estimator=self.name,
            measure=measure,
            unit=unit_name(self.base),
            bound=self.bound,
            p_value=p_value,
            **spread,
        )

    def _resampled(
        self, n: int, n_resamples: int, seed: int, estimate: Callable[[Tensor], Tensor]
    ) -> inference.Resampled:
        """What ``n_resamples`` resamples of ``n`` rows say of ``estimate`` (a function of the rows
        kept, in nats): by :attr:`resampling`, the half-sampling jackknife or the bootstrap
        (:func:`iblearn.functional.inference.resampled`)."""
        return inference.resampled(
            lambda rows: float(estimate(torch.from_numpy(rows))), n, n_resamples, self.resampling, seed
        )

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.settings().items())


Estimator._all_setting_checks = _merged_checks(Estimator)
Estimator.declared = Declared.of(Estimator)


@runtime_checkable
class TrainableEstimator(Protocol):
    """What callers use of an estimator with a critic (``trainable = True``): the critic's training loss
    and step, the bound on a batch as a training signal, and ``fit``. Every neural estimator is one;
    so is any object with these methods (a test's fake, a peer's adapter).
    """

    name: ClassVar[str]

    def loss(self, x: Any, y: Any) -> Tensor:
        """The critic's training loss on a batch (minimize it over the critic's parameters)."""
        ...

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        """The bound on one batch, differentiable w.r.t. the inputs: a training signal for a network."""
        ...

    def train_step(self, x: Any, y: Any) -> float:
        """One optimizer step of the critic on a batch (inputs detached); returns the loss."""
        ...

    def fit(self, x: Any, y: Any = None) -> Any:
        """Train the critic on data (tensors or a DataLoader of batches); returns the estimator."""
        ...


def as_trainable(est: Estimator) -> TrainableEstimator | None:
    """``est`` as a :class:`TrainableEstimator` if its class says it is trainable, else None.

    Raises:
        ValueError: ``trainable`` is set but a method of the protocol is missing.
    """
    if not type(est).trainable:
        return None
    if not isinstance(est, TrainableEstimator):
        methods = ("loss", "batch_mi", "train_step", "fit")
        missing = [m for m in methods if not callable(getattr(est, m, None))]
        raise ValueError(f"estimator: {est.name} says it is trainable but lacks {', '.join(missing)}")
    return est
