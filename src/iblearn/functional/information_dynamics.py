"""The information dynamics of recorded processes with what is known of each estimate: active
information storage and (conditional) transfer entropy, as :class:`~iblearn.functional.Estimate`
results with blockwise-jackknife intervals and p-values against surrogates of the past: its trials
permuted against the present, or the past shifted in time within each trial (continued past the ends
by its mirror image).

Both are conditional mutual informations on the samples that :func:`iblearn.network.infer_network`
searches, estimated by its estimators (:mod:`iblearn.functional.cmi_surrogates`).

References:
    J. T. Lizier, M. Prokopenko, A. Y. Zomaya. Local measures of information storage in complex
    distributed computation. Information Sciences 208, 39-54 (2012): active information storage.
    T. Schreiber. Measuring information transfer. Phys. Rev. Lett. 85, 461 (2000); J. T. Lizier, M.
    Prokopenko, A. Y. Zomaya. Phys. Rev. E 77, 026110 (2008): transfer entropy, and conditioned on a
    third process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from numbers import Integral
from typing import Any, Literal, overload

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import check_settings, setting
from iblearn.functional import inference
from iblearn.functional.cmi_surrogates import (
    KSG_K,
    KSGCMI,
    Condition,
    Engine,
    GaussianCMI,
    condition,
    surrogate_kind,
    surrogates,
)
from iblearn.functional.inference import Estimate
from iblearn.functional.knn import ksg_cmi, ksg_mi
from iblearn.functional.serial import MIN_TRIALS, long_run_stderr, series_blocks, trial_blocks

DYNAMICS_METHODS = ("ksg", "gaussian", "copula")
#: The nulls of a p-value, as the estimate's ``null`` says which ran: the past variables of whole trials
#: permuted against the present (trial r's present with trial q's past), or shifted in time within each
#: trial; ``null="auto"`` takes one of them by :func:`null_kind`.
NULLS = {
    "trials": "no dependence: the past variables of whole trials permuted against the present",
    "shift": "no dependence: the past variables shifted in time against the present, within each trial",
}


def null_kind(null: str, segments: Sequence[int], n_permutations: int) -> str:
    """The null of a p-value over trials of ``segments`` embedded rows each (:data:`NULLS`): ``null``
    as asked, or for ``"auto"`` ``"trials"`` where there are at least
    :data:`~iblearn.functional.serial.MIN_TRIALS` trials of one length, enough for ``n_permutations``
    distinct orders (:func:`~iblearn.functional.cmi_surrogates.surrogate_kind`), else ``"shift"``.

    Trials permuted are the null over trials of TRENTOOL and IDTxl (``permute_in_time=False``):
    replications of one process are exchangeable, so the past of another trial keeps every law but
    its alignment with the present, whatever the memory within a trial. A shift within a trial needs
    no two trials of one length, but a trial that holds few spans of its memory gives few distinct
    shifted copies (:class:`~iblearn.functional.cmi_surrogates.Surrogates`).

    Raises:
        ValueError: naming ``null`` where it is none of ``"auto"``, ``"trials"``, ``"shift"``, or
            ``"trials"`` is asked of one series, of trials of unequal lengths, or of too few trials for
            ``n_permutations`` distinct orders, or a null other than ``"auto"`` without
            ``n_permutations``.
    """
    V.null_asked(V.choice(null, "null", ("auto", *NULLS)), n_permutations, "auto")
    permutable = surrogate_kind(segments, n_permutations) == "trials"
    if null == "auto":
        return "trials" if permutable and len(segments) >= MIN_TRIALS else "shift"
    if null == "trials" and not permutable:
        r = len(segments)
        why = (
            "one series is one trial"
            if r == 1
            else "the trials are not of one length"
            if len(set(segments)) > 1
            else f"{r} trials have {math.factorial(r)} orders, fewer than n_permutations={n_permutations}"
        )
        raise ValueError(
            f"null: 'trials' pairs the present of one trial with the past of another, which needs trials "
            f"of one length and n_permutations distinct orders of them; {why}; use null='shift'"
        )
    return null


def permutation_fields(
    eng: Engine, cond: Condition, c: np.ndarray, value: float, plan: tuple[tuple[int, ...], int, str, int]
) -> dict[str, Any]:
    """The p-value of ``value``, ``I(c; y | z)`` by ``eng`` on ``cond``, against ``n_permutations``
    surrogates of ``c`` of ``kind`` (:data:`NULLS`) over trials of ``segments`` rows, drawn from
    ``seed`` (``plan``: ``(segments, n_permutations, kind, seed)``), with the count and the null.

    Raises:
        ValueError: ``kind`` is none of :data:`NULLS` (naming ``null``), ``segments`` do not add up to
            the rows of ``c``, or ``n_permutations`` is below 1.
    """
    segments, n_permutations, kind, seed = plan
    V.choice(kind, "null", tuple(NULLS))
    if sum(segments) != len(c):
        raise ValueError(f"segments: {sum(segments)} rows in all, but c has {len(c)}")
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, Integral) or n_permutations < 1:
        raise ValueError(f"n_permutations: expected a positive integer, got {n_permutations!r}")
    nulls = eng.surrogates(cond, c, surrogates(segments, n_permutations, kind, (seed, inference.PERMUTATION)))
    return dict(
        p_value=inference.p_value(value, list(nulls)), n_permutations=n_permutations, null=NULLS[kind]
    )


def trials_of(value: Any, name: str) -> list[Any] | None:
    """The trials of ``value`` where it is a list or tuple of arrays or tensors, one a trial (each
    ``(T_r,)`` or ``(T_r, d)``), else None: one series. A list that holds such arrays beside
    something else is refused, naming the first item that is not a trial."""
    if not isinstance(value, list | tuple) or not value:
        return None
    is_trial = [isinstance(v, np.ndarray | Tensor) and v.ndim >= 1 for v in value]
    if all(is_trial):
        return list(value)
    if any(is_trial):
        r = is_trial.index(False)
        raise ValueError(
            f"{name}[{r}]: a list of trials holds one array or tensor (T_r,) a trial, but this item is "
            f"{type(value[r]).__name__} {value[r]!r:.40}"
        )
    return None


def series_trials(value: Any, name: str) -> list[np.ndarray]:
    """``value``'s trials (:func:`trials_of`; one series is one trial), each ``(T_r,)`` float64."""
    pieces = trials_of(value, name)
    labelled = [(value, name)] if pieces is None else [(p, f"{name}[{r}]") for r, p in enumerate(pieces)]
    out = []
    for piece, label in labelled:
        t = V.series(piece, label).detach().cpu().double().numpy()
        if t.shape[1] != 1:
            raise ValueError(f"{label}: expected one series (T,) or (T, 1), got shape {t.shape}")
        out.append(t[:, 0])
    return out


