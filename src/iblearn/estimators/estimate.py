"""What an estimate is: :class:`MIEstimate`, the number and what the estimator knows about it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from torch import Tensor

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
        >>> import torch
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
