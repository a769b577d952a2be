"""The estimator interface: ``est(x, y)`` returns an :class:`MIEstimate`.

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

Uncertainty is asked for per call: ``est(x, y, n_resamples=100)`` adds a standard error,
``est(x, y, n_permutations=200)`` a permutation-test p-value for independence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators import reliability
from iblearn.functional._parallel import check_n_jobs, permuted_estimates

Bound = Literal["lower", "upper"] | None


@dataclass(frozen=True, eq=False, repr=False)
class MIEstimate:
    """An MI estimate and what the estimator knows about it.

    It behaves as the number it holds: ``float(est)``, ``f"{est:.3f}"``, ``est > 0.1``,
    ``est - other`` and ``round(est, 2)`` read ``value`` (arithmetic gives a plain ``float``, detached:
    use ``est.value`` for a differentiable tensor). ``==`` and ``hash`` are those of the number too, so
    two estimates with one value are equal whatever else they carry. The repr is one line for
    notebooks; ``str`` adds the standard error and p-value.

    Example:
        >>> est = MIEstimate(torch.tensor(0.4018), n_samples=500, estimator="ksg")
        >>> est
        MIEstimate(0.4018 nats, ksg, N=500)
        >>> f"{est:.2f}", est > 0.1, round(est - 0.4, 3)
        ('0.40', True, 0.002)

    Attributes:
        value: 0-d tensor in ``unit`` (differentiable when the estimator is).
        n_samples: samples the estimate used.
        estimator: registry name of the estimator.
        unit: ``"nats"``, ``"bits"`` or ``"log base b"``.
        bound: ``"lower"``/``"upper"`` if the estimator bounds the MI, else ``None``.
        stderr: standard error, if resampling was asked for.
        stderr_method: ``"bootstrap"`` or ``"half-sampling jackknife"`` (kNN estimators, which
            duplicated bootstrap rows would corrupt).
        p_value: permutation-test p-value for independence, if asked for.
        n_permutations: permutations behind ``p_value``.
        limit: a value the estimate can never exceed by construction (e.g. log N for InfoNCE).
        reliable: False when the estimator knows its number cannot be read as an estimate: a neural
            estimate impossible for its data (below 0 beyond its sampling error, above H(Y) of
            labels, a lower bound above log N, InfoNCE at its ceiling log B) or far below its
            training value, or fitted with a batch that held every training row
            (:func:`iblearn.estimators.reliability.judged`); ``caveat`` says why, and the
            estimator warned (:class:`iblearn.estimators.UnreliableEstimateWarning`).
        caveat: why the estimate is not reliable, else None.
        split: the rows behind an estimate that fitted a critic first (:func:`iblearn.estimate_mi`):
            ``{"train": ..., "validation": ..., "test": ...}``, the estimate on the test rows.
        interval: ``(low, high)`` in ``unit`` from ``method="auto"``
            (:func:`iblearn.estimators.auto.auto_estimate`): two standard errors and the bias its
            checks reveal; else None.
        chosen: the estimator ``method="auto"`` chose (``estimator``, with ``"copula "`` before it
            where it ran on each column's normal scores), and ``why``: the rule and the data's
            features that chose it.
        checks: ``method="auto"``'s self-checks, name -> :class:`iblearn.estimators.autocheck.Check`.
        features: what ``method="auto"`` measured of the data to choose.
    """

    value: Tensor
    n_samples: int
    estimator: str
    unit: str = "nats"
    bound: Bound = None
    stderr: float | None = None
    stderr_method: str | None = None
    p_value: float | None = None
    n_permutations: int = 0
    limit: float | None = field(default=None)
    reliable: bool = True
    caveat: str | None = None
    split: dict[str, int] | None = None
    interval: tuple[float, float] | None = None
    chosen: str | None = None
    why: str | None = None
    checks: dict[str, Any] | None = None
    features: dict[str, float] | None = None

    def __float__(self) -> float:
        return float(self.value.detach())

    def __str__(self) -> str:
        text = f"{float(self):.4f} {self.unit}"
        if self.stderr is not None:  # sampling error only: not the bias an estimator may have
            text += f" ± {self.stderr:.4f} (standard error)"
        if self.p_value is not None:
            text += f" (p = {self.p_value:.3g})"
        if self.interval is not None:
            text += f", interval [{self.interval[0]:.4f}, {self.interval[1]:.4f}]"
        text = f"{text} [{self.chosen or self.estimator}, N={self.n_samples}]"
        return text if self.reliable else f"{text}, unreliable: {self.caveat}"

    def report(self) -> str:
        """The estimate in full: its line, then what chose the estimator and each self-check's outcome
        (``method="auto"``), one a line."""
        lines = [str(self)]
        if self.why is not None:
            lines.append(f"chosen: {self.why}")
        lines += [f"  {check}" for check in (self.checks or {}).values()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        # The dataclass repr printed the whole tensor and every empty field: a screenful in a notebook.
        spread = "" if self.stderr is None else f" ± {self.stderr:.4f} se"
        if self.interval is not None:
            spread += f" [{self.interval[0]:.4f}, {self.interval[1]:.4f}]"
        flag = "" if self.reliable else ", unreliable"
        value = f"{float(self):.4f} {self.unit}{spread}"
        return f"MIEstimate({value}, {self.chosen or self.estimator}, N={self.n_samples}{flag})"

    def __format__(self, spec: str) -> str:
        return format(float(self), spec) if spec else str(self)

    def __eq__(self, other: object) -> bool:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) == number

    def __hash__(self) -> int:
        return hash(float(self))

    def __lt__(self, other: object) -> bool:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) < number

    def __le__(self, other: object) -> bool:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) <= number

    def __gt__(self, other: object) -> bool:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) > number

    def __ge__(self, other: object) -> bool:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) >= number

    def __add__(self, other: object) -> float:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) + number

    __radd__ = __add__

    def __sub__(self, other: object) -> float:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) - number

    def __rsub__(self, other: object) -> float:
        number = _as_number(other)
        return NotImplemented if number is None else number - float(self)

    def __mul__(self, other: object) -> float:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) * number

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> float:
        number = _as_number(other)
        return NotImplemented if number is None else float(self) / number

    def __rtruediv__(self, other: object) -> float:
        number = _as_number(other)
        return NotImplemented if number is None else number / float(self)

    def __neg__(self) -> float:
        return -float(self)

    def __abs__(self) -> float:
        return abs(float(self))

    def __round__(self, ndigits: int | None = None) -> float:
        return round(float(self), ndigits)


def _as_number(other: object) -> float | None:
    """``other`` as a float when it is a real number or another estimate, else ``None`` (so the
    operator returns ``NotImplemented`` and Python tries the other side)."""
    if isinstance(other, MIEstimate):
        return float(other)
    if isinstance(other, bool) or not isinstance(other, int | float | np.number):
        return None
    return float(other)


def unit_name(base: float) -> str:
    if base == math.e:
        return "nats"
    return "bits" if base == 2 else f"log base {base:g}"


class Estimator(nn.Module):
    """Base class: subclasses set the class attributes and implement :meth:`mi` (nats, 0-d tensor)."""

    name: ClassVar[str] = "estimator"
    differentiable: ClassVar[bool] = False
    trainable: ClassVar[bool] = False
    bound: ClassVar[Bound] = None
    accepts: ClassVar[frozenset[str]] = frozenset({"vector"})
    graph_y: ClassVar[bool] = False
    #: ``"bootstrap"`` (resample with replacement) or ``"half"`` (half-sampling jackknife).
    resampling: ClassVar[Literal["bootstrap", "half"]] = "bootstrap"
    #: The constructor's keyword arguments kept as attributes of the same names, in the order
    #: :meth:`settings` reports them (``base`` comes last, always).
    setting_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, base: float = math.e) -> None:
        super().__init__()
        if not (isinstance(base, int | float) and math.isfinite(base) and base > 0 and base != 1):
            raise ValueError(
                f"base: the logarithm's base must be positive and not 1, and finite; got {base!r}"
            )
        self.base = float(base)

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
            n_resamples: if positive, a standard error from that many resamples (bootstrap, or
                half-sampling jackknife for kNN estimators: Shao & Wu 1989, delete-N/2).
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
        stderr = method = p_value = None
        gen = torch.Generator().manual_seed(seed)
        if n_resamples:
            stderr, method = self._stderr(xt, yt, n_resamples, gen)
            stderr *= scale
        if n_permutations:
            if yt is None:
                raise ValueError(
                    f"n_permutations: {self.name} estimates from x alone; there is no y to permute"
                )
            observed = float(value.detach())
            draws = (torch.randperm(n, generator=gen) for _ in range(n_permutations))
            nulls = permuted_estimates(self._mi_of_permuted_y, (yt, xt), draws, n_jobs)
            hits = sum(v >= observed for v in nulls)
            p_value = (1 + hits) / (1 + n_permutations)
        result = self._estimate_of(value * scale, n, stderr, method, p_value, n_permutations)
        return self._judged(self._limited(result), xt, yt)

    def _mi_of_permuted_y(self, y: Tensor, x: Tensor) -> Tensor:
        return self.mi(x, y)

    def _limited(self, result: MIEstimate) -> MIEstimate:
        """``result`` with the ceiling the estimator cannot exceed by construction (in ``limit``, which
        :meth:`_judged` holds it against), where it has one: none here."""
        return result

    def _judged(self, result: MIEstimate, x: Any, y: Any) -> MIEstimate:
        """``result``, flagged and warned about where it is impossible for the data
        (:func:`iblearn.estimators.reliability.judged`): below 0 beyond its sampling error, or above
        H(X) or H(Y) of a discrete ``x`` or ``y``
        (:func:`iblearn.estimators.reliability.discrete_ceiling`)."""
        entropy, of = reliability.discrete_ceiling(x, y) or (None, "")
        return reliability.judged(
            result, self.name, self.base, entropy=entropy, entropy_of=of, advice=reliability.BIASED
        )

    @staticmethod
    def _checked_counts(n_resamples: Any, n_permutations: Any, seed: Any) -> int:
        """``forward``'s resampling arguments checked, naming the one at fault; the seed."""
        V.resampling_counts(n_resamples, n_permutations)
        return V.seed(seed)

    def _estimate_of(
        self,
        value: Tensor,
        n: int,
        stderr: float | None,
        method: str | None,
        p_value: float | None,
        n_permutations: int,
    ) -> MIEstimate:
        """What ``forward`` returns: ``value`` (in this estimator's base) and what is known of it."""
        return MIEstimate(
            value=value,
            n_samples=n,
            estimator=self.name,
            unit=unit_name(self.base),
            bound=self.bound,
            stderr=stderr,
            stderr_method=method,
            p_value=p_value,
            n_permutations=n_permutations,
        )

    def _stderr(
        self, x: Tensor, y: Tensor | None, n_resamples: int, gen: torch.Generator
    ) -> tuple[float, str]:
        def estimate(idx: Tensor) -> float:
            idx = idx.to(x.device)
            return float(self.mi(x[idx], None if y is None else y[idx]))

        return self._resampled_stderr(int(x.shape[0]), n_resamples, gen, estimate)

    def _resampled_stderr(
        self, n: int, n_resamples: int, gen: torch.Generator, estimate: Callable[[Tensor], float]
    ) -> tuple[float, str]:
        """The standard error of ``estimate`` (a function of the row indices kept) over ``n_resamples``
        resamples of ``n`` rows: bootstrap, or the half-sampling jackknife (``resampling == "half"``)."""
        values = []
        for _ in range(n_resamples):
            if self.resampling == "half":
                idx = torch.randperm(n, generator=gen)[: n // 2]
            else:
                idx = torch.randint(0, n, (n,), generator=gen)
            try:
                values.append(estimate(idx))
            except ValueError as err:  # the whole sample passed its checks; a resample of it did not
                kind = "half-sample" if self.resampling == "half" else "bootstrap resample"
                raise ValueError(f"n_resamples: a {kind} of {len(idx)} of the {n} rows: {err}") from err
        sd = float(torch.tensor(values, dtype=torch.float64).std())
        if self.resampling == "half":
            kept = n // 2
            # Delete-d jackknife variance: (N - d) / d times the spread of the subsample estimates.
            return sd * math.sqrt(kept / (n - kept)), "half-sampling jackknife"
        return sd, "bootstrap"

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.settings().items())

    def settings(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild an equivalent estimator, for records and configs:
        ``type(est)(**est.settings())``. A network handed to the constructor (a user's critic module,
        AA-MINE's sub-network, DGI's encoder) is not a setting and cannot be rebuilt: pass it again.
        Read from the attributes named in :attr:`setting_names`."""
        return {**{name: getattr(self, name) for name in self.setting_names}, "base": self.base}


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