def matched_trials(name: str, trials: Sequence[Any], like: Sequence[Any], other: str) -> None:
    """Refuse ``trials`` (of ``name``) whose count or lengths differ from those of ``like`` (``other``)."""
    if len(trials) != len(like):
        raise ValueError(f"{name}: {len(trials)} trial(s), but {other} has {len(like)}")
    for r, (a, b) in enumerate(zip(trials, like, strict=True)):
        if len(a) != len(b):
            raise ValueError(f"{name}: trial {r} has {len(a)} steps, but {other}'s has {len(b)}")


def _segments(lengths: list[int], start: int, k: int, leaves: str, less: str) -> tuple[int, ...]:
    """The embedded rows of each trial of ``lengths`` steps whose first ``start`` steps are the past,
    refusing a trial too short to embed (``leaves``: the setting's name and what it leaves) and ``k``
    neighbours among too few rows (``less``: what the steps are less of)."""
    shortest, what = min(lengths), "series" if len(lengths) == 1 else "trial"
    if shortest <= start + 10:
        raise ValueError(f"{leaves} too few samples of a {shortest}-step {what}")
    segments = tuple(m - start for m in lengths)
    rows = (
        f" (the {lengths[0]} steps less {less})"
        if len(lengths) == 1
        else f" (the embedded rows of {len(lengths)} trials)"
    )
    V.neighbours(k, sum(segments), rows=rows)
    return segments


