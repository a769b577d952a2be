"""The settings iblearn's measures share, declared once (internal: not a public API).

Each setting of :data:`SETTINGS` is a name, a constraint and a line of help, as scikit-learn's
``validate_params`` declares a function's parameters: :class:`Interval` for a number in a range,
:class:`Options` for one of a few values, or a check of ``_checks`` (``check(value, name)``, which
raises a ValueError naming the argument). The functions keep their settings as explicit keywords (what
``help()``, IDEs and mypy read); the front door (:func:`iblearn.estimate`), the estimators' setting
checks and the command's options (``iblearn estimate --k``) all read the constraint here, so a setting's
range and its message are written once::

    from iblearn._settings import SETTINGS, check_settings

    check_settings({"k": 0})   # ValueError: k: expected a positive integer, got 0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "LEVEL",
    "SETTINGS",
    "Interval",
    "Options",
    "Setting",
    "check_settings",
    "resampling_counts",
    "setting",
]


@dataclass(frozen=True)
class Interval:
    """A number of type ``kind`` (``int``: Python's or numpy's integers, not a bool; ``float``: any real
    number) from ``low`` to ``high`` (None: unbounded; ``closed`` says which ends belong). An integer is a
    count: ``low`` None is 0, and ``high`` is its ceiling (``why`` says why); a number's message says
    ``what`` it is."""

    kind: type[int] | type[float]
    low: float | None
    high: float | None = None
    closed: Literal["both", "neither"] = "both"
    why: str = ""
    what: str = ""

    def __call__(self, value: Any, name: str) -> Any:
        if self.kind is int:
            return self._integer(value, name)
        from iblearn._checks import real_number

        number = real_number(value, name)
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        inside = low <= number <= high if self.closed == "both" else low < number < high
        if not (math.isfinite(number) and inside):
            raise ValueError(f"{name}: {self.what or 'the number'} must lie {self._range()}, got {value!r}")
        return value

    def _integer(self, value: Any, name: str) -> Any:
        low = 0 if self.low is None else self.low
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            what = {1.0: "a positive integer", 0.0: "a non-negative integer"}.get(
                low, f"an integer of at least {low:g}"
            )
            raise ValueError(f"{name}: expected {what}, got {value!r}")
        if self.high is not None and value > self.high:
            raise ValueError(f"{name}: at most {int(self.high):,}{self.why}, got {int(value):,}")
        return int(value)

    def _range(self) -> str:
        if self.closed == "neither" and self.low is not None and self.high is not None:
            return f"strictly between {self.low:g} and {self.high:g}"
        return f"in [{self.low}, {self.high}]"


@dataclass(frozen=True)
class Options:
    """One of ``values`` (compared with ``==``)."""

    values: tuple[Any, ...]

    def __call__(self, value: Any, name: str) -> Any:
        from iblearn._checks import choice

        return choice(value, name, self.values)


#: A constraint: a callable ``check(value, name)`` giving the value or raising a ValueError naming it.
Constraint = Callable[[Any, str], Any]

#: The most resamples for a standard error, and permutations for a p-value, that one call runs: each is a
#: whole estimate, and a p-value of 1e-6 or a standard error from 10^5 resamples is as fine as either
#: gets; a count beyond them is a typo that would run for days.
MAX_RESAMPLES = 100_000
MAX_PERMUTATIONS = 1_000_000


def _checked_by(name: str) -> Constraint:
    """The check ``name`` of :mod:`iblearn._checks`, imported when it first runs: the command reads
    this table to build its options, and its help must not wait for torch's import."""

    def check(value: Any, argument: str) -> Any:
        from iblearn import _checks

        return getattr(_checks, name)(value, argument)

    return check


def _resamples(value: Any, name: str) -> Any:
    """A resample count: none (0), or at least 2 (one resample has no spread), at most MAX_RESAMPLES."""
    Interval(int, 0, MAX_RESAMPLES, why=" (one estimate each)")(value, name)
    if value == 1:
        raise ValueError(f"{name}: a standard error needs at least 2 resamples")
    return value


@dataclass(frozen=True)
class Setting:
    """A shared setting: its ``constraint``, whether None (off) passes, the type the command reads its
    text as, and the help it shows."""

    constraint: Constraint
    help: str
    type: Callable[[str], Any] = int
    none: bool = False

    def check(self, value: Any, name: str) -> Any:
        """``value`` if the constraint holds (None too where the setting may be off), else a ValueError
        naming ``name``."""
        return value if value is None and self.none else self.constraint(value, name)


#: A significance level or a false discovery rate, strictly between 0 and 1 (``infer_network``'s
#: ``alpha``, ``pairwise_mi``'s ``fdr``). Not an entry of :data:`SETTINGS`: ``alpha`` is also the order
#: of the matrix-based Renyi MI (any positive number), which a named method takes through the front door.
LEVEL = Interval(float, 0, 1, closed="neither", what="the level")

#: Every setting that more than one measure, estimator or command option takes, by keyword name.
SETTINGS: dict[str, Setting] = {
    "k": Setting(Interval(int, 1), "neighbours, for ksg and mixed_ksg"),
    "seed": Setting(_checked_by("seed"), "seeds the estimator, resampling and permutations (default 0)"),
    "n_resamples": Setting(_resamples, "resamples for a standard error"),
    "n_permutations": Setting(
        Interval(int, 0, MAX_PERMUTATIONS, why=" (one estimate each)"),
        "permutations for an independence p-value",
    ),
    "lag": Setting(Interval(int, 1), "--measure te: the source's lag (default 1)"),
    "history": Setting(
        Interval(int, 1), "--measure te: past target steps conditioned on; ais: past steps of X (default 1)"
    ),
    "base": Setting(_checked_by("log_base"), "logarithm base: 2 for bits (default: nats)", float),
    "neural_steps": Setting(Interval(int, 0), "auto: at most this many steps of a MINE critic (default 0)"),
    "steps": Setting(Interval(int, 1), "neural estimators: critic training steps"),
    "batch_size": Setting(Interval(int, 1), "neural estimators: rows per step"),
    "test": Setting(
        Interval(float, 0, 1, closed="neither", what="the share of rows held out"),
        "neural estimators: share of the rows held out for the estimate (default 0.2)",
        float,
    ),
    "alphabet": Setting(Interval(int, 1), "entropy: the number of possible labels, where known", none=True),
}


def setting(name: str, value: Any) -> Any:
    """``value`` of the shared setting ``name`` checked by its constraint (:data:`SETTINGS`), as the
    constraint gives it (an integer setting as a Python ``int``)."""
    return SETTINGS[name].check(value, name)


def check_settings(given: Mapping[str, Any]) -> None:
    """Each of ``given``'s settings that :data:`SETTINGS` declares checked by its constraint, in the
    order given: a ValueError naming the first one out of range. Names it does not declare are left to
    the function that takes them."""
    for name, value in given.items():
        if name in SETTINGS:
            SETTINGS[name].check(value, name)


def resampling_counts(n_resamples: Any, n_permutations: Any) -> None:
    """``n_resamples`` and ``n_permutations`` checked (:data:`SETTINGS`): non-negative integers within
    their bounds, and not one resample (no spread)."""
    check_settings({"n_resamples": n_resamples, "n_permutations": n_permutations})
