"""The dispatcher: :data:`MEASURES`, a table of each measure's variables, its automatic rule and its
named methods, and :func:`estimate`, which checks a call against the table and hands it over.

A measure is one entry: the names of its variables, the function of ``method="auto"`` and the function
that runs a named method (it takes ``method=`` and raises naming it where it does not know it), and the
options each takes, declared: the keywords of the function's signature (a test holds the two together),
or None where a named method passes any on to the estimator it builds, which refuses what it does not
take. The values of the settings many measures share are checked against one table
(:data:`iblearn._settings.SETTINGS`) before the measure runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from iblearn import _checks as V
from iblearn._settings import check_settings
from iblearn.estimation import labels, many, pairs, series, storage
from iblearn.estimation.reading import not_transposed, read_samples, read_series_trials, same_row_order
from iblearn.functional import Estimate

__all__ = ["MEASURES", "Measure", "estimate", "estimate_mi", "with_names"]


@dataclass(frozen=True)
class Measure:
    """One measure of the front door: its variables' names, its automatic rule (``auto``) and the
    function of its named methods (``named``, called with ``method=``), and the options each takes
    (``named_options`` None: any, for the estimator the method builds to refuse)."""

    variables: tuple[str, ...]
    auto: Callable[..., Any]
    named: Callable[..., Any]
    auto_options: tuple[str, ...]
    named_options: tuple[str, ...] | None = None


_MANY = (
    "total_correlation",
    "dual_total_correlation",
    "o_information",
    "s_information",
    "interaction_information",
)

#: The options of a named method among many variables, and of the PID's (with ``redundancy``).
_NAMED_MANY: tuple[str, ...] = ("blocks", "k", "seed", "standardize", "ties", "backend", "bias_correction")
_NAMED_MANY += ("n_resamples", "n_permutations", "n_jobs")

#: Every measure :func:`estimate` takes.
MEASURES: dict[str, Measure] = {
    "mi": Measure(("x", "y"), pairs.mi_auto, pairs.mi_method, ("k", "neural_steps", "seed")),
    "cmi": Measure(("x", "y", "z"), pairs.cmi_auto, pairs.cmi_method, ("k", "seed")),
    "te": Measure(
        ("source", "target"),
        series.te_auto,
        series.te_method,
        ("condition", "lag", "history", "k", "n_permutations", "null", "seed"),
    ),
    "ais": Measure(
        ("series",),
        storage.ais_auto,
        storage.ais_method,
        ("history", "k", "n_permutations", "null", "seed"),
        ("history", "k", "n_resamples", "n_permutations", "null", "seed"),
    ),
    "entropy": Measure(
        ("labels",),
        labels.entropy_auto,
        labels.entropy_method,
        ("alphabet", "seed"),
        ("alphabet", "confidence", "n_resamples", "seed"),
    ),
    **{
        name: Measure(
            ("data",),
            partial(many.multivariate_auto, name),
            partial(many.multivariate_method, name),
            ("blocks", "k", "seed"),
            _NAMED_MANY,
        )
        for name in _MANY
    },
    "pid": Measure(
        ("x1", "x2", "target"),
        many.pid_auto,
        many.pid_method,
        ("redundancy", "k", "seed"),
        ("redundancy", *_NAMED_MANY[1:]),
    ),
}


#: The measures' names written out, for the refusal of one to say which name the door reads.
_SPELLED_OUT = {
    "mutual_information": "mi",
    "conditional_mutual_information": "cmi",
    "conditional_mi": "cmi",
    "transfer_entropy": "te",
    "active_information_storage": "ais",
    "partial_information_decomposition": "pid",
    "shannon_entropy": "entropy",
}

#: The measures of shared information, where a constant variable has none and is refused.
_DEPENDENCE = frozenset({"mi", "cmi", "te", "ais", "pid", *_MANY})


def _options(
    known: tuple[str, ...] | None, measure: str, method: str, given: dict[str, Any], named: bool = False
) -> None:
    """Refuse an option not among ``known`` (None: any), naming it and the options that are, and
    where ``named`` (a named method takes it), saying so; then check the values of the shared
    settings among ``given`` (:func:`iblearn._settings.check_settings`)."""
    for name in given:
        if known is not None and name not in known:
            hint = f". A permutation p-value comes from a named method: method='ksg', {name}=99"
            raise ValueError(
                f"{name}: not an option of estimate({measure!r}, method={method!r}); it takes "
                f"{', '.join(sorted(known)) or 'none'}{hint if named else ''}"
            )
    check_settings(given)


def _readable(measure: str, names: tuple[str, ...], variables: tuple[Any, ...]) -> tuple[Any, ...]:
    """The variables as every measure's reader needs them (:func:`iblearn._checks.readable_rows`:
    complex, 0-d and empty refused, tensors detached; a table that looks transposed refused,
    :func:`~iblearn.estimation.reading.not_transposed`), and none constant where the measure is one of
    dependence (:data:`_DEPENDENCE`; an entropy of one value is 0, and is estimated)."""
    out = tuple(V.readable_rows(v, name) for v, name in zip(variables, names, strict=True))
    not_transposed(dict(zip(names, out, strict=True)), trials=measure in ("te", "ais"))
    if measure in _DEPENDENCE:
        for v, name in zip(out, names, strict=True):
            V.not_constant(v, name, columns=measure in _MANY)
    return out


def estimate(measure: str, *variables: Any, method: str = "auto", **options: Any) -> Any:
    """One estimate of ``measure`` from ``variables``: by default an estimator chosen from the data,
    checked without the truth, with an interval (``method="auto"``); or a named method.

    ``est.report`` carries what auto chose and why (``report.chosen``, ``report.why``), the data's
    features, and each check (``report.checks``: shuffled null, invariance, additivity, half data,
    ceiling; for series a shifted source); a failed check makes the estimate unreliable with the check
    in its ``caveat``.

    Args:
        measure: ``"mi"`` (x, y), ``"cmi"`` (x, y, z), ``"te"`` (source, target; ``lag``,
            ``history``, ``condition``), ``"ais"`` (series; ``history``: active information storage),
            ``"entropy"`` (labels), ``"total_correlation"``,
            ``"dual_total_correlation"``, ``"o_information"``, ``"s_information"``,
            ``"interaction_information"`` (data; ``blocks``) or ``"pid"`` (x1, x2, target;
            ``redundancy``: ``"mmi"``, ``"broja"``, ``"ccs"``, ``"dep"``, ``"sx"``, and for labels
            ``"min"``).
        *variables: the measure's variables, samples as rows: numbers, or class labels as integers or
            names (text, a pandas ``Categorical``; :func:`~iblearn.estimation.reading.read_variable`);
            arrays, tensors, pandas or Polars frames and series, an xarray ``DataArray``, an MNE
            ``Raw`` or ``Epochs`` (one row a time point, one column a channel) or an ``AnnData`` (one
            row a cell, one column a gene); an array of more than two axes (images, say) is
            one row a sample along its first, its other axes flattened into columns, as
            ``x.reshape(len(x), -1)`` reads. The series of ``"te"`` and ``"ais"`` (and ``condition``)
            may be trials: a ``DataArray`` with a trial and a time dimension of one channel, an
            ``Epochs`` of one channel, a ``Raw`` of one channel cut by spans annotated bad (one trial
            a stretch), or a list of 1-D arrays, one a trial; each trial is embedded alone and the
            rows pooled
            (:func:`~iblearn.estimation.reading.read_series_trials`).
        method: ``"auto"``, or a named method of the measure (a registry name for MI; ``"ksg"``,
            ``"gaussian"``, ``"copula"`` for the measures among many variables; a discrete estimator
            for the entropy).
        **options: the measure's options (``k``, ``seed``, ``lag``, ``blocks``, ...).

    Returns:
        An :class:`~iblearn.functional.Estimate`, its ``names`` the names of the variables' columns
        where the input holds them (a pandas or Polars column, a DataArray's channels, ...); for
        ``"pid"``, a dict of them, one a part.

    Raises:
        ValueError: naming ``measure``, a missing or extra variable, or an option the method does not
            take, with the choices.

    Example:
        >>> from iblearn.data import dense_gaussian
        >>> x, y = dense_gaussian(3).sample(2000, seed=0)
        >>> est = estimate("mi", x, y)
        >>> est.report.chosen, est.reliable
        ('gaussian', True)
    """
    spelled = measure.lower().replace("-", "_") if isinstance(measure, str) else measure
    measure = spelled if spelled in MEASURES else measure  # "MI", "O-information": as methods are read
    if measure not in MEASURES:
        close = [_SPELLED_OUT[spelled]] if spelled in _SPELLED_OUT else []
        close = close or difflib.get_close_matches(str(spelled), list(MEASURES), n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise ValueError(f"measure: unknown {measure!r}; {hint}one of {', '.join(MEASURES)}")
    spec = MEASURES[measure]
    if isinstance(method, str):  # "AUTO", "KSG", "Miller-Madow": every measure's methods as MI's are read
        method = method.lower().replace("-", "_")
    if len(variables) != len(spec.variables):
        raise ValueError(
            f"variables: {measure!r} takes {len(spec.variables)} ({', '.join(spec.variables)}), "
            f"got {len(variables)}"
        )
    same_row_order(variables, spec.variables)
    if measure in ("te", "ais"):
        series = dict(zip(spec.variables, variables, strict=True))
        series |= {"condition": options["condition"]} if options.get("condition") is not None else {}
        trials = read_series_trials(series)
        if trials is not None:
            variables, options = _checked_trials(spec, options, trials[0])
            return _run(measure, spec, method, options, variables, trials[1])
    # Names (text, categories) become class labels here, once for every measure and method; the
    # columns' names the input holds go with the result.
    read = [read_samples(V.given(v, n), n) for v, n in zip(variables, spec.variables, strict=True)]
    names = {n: tuple(found) for n, (_, found) in zip(spec.variables, read, strict=True) if found is not None}
    variables = _readable(measure, spec.variables, tuple(values for values, _ in read))
    if options.get("blocks") is not None and "data" in names:
        options = options | {"blocks": _named_blocks(options["blocks"], names["data"])}
    return _run(measure, spec, method, options, variables, names)


def _named_blocks(blocks: Any, columns: tuple[str, ...]) -> Any:
    """``blocks`` whose columns may be named by the data's own column names, as indices; anything else
    as it is, for the measure's own check of blocks to read."""
    if not isinstance(blocks, list | tuple) or not all(isinstance(b, list | tuple) for b in blocks):
        return blocks
    at = {name: i for i, name in enumerate(columns)}
    for column in (c for b in blocks for c in b if isinstance(c, str)):
        if column not in at:
            raise ValueError(f"blocks: no column {column!r}; the columns are {', '.join(columns)}")
    return [[at[c] if isinstance(c, str) else c for c in b] for b in blocks]


def _checked_trials(
    spec: Measure, options: dict[str, Any], series: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The variables and options of a transfer entropy or an information storage whose series are
    trials (:func:`~iblearn.estimation.reading.read_series_trials`): each trial checked as a series is,
    and none of the series constant over all its trials."""
    for name, value in series.items():
        many = isinstance(value, list)
        pieces = [
            V.readable_rows(p, f"{name}[{r}]" if many else name)
            for r, p in enumerate(value if many else [value])
        ]
        columns = [V.as_tensor(p, name).double().reshape(len(p), -1).numpy() for p in pieces]
        for r, c in enumerate(columns):
            if c.shape[1] != columns[0].shape[1]:
                raise ValueError(
                    f"{name}[{r}]: has {c.shape[1]} column(s), but {name}[0] has {columns[0].shape[1]}; "
                    "every trial of a series has the same columns"
                )
        V.not_constant(np.concatenate(columns), name)
        series[name] = pieces if many else pieces[0]
    options = options | ({"condition": series["condition"]} if "condition" in series else {})
    return tuple(series[name] for name in spec.variables), options


def _run(
    measure: str,
    spec: Measure,
    method: str,
    options: dict[str, Any],
    variables: Any,
    names: dict[str, tuple[str, ...]],
) -> Any:
    """``measure`` of the read ``variables`` by ``method`` (auto, or a named one), its options checked,
    the variables' names carried."""
    if method == "auto":
        # A p-value asked of auto, whose named methods (KSG among them) run a permutation test.
        named = spec.named_options is None or "n_permutations" in spec.named_options
        _options(spec.auto_options, measure, method, options, named and "n_permutations" in options)
        return with_names(spec.auto(*variables, **options), names)
    if not isinstance(method, str):
        raise ValueError(f"method: expected 'auto' or a method's name, got {method!r}")
    _options(spec.named_options, measure, method, options)
    return with_names(spec.named(*variables, method=method, **options), names)


def with_names(result: Any, names: dict[str, tuple[str, ...]]) -> Any:
    """``result`` (an estimate, or a dict of them) carrying ``names``, each variable's column names keyed
    by its name in :data:`MEASURES`, in its report, where any."""
    if not names:
        return result
    if isinstance(result, dict):
        return {part: with_names(est, names) for part, est in result.items()}
    return replace(result, report=replace(result.report, names=names))


def estimate_mi(x: Any, y: Any, method: str = "auto", *, z: Any = None, **options: Any) -> Estimate:
    """I(X; Y), or I(X; Y | Z) with ``z``, in one call: :func:`estimate` of ``"mi"`` or ``"cmi"``.

    By default an estimator chosen from the data and checked by it (``method="auto"``): the estimate
    comes with an ``interval``, and ``report`` holds the estimator ``chosen`` and ``why``, and its
    ``checks``; it takes ``k``, ``neural_steps`` (MI) and ``seed``. A named estimator is fitted on a
    split of the rows where it trains a critic (``"mine"``, ``"infonce"``, ...: ``test``, ``steps``,
    ``batch_size``, ``n_resamples``, ``standardize`` and the estimator's own settings, as
    :func:`iblearn.estimation.split.split_estimate`), and estimates on the held-out rows, its
    ``report.split`` counting them; a named estimator given ``z`` is a conditional one (``"ksg"``,
    ``"gaussian"``).

    Example:
        >>> from iblearn.data import bivariate_normal
        >>> x, y = bivariate_normal().sample(2000, seed=0)
        >>> result = estimate_mi(x, y, "mine", steps=300, hidden=(32,), lr=2e-3)
        >>> result.estimator, result.report.split
        ('mine', {'train': 1280, 'validation': 320, 'test': 400})
    """
    if z is None:
        return estimate("mi", x, y, method=method, **options)  # type: ignore[no-any-return]
    return estimate("cmi", x, y, z, method=method, **options)  # type: ignore[no-any-return]