def _split(pooled: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
    return list(np.split(pooled, np.cumsum(lengths)[:-1]))


def _scored(columns: list[np.ndarray], method: str) -> list[np.ndarray]:
    """Standardized series, or their normal scores for ``"copula"`` (of trials, of their pooled values)."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    if method == "copula":
        return [ndtri(rankdata(c) / (len(c) + 1)) for c in columns]
    return [_standardized(c) for c in columns]


def _standardized(c: np.ndarray) -> np.ndarray:
    # First in units of an exact power of two: the squares of the standard deviation vanish below
    # about 1e-154 and overflow above 1e154.
    top = float(np.abs(c).max(initial=0.0))
    c = np.ldexp(c, 1 - np.frexp(top)[1]) if top > 0 else c
    return (c - c.mean()) / (c.std() or 1.0)


def _lagged(x: np.ndarray, lags: range, start: int) -> np.ndarray:
    return np.stack([x[start - lag : len(x) - lag] for lag in lags], axis=1)


#: How a closed form's blockwise standard error is held, in words.
LONG_RUN = (
    "at least the long-run standard deviation of its per-row terms over sqrt(N), the autocovariances "
    "within a block weighted by Bartlett's kernel (Newey & West 1987)"
)


def blockwise_fields(
    estimate: Callable[[Any], float],
    value: float,
    series: Sequence[Any],
    segments: Sequence[int],
    n_resamples: int,
    seed: int,
    terms: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The blockwise jackknife of ``value``, the estimate on all ``sum(segments)`` rows of the lagged
    ``series``, from ``n_resamples`` halves of the blocks (``estimate(rows)`` on each), the blocks as
    long as the series' autocorrelation asks (:func:`~iblearn.functional.serial.series_blocks`) and,
    of trials (``segments``: the rows of each), never straddling two
    (:func:`~iblearn.functional.serial.trial_blocks`): an estimate's fields (``stderr``,
    ``stderr_method``, ``interval``, ``bias``, ``confidence``), and the figures of a mixing too slow
    for enough blocks (:func:`~iblearn.functional.serial.slow_figures`; ``{}`` where there are
    enough). Where the estimate's per-row terms are given (``terms``: its influence, as a closed
    form's local values are), the standard error is at least their long-run spread
    (:func:`~iblearn.functional.serial.long_run_stderr`, the block as its bandwidth): a few dozen
    halves of the blocks read it low on some draws, a figure the terms give to first order barely
    moves."""
    n = int(sum(segments))
    block, slow = series_blocks(series, n)
    units = trial_blocks(segments, block)
    res = inference.resampled(estimate, n, n_resamples, "block", seed, block, units)
    stderr, how = res.stderr, res.method
    if terms is not None:
        floor = long_run_stderr(terms, block, segments if len(segments) > 1 else None)
        stderr, how = max(stderr, floor), f"{how}; {LONG_RUN}"
    # A blockwise spread rests on the blocks: with fewer blocks than resamples, theirs are its degrees
    # of freedom.
    count = -(-n // block) if units is None else len(units)
    span, bias = inference.interval(
        value, stderr, half=res.half, n_resamples=min(res.n_resamples, count), floor=0.0
    )
    fields = dict(stderr=stderr, stderr_method=how, interval=span, bias=bias, confidence=inference.CONFIDENCE)
    return fields, slow


def _estimate(
    measure: str,
    y: np.ndarray,
    c: np.ndarray,
    z: np.ndarray,
    method: str,
    k: int,
    raw: list[np.ndarray],
    n_resamples: int,
    n_permutations: int,
    seed: int,
    segments: tuple[int, ...],
    null: str,
) -> Estimate:
    """``I(c; y | z)`` as an :class:`Estimate`: with ``n_resamples`` a blockwise-jackknife standard
    error and interval (blocks as long as the series' autocorrelation asks; in ``report.features`` the
    figures of a mixing too slow for enough blocks, :func:`~iblearn.functional.serial.slow_figures`),
    with ``n_permutations`` a p-value against surrogates of ``c`` of the kind ``null``
    (:func:`null_kind`): its trials permuted, or ``c`` shifted within each trial by at least a tenth
    of it, continued past its ends by its mirror image. Rows pooled from trials (``segments``: the
    rows of each, in order) are resampled in blocks within trials, or by whole trials
    (:func:`~iblearn.functional.serial.trial_blocks`)."""
    eng = KSGCMI(k) if method == "ksg" else GaussianCMI()

    def value(rows: np.ndarray | None) -> float:
        if rows is None:
            return eng.value(condition(y, z), c)
        return eng.value(condition(y[rows], z[rows]), c[rows])

    v, n = value(None), len(y)
    fields: dict[str, Any] = {}
    slow: dict[str, float] = {}
    if n_resamples:
        # The closed forms' local values are their influence (their mean is the estimate).
        terms = None if method == "ksg" else _local(y, c, z, method, k).numpy()
        raw_series = [torch.from_numpy(r) for r in raw]
        fields, slow = blockwise_fields(value, v, raw_series, segments, n_resamples, seed, terms)
    if n_permutations:
        fields |= permutation_fields(eng, condition(y, z), c, v, (segments, n_permutations, null, seed))
    est = Estimate(torch.tensor(v, dtype=torch.float64), n, method, measure=measure, **fields)
    return replace(est, report=replace(est.report, features=slow)) if slow else est


def _local(y: np.ndarray, c: np.ndarray, z: np.ndarray, method: str, k: int) -> Tensor:
    """The local values ``(n,)`` of ``I(c; y | z)`` whose mean is :func:`_estimate`'s value, computed on
    the same residuals (y and c less their least-squares fits on ``[1, z]``).

    kNN: the pointwise Frenzel-Pompe (or, without z, KSG) terms. Gaussian and copula: the log-density
    ratio ``log p(y | c, z) / p(y | z)`` of the fitted linear-Gaussian model,

        ``-1/2 log(s_e^2 / s_y^2) - e_t^2 / (2 s_e^2) + r_t^2 / (2 s_y^2)``,

    r the residual of y on z, e that of r on c's residual, s^2 their mean squares; the last two terms
    average to 1/2 each, so the mean is ``-1/2 log(1 - R^2)``, the estimate.
    """
    cond = condition(y, z)
    rc = cond.residual(c.reshape(len(c), -1))
    ry = cond.target
    if method == "ksg":
        rct, ryt = torch.from_numpy(np.ascontiguousarray(rc)), torch.from_numpy(ry.reshape(-1, 1).copy())
        if z.shape[1] == 0:
            return ksg_mi(rct, ryt, k, local=True)
        return ksg_cmi(rct, ryt, torch.from_numpy(np.ascontiguousarray(z)), k, local=True)
    e = ry - rc @ np.linalg.lstsq(rc, ry, rcond=None)[0]
    sy, se = float(ry @ ry) / len(ry), max(float(e @ e) / len(e), 1e-300)
    return torch.from_numpy(-0.5 * np.log(se / sy) - e**2 / (2 * se) + ry**2 / (2 * sy))


def _settings(method: str, k: int, n_resamples: int, n_permutations: int, seed: int) -> None:
    V.choice(method, "method", DYNAMICS_METHODS)
    # k's bound, below the rows, is checked where the rows are known.
    check_settings({"k": k, "n_resamples": n_resamples, "n_permutations": n_permutations, "seed": seed})


@overload
def active_information_storage(
    x: Any,
    history: int = ...,
    method: str = ...,
    *,
    k: int = ...,
    n_resamples: int = ...,
    n_permutations: int = ...,
    null: str = ...,
    seed: int = ...,
    local: Literal[False] = ...,
) -> Estimate: ...
@overload
def active_information_storage(
    x: Any,
    history: int = ...,
    method: str = ...,
    *,
    k: int = ...,
    n_resamples: int = ...,
    n_permutations: int = ...,
    null: str = ...,
    seed: int = ...,
    local: Literal[True],
) -> Tensor: ...
def active_information_storage(
    x: Any,
    history: int = 1,
    method: str = "ksg",
    *,
    k: int = KSG_K,
    n_resamples: int = 0,
    n_permutations: int = 0,
    null: str = "auto",
    seed: int = 0,
    local: bool = False,
) -> Estimate | Tensor:
    """Active information storage of a series in nats (Lizier et al. 2012, eq. 8):

        ``A_X(history) = I(X_t ; X_{t-1}, ..., X_{t-history})``,

    what the series' own past tells about its present: the information it stores and uses.

    Args:
        x: ``(T,)`` series, rows in time order; or its trials, a list of ``(T_r,)`` arrays or tensors:
            each trial is embedded alone (no past step reaches into another trial) and the embedded
            rows are pooled, as JIDT and IDTxl pool replications; the normal scores (``"copula"``) and
            the standardization are of the values pooled over the trials.
        history: past samples, at least 1.
        method: ``"ksg"`` (Kraskov et al. 2004, k neighbours), ``"gaussian"`` or ``"copula"``.
        k: neighbours of the kNN estimate.
        n_resamples: blockwise resamples behind a standard error and an interval (0: none); of
            trials, the blocks never straddle two of them: whole trials where there are at least 10
            (independent replications), else blocks within each trial
            (:func:`~iblearn.functional.serial.trial_blocks`).
        n_permutations: surrogates of the past behind a p-value (0: none), of the kind ``null``.
        null: the surrogates (:data:`NULLS`): ``"trials"``, the past of whole trials permuted against
            the present (trial r's present with trial q's past: IDTxl's and TRENTOOL's null over
            trials), which needs trials of one length; ``"shift"``, the past shifted in time within
            each trial by at least a tenth of it (continued past the trial's ends by its mirror
            image), which keeps each trial whole and takes any lengths and one series; ``"auto"``,
            ``"trials"`` where there are at least :data:`~iblearn.functional.serial.MIN_TRIALS`
            trials of one length, enough for ``n_permutations`` distinct orders, else ``"shift"``
            (:func:`null_kind`). The estimate's ``null`` says which ran.
        seed: seeds the resamples and the surrogates.
        local: return the local active information storage (Lizier et al. 2012, eq. 9) instead, one
            value per embedded time point t = history, ..., T - 1 in that order (of trials, those of
            every trial, trials in order), whose mean is the estimate (:func:`_local`); resamples and
            surrogates are then not drawn.

    Returns:
        :class:`~iblearn.functional.Estimate` of measure ``"active_information_storage"``; with
        ``local``, a ``(T - history,)`` float64 tensor, nats.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = np.zeros(2000)
        >>> for t in range(1, 2000):
        ...     x[t] = 0.8 * x[t - 1] + rng.standard_normal()
        >>> a = active_information_storage(x, method="gaussian", n_resamples=20)
        >>> round(float(a), 2), a.interval[0] < 0.51 < a.interval[1]  # truth -log(1 - 0.64) / 2 = 0.51
        (0.51, True)
    """
    _settings(method, k, n_resamples, n_permutations, seed)
    history = setting("history", history)
    trials = series_trials(x, "x")
    # A constant series stores nothing, and its standardized values would divide by a zero spread.
    V.not_constant(np.concatenate(trials), "x")
    lengths = [len(t) for t in trials]
    segments = _segments(lengths, history, k, f"history: {history} leaves", f"the history {history}")
    null = null_kind(null, segments, n_permutations)
    s = np.concatenate(trials)
    scored = _split(_scored([s], method)[0], lengths)
    past = np.concatenate([_lagged(z, range(1, history + 1), history) for z in scored])
    present = np.concatenate([z[history:] for z in scored])
    if V.flag(local, "local"):
        return _local(present, past, past[:, :0], method, k)
    return _estimate(
        "active_information_storage",
        present,
        past,
        past[:, :0],
        method,
        k,
        [s],
        n_resamples,
        n_permutations,
        seed,
        segments,
        null,
    )


@overload
def transfer_entropy(
    source: Any,
    target: Any,
    lag: int = ...,
    history: int = ...,
    method: str = ...,
    *,
    condition: Any = ...,
    condition_lag: int = ...,
    k: int = ...,
    n_resamples: int = ...,
    n_permutations: int = ...,
    null: str = ...,
    seed: int = ...,
    local: Literal[False] = ...,
) -> Estimate: ...
@overload
def transfer_entropy(
    source: Any,
    target: Any,
    lag: int = ...,
    history: int = ...,
    method: str = ...,
    *,
    condition: Any = ...,
    condition_lag: int = ...,
    k: int = ...,
    n_resamples: int = ...,
    n_permutations: int = ...,
    null: str = ...,
    seed: int = ...,
    local: Literal[True],
) -> Tensor: ...
def transfer_entropy(
    source: Any,
    target: Any,
    lag: int = 1,
    history: int = 1,
    method: str = "ksg",
    *,
    condition: Any = None,
    condition_lag: int = 1,
    k: int = KSG_K,
    n_resamples: int = 0,
    n_permutations: int = 0,
    null: str = "auto",
    seed: int = 0,
    local: bool = False,
) -> Estimate | Tensor:
    """Transfer entropy from ``source`` to ``target`` in nats, conditioned on other processes:

        ``TE = I(Y_t ; X_{t-lag} | Y_{t-1}, ..., Y_{t-history}, W_{t-condition_lag})``

    (Schreiber 2000, eq. 4; conditional TE, Lizier et al. 2008, eq. 6): what the source's past adds
    about the target's present beyond the target's own past and the condition's past. A common driver
    W or an intermediate of a chain, conditioned on, leaves no TE where the source itself carries none.

    Args:
        source, target: ``(T,)`` series of one length, rows in time order; or their trials, lists of
            ``(T_r,)`` arrays or tensors, as many of each and trial r of one length in both, each
            trial embedded alone and the rows pooled (as ``x`` of
            :func:`active_information_storage`).
        lag: the source sample's delay, at least 1.
        history: the target's past samples conditioned on, at least 1.
        method: ``"ksg"``, ``"gaussian"`` or ``"copula"``.
        condition: None, a ``(T,)`` series, or ``(T, m)`` series (one a column) conditioned on; of
            trials, a list of them, one a trial.
        condition_lag: the condition's delay (0 allowed: its present).
        k, n_resamples, n_permutations, null, seed: as for :func:`active_information_storage`; the
            surrogates are of the source's past, its trials permuted or shifted within each trial.
        local: return the local (conditional) transfer entropy (Lizier et al. 2008, eq. 9) instead,
            one value per embedded time point t = ``max(lag, history, condition_lag)``, ..., T - 1 in
            that order (of trials, those of every trial, trials in order), whose mean is the estimate
            (:func:`_local`).

    Returns:
        :class:`~iblearn.functional.Estimate` of measure ``"transfer_entropy"``; with ``local``, a
        ``(T - start,)`` float64 tensor of those time points, nats.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> w = rng.standard_normal(3000)
        >>> x, y = np.zeros(3000), np.zeros(3000)
        >>> x[1:] = w[:-1] + 0.5 * rng.standard_normal(2999)  # w drives x one step later
        >>> y[2:] = w[:-2] + 0.5 * rng.standard_normal(2998)  # and y two steps later
        >>> plain = transfer_entropy(x, y, method="gaussian")
        >>> given_w = transfer_entropy(x, y, method="gaussian", condition=w, condition_lag=2)
        >>> float(plain) > 0.3, abs(float(given_w)) < 0.01
        (True, True)
    """
    _settings(method, k, n_resamples, n_permutations, seed)
    lag, history = setting("lag", lag), setting("history", history)
    src, tgt = series_trials(source, "source"), series_trials(target, "target")
    single = len(src) == len(tgt) == 1
    if single:
        V.same_length(("source", torch.from_numpy(src[0])), ("target", torch.from_numpy(tgt[0])))
    else:
        matched_trials("source", src, tgt, "target")
    lengths = [len(t) for t in tgt]
    raw = [np.concatenate(src), np.concatenate(tgt)]
    if condition is not None:
        pieces = trials_of(condition, "condition") or [condition]
        ws = [V.series(p, "condition").detach().cpu().double().numpy() for p in pieces]
        if single and len(ws) == 1:
            V.same_length(("target", torch.from_numpy(tgt[0])), ("condition", torch.from_numpy(ws[0])))
        else:
            matched_trials("condition", ws, tgt, "target")
        if isinstance(condition_lag, bool) or not isinstance(condition_lag, int) or condition_lag < 0:
            raise ValueError(f"condition_lag: expected a non-negative integer, got {condition_lag!r}")
        w = np.concatenate(ws)
        raw += [w[:, i] for i in range(w.shape[1])]
    for series, name in zip(raw[:2], ("source", "target"), strict=True):
        V.not_constant(series, name)  # no transfer to or from it, and no spread to standardize by
    reach = {"lag": lag, "history": history}
    if condition is not None:
        reach["condition_lag"] = condition_lag
    start = max(reach.values())
    furthest = next(name for name, steps in reach.items() if steps == start)  # the setting to shorten
    segments = _segments(lengths, start, k, f"{furthest}: lags up to {start} leave", f"the lags {start}")
    null = null_kind(null, segments, n_permutations)
    scored = [_split(c, lengths) for c in _scored(raw, method)]
    pasts, sources, presents = [], [], []
    for r in range(len(lengths)):
        z = _lagged(scored[1][r], range(1, history + 1), start)
        if condition is not None:
            z = np.column_stack(
                [z, *(_lagged(c[r], range(condition_lag, condition_lag + 1), start) for c in scored[2:])]
            )
        pasts.append(z)
        sources.append(_lagged(scored[0][r], range(lag, lag + 1), start))
        presents.append(scored[1][r][start:])
    y, x, z = np.concatenate(presents), np.concatenate(sources), np.concatenate(pasts)
    if V.flag(local, "local"):
        return _local(y, x, z, method, k)
    return _estimate(
        "transfer_entropy", y, x, z, method, k, raw, n_resamples, n_permutations, seed, segments, null
    )
