"""The one result of every measure: :class:`Estimate`, the number and what is known of it, and the
:class:`Report` it carries of how it was made (the resampling and null behind its figures, the fitted
split, and ``method="auto"``'s choice, reasons, features and checks).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from torch import Tensor

Bound = Literal["lower", "upper"] | None

#: Each measure's quantity with its variables named (:attr:`Estimate.names`): the template, and each
#: variable's key in ``names`` with the letter shown where it has no name.
_ROLES = {
    "mi": ("I({}; {})", (("x", "X"), ("y", "Y"))),
    "cmi": ("I({}; {} | {})", (("x", "X"), ("y", "Y"), ("z", "Z"))),
    "transfer_entropy": ("TE({} -> {})", (("source", "X"), ("target", "Y"))),
    "entropy": ("H({})", (("labels", "X"),)),
    "active_information_storage": ("A({})", (("series", "X"),)),
    **{
        part: (f"{part}({{}}, {{}} -> {{}})", (("x1", "X1"), ("x2", "X2"), ("target", "Y")))
        for part in ("redundancy", "unique_1", "unique_2", "synergy", "total")
    },
}
#: The names of a variable's columns shown, the rest counted.
_SHOWN = 3

#: How :meth:`Estimate.describe` names each measure's quantity.
_QUANTITIES = {
    "mi": "I(X;Y)",
    "cmi": "I(X;Y|Z)",
    "transfer_entropy": "TE(X -> Y)",
    "entropy": "H(X)",
    "active_information_storage": "A(X)",
}


@dataclass(frozen=True)
class Report:
    """How an estimate was made: what its figures rest on, and what ``method="auto"`` chose and checked.

    Attributes:
        stderr_method: ``"bootstrap"``, ``"half-sampling jackknife"`` (kNN estimators, which duplicated
            bootstrap rows would corrupt) or ``"blockwise jackknife"`` (series), where there is a
            standard error.
        n_permutations: permutations behind the p-value.
        p_floor: the least p-value those permutations can give, ``1 / (n_permutations + 1)`` (None
            without permutations): a test at a level below it can never reject.
        null: the null hypothesis the permutations draw from.
        limit: a value the estimate can never exceed by construction (log N for InfoNCE).
        split: the rows behind an estimate that fitted a critic first: ``{"train", "validation",
            "test"}`` counts, the estimate on the test rows.
        chosen: the estimator ``method="auto"`` chose, and ``why``: the rule and the data's features
            that chose it.
        checks: ``method="auto"``'s self-checks, name -> check (``iblearn.estimation.autocheck.Check``:
            ``passed``, ``figures``, ``tolerance``).
        features: what ``method="auto"`` measured of the data to choose; of a measure among many
            variables by a named method, the figures of its data that its verdict reads (repeated
            rows, the magnitudes' dependence, tails, the resamples: :mod:`iblearn.estimation.verdict`).
        interval_method: how the interval was made, in words, where its maker says
            (``method="auto"``: two standard errors widened by the bias its checks measure).
        names: the names of the variables' columns where the input had them (a pandas Series' name or
            a DataFrame's columns, a Polars column, a DataArray's channels, an MNE object's channels,
            an AnnData's genes), by variable: ``{"x": ("height",), "y": ("weight",)}``; None where no
            variable had names.
    """

    stderr_method: str | None = None
    n_permutations: int = 0
    null: str | None = None
    limit: float | None = None
    split: dict[str, int] | None = None
    chosen: str | None = None
    why: str | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    interval_method: str | None = None
    names: dict[str, tuple[str, ...]] | None = None

    @property
    def p_floor(self) -> float | None:
        """The least permutation p-value, ``1 / (n_permutations + 1)``; None without permutations."""
        return 1 / (self.n_permutations + 1) if self.n_permutations else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (numbers, strings, lists, dicts) for JSON: each check as its fields."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["p_floor"] = self.p_floor
        out["checks"] = {
            name: dataclasses.asdict(c) if dataclasses.is_dataclass(c) and not isinstance(c, type) else c
            for name, c in self.checks.items()
        }
        out["names"] = None if self.names is None else {k: list(v) for k, v in self.names.items()}
        return out


#: The half-width of an interval, in standard errors, that the standard error alone gives (1.96, or 2
#: in ``method="auto"``'s), with room for a t quantile on many resamples: an interval reaching further
#: says why (:meth:`Estimate.interval_basis`).
_SES_ALONE = 2.1

#: What the report holds that an estimate's constructor also takes as keywords (``stderr_method=``).
_REPORTED = ("stderr_method", "n_permutations", "null", "limit", "split", "interval_method", "names")


@dataclass(frozen=True, eq=False, repr=False, init=False)
class Estimate:
    """An estimate of an information measure and what is known of it: the one result type of every
    measure (MI, conditional MI, transfer entropy, entropy, the measures among many variables and the
    PID's parts), from every estimator object, function and :func:`iblearn.estimation.estimate`.

    It behaves as the number it holds: ``float(est)``, ``f"{est:.3f}"``, ``est > 0.1``,
    ``est - other`` and ``round(est, 2)`` read ``value`` (arithmetic gives a plain ``float``, detached:
    use ``est.value`` for a differentiable tensor). ``==`` and ``hash`` are those of the number too, so
    two estimates with one value are equal whatever else they carry. The repr is one line for
    notebooks; ``str`` adds the standard error and p-value.

    Example:
        >>> import torch
        >>> est = Estimate(torch.tensor(0.4018), n_samples=500, estimator="ksg")
        >>> est
        Estimate(0.4018 nats, ksg, N=500)
        >>> f"{est:.2f}", est > 0.1, round(est - 0.4, 3)
        ('0.40', True, 0.002)

    Attributes:
        value: 0-d tensor in ``unit`` (differentiable when the estimator is).
        n_samples: samples the estimate used.
        estimator: registry name of the estimator, or the method of a function (``"ksg"``,
            ``"gaussian"``, ``"copula"``); also read as ``method``.
        measure: what it estimates: ``"mi"`` (I(X; Y)), ``"cmi"``, ``"transfer_entropy"``,
            ``"entropy"``, a measure among many variables (``"o_information"``, ...) or a part of the
            PID (``"synergy"``, ...).
        unit: ``"nats"``, ``"bits"`` or ``"log base b"``.
        bound: ``"lower"``/``"upper"`` if the estimator bounds the MI, else ``None``.
        stderr: standard error, if resampling was asked for.
        p_value: permutation-test p-value, if asked for (its null and count in ``report``).
        reliable: True where self-checks that can see the failure at hand ran and passed
            (``method="auto"``); False when the estimate cannot be read as one: impossible for its
            data, a failed self-check, rows too few or in time order
            (:mod:`iblearn.estimation.verdict`), ``caveat`` saying why; None where nothing was
            checked (a named method runs no self-checks), printed "not checked".
        caveat: why the estimate is not reliable, else None.
        interval: ``(low, high)`` in ``unit`` at ``confidence``, where resampling was asked for: the
            bias-aware interval of :func:`iblearn.functional.inference.interval` (or, from
            ``method="auto"``, two standard errors and the bias its checks reveal); else None.
        confidence: the interval's nominal coverage (0.95 unless asked otherwise).
        bias: the estimate's bias (estimate minus its limit at infinite N) that the interval assumes,
            read from its trend with N; None where none was measured.
        report: how it was made (:class:`Report`): ``report.chosen``, ``report.why``,
            ``report.checks``; the constructor takes the report's ``stderr_method``,
            ``n_permutations``, ``null``, ``limit`` and ``split`` as keywords too, and the estimate
            reads them as attributes.
    """

    value: Tensor
    n_samples: int
    estimator: str
    measure: str
    unit: str
    bound: Bound
    stderr: float | None
    p_value: float | None
    reliable: bool | None
    caveat: str | None
    interval: tuple[float, float] | None
    confidence: float | None
    bias: float | None
    report: Report

    def __init__(
        self,
        value: Tensor,
        n_samples: int,
        estimator: str,
        measure: str = "mi",
        unit: str = "nats",
        bound: Bound = None,
        stderr: float | None = None,
        p_value: float | None = None,
        reliable: bool | None = None,
        caveat: str | None = None,
        interval: tuple[float, float] | None = None,
        confidence: float | None = None,
        bias: float | None = None,
        report: Report | None = None,
        **reported: Any,
    ) -> None:
        unknown = sorted(set(reported) - set(_REPORTED))
        if unknown:
            raise TypeError(f"Estimate: unexpected keyword {unknown[0]!r}")
        report = Report() if report is None else report
        if reported:
            report = dataclasses.replace(report, **reported)
        given = dict(locals())
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, given[f.name])

    @property
    def stderr_method(self) -> str | None:
        """How the standard error was found (``report.stderr_method``)."""
        return self.report.stderr_method

    @property
    def n_permutations(self) -> int:
        """Permutations behind ``p_value`` (``report.n_permutations``)."""
        return self.report.n_permutations

    @property
    def null(self) -> str | None:
        """The null hypothesis of ``p_value`` (``report.null``)."""
        return self.report.null

    @property
    def limit(self) -> float | None:
        """A value the estimate never exceeds by construction (``report.limit``)."""
        return self.report.limit

    @property
    def names(self) -> dict[str, tuple[str, ...]] | None:
        """The names of each variable's columns where the input had them (``report.names``)."""
        return self.report.names

    def __float__(self) -> float:
        return float(self.value.detach())

    @property
    def method(self) -> str:
        """The estimator's name (the multivariate functions' ``method``)."""
        return self.estimator

    def to_dict(self) -> dict[str, Any]:
        """The estimate as plain data for JSON: every field, the value a float, the report's fields
        under ``"report"``; numbers that are not finite stay floats (a strict JSON writer names them)."""
        out: dict[str, Any] = {"value": float(self), "method": self.method}
        for f in dataclasses.fields(self):
            if f.name not in ("value", "report"):
                out[f.name] = getattr(self, f.name)
        out["interval"] = None if self.interval is None else list(self.interval)
        out["report"] = self.report.to_dict()
        return out

    def __str__(self) -> str:
        text = f"{float(self):.4f} {self.unit}"
        if self.names:
            text = f"{self._quantity()} = {text}"
        elif self.measure != "mi":
            text = f"{self.measure} = {text}"
        if self.stderr is not None:  # sampling error only: not the bias an estimator may have
            text += f" ± {self.stderr:.4f} (standard error)"
        if self.p_value is not None:
            text += f" (p = {self.p_value:.3g})"
        if self.interval is not None:
            level = "" if self.confidence is None else f"{self.confidence:.0%} "
            text += f", {level}interval [{self.interval[0]:.4f}, {self.interval[1]:.4f}]"
            basis = self.interval_basis()
            text += f" ({basis})" if basis else ""
        text = f"{text} [{self.report.chosen or self.estimator}, N={self.n_samples}]"
        if self.reliable is None:
            return f"{text}, not checked"
        return text if self.reliable else f"{text}, unreliable: {self.caveat}"

    def interval_basis(self) -> str | None:
        """How the interval was made, in words, where it reaches further than its standard error alone
        gives (about 2 standard errors a side); None where it does not, or has no standard error.

        Example:
            >>> import torch
            >>> est = Estimate(torch.tensor(0.5), 900, "ksg", stderr=0.01, interval=(0.45, 0.62), bias=-0.02)
            >>> est.interval_basis()
            't interval widened by the bias seen across N'
        """
        if self.interval is None or not self.stderr:
            return None
        if not all(map(math.isfinite, (*self.interval, self.stderr))):
            return None  # a nan or infinite interval has no basis to give
        value = float(self)
        reach = max(self.interval[1] - value, value - self.interval[0])
        if reach <= _SES_ALONE * self.stderr:
            return None
        if self.report.interval_method is not None:
            return self.report.interval_method
        if self.bias is not None:
            return "t interval widened by the bias seen across N"
        return "t interval: few resamples"

    def describe(self) -> str:
        """The estimate in words a newcomer reads without the guide, one fact a line: the value with its
        unit and its interval at its confidence (and where the interval was clipped at 0), whether it is
        reliable and why, where its standard error comes from, the estimator and why it was chosen, and
        each self-check (``method="auto"``) as pass, FAIL or not applicable with its tolerance.

        Example:
            >>> import torch
            >>> est = Estimate(torch.tensor(-0.0234), 500, "ksg", interval=(0.0, 0.0914), confidence=0.95)
            >>> print(est.describe().splitlines()[0].split("] ")[1])
            (clipped at 0: the measure is never negative)
        """
        lines = [self._headline(), self._reliability()]
        if self.stderr is not None:
            how = f", from the {self.report.stderr_method}" if self.report.stderr_method else ""
            lines.append(f"standard error: {self.stderr:.4f} {self.unit}{how}")
            basis = self.interval_basis()
            if basis is not None:
                lines.append(f"interval: wider than 2 standard errors a side: {basis}")
        if self.p_value is not None:
            given = " given Z (X permuted among rows of like Z)" if self.measure == "cmi" else ""
            null = self.report.null or f"X and Y independent{given}"
            b = self.report.n_permutations
            floor = f"; the least {b} permutations can give: 1/{b + 1} = {1 / (b + 1):.3g}" if b else ""
            lines.append(
                f"p-value: {self.p_value:.3g}, from {b} permutations (the chance "
                f"of an estimate this large under {null}{floor})"
            )
        if self.report.chosen is not None:
            lines.append(f"estimator: {self.report.chosen}, chosen because {self.report.why}")
        else:
            lines.append(f"estimator: {self.estimator}, as named")
        if self.report.checks:
            lines.append("checks (each passes when its gap is within its tolerance, in nats):")
            lines += [f"  - {check}" for check in self.report.checks.values()]
        return "\n".join(lines)

    def _headline(self) -> str:
        """``I(X;Y) = 0.4141 nats, 95% interval [0.3765, 0.4518]``, saying where the interval was clipped."""
        text = f"{self._quantity()} = {float(self):.4f} {self.unit}"
        if self.interval is not None:
            low, high = self.interval
            level = "" if self.confidence is None else f"{self.confidence:.0%} "
            text += f", {level}interval [{low:.4f}, {high:.4f}]"
            # A lower end exactly at 0 is the clip of a measure that cannot be negative.
            if low == 0.0 and float(self) != 0.0:
                text += " (clipped at 0: the measure is never negative)"
        return text

    def _quantity(self) -> str:
        """What is estimated, its variables named where the input named them: ``I(height; weight)``,
        else ``I(X;Y)``."""
        if not self.names:
            return _QUANTITIES.get(self.measure, self.measure)
        roles = _ROLES.get(self.measure)
        if roles is None:  # a measure among many variables: its one variable, the data
            return f"{self.measure}({'; '.join(_shown(v) for v in self.names.values())})"
        template, defaults = roles
        return template.format(*(_shown(self.names.get(r)) or d for r, d in defaults))

    def _reliability(self) -> str:
        """``reliable: yes``, ``reliable: no`` or ``reliable: not checked``, with why."""
        if self.reliable is None:
            return 'reliable: not checked — a named method runs no self-checks (method="auto" does)'
        if not self.reliable:
            return f"reliable: no — {self.caveat}"
        ran = sum(getattr(c, "passed", None) is not None for c in self.report.checks.values())
        idle = len(self.report.checks) - ran
        return f"reliable: yes — all {ran} checks that ran passed" + (
            f" ({idle} not applicable to these data)" if idle else ""
        )

    def __repr__(self) -> str:
        # One line: a dataclass repr prints the whole tensor and every empty field.
        spread = "" if self.stderr is None else f" ± {self.stderr:.4f} se"
        if self.interval is not None:
            spread += f" [{self.interval[0]:.4f}, {self.interval[1]:.4f}]"
        flag = "" if self.reliable is not False else ", unreliable"
        value = f"{float(self):.4f} {self.unit}{spread}"
        what = "" if self.measure == "mi" else f"{self.measure}, "
        return f"Estimate({what}{value}, {self.report.chosen or self.estimator}, N={self.n_samples}{flag})"

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


def _shown(names: tuple[str, ...] | None) -> str:
    """A variable's column names, at most :data:`_SHOWN` of them and a count of the rest ("" for none)."""
    if not names:
        return ""
    more = f", +{len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _as_number(other: object) -> float | None:
    """``other`` as a float when it is a real number or another estimate, else ``None`` (so the
    operator returns ``NotImplemented`` and Python tries the other side)."""
    if isinstance(other, Estimate):
        return float(other)
    if isinstance(other, bool) or not isinstance(other, int | float | np.number):
        return None
    return float(other)


def unit_name(base: float) -> str:
    if base == math.e:
        return "nats"
    return "bits" if base == 2 else f"log base {base:g}"
