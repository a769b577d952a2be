"""Series tasks: transfer entropy, conditional transfer entropy and active information storage of
stationary linear Gaussian vector autoregressions, exact from the process's autocovariances (the
discrete Lyapunov equation; Schreiber 2000 and Lizier et al. 2012 for the measures), and the samples of
the conditional MI a transfer entropy is and of the MI an active information storage is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg

from iblearn.data.tasks.base import Array, Task, entropy_terms, measure_value, pointwise_value, warp
from iblearn.data.tasks.gaussian import gaussian_entropy, gaussian_logpdf


def companion_form(coefs: Sequence[Array], noise: Array) -> tuple[Array, Array]:
    """The VAR(1) form ``S_t = F S_{t-1} + E_t`` of a VAR(p), S_t = (s_t, .., s_{t-p+1})."""
    d, p = noise.shape[0], len(coefs)
    companion = np.zeros((d * p, d * p))
    companion[:d] = np.hstack(coefs)
    companion[d:, :-d] = np.eye(d * (p - 1))
    q = np.zeros((d * p, d * p))
    q[:d, :d] = noise
    return companion, q


def var_autocovariances(coefs: Sequence[Array], noise: Array, max_lag: int) -> list[Array]:
    """``Gamma(h) = Cov(s_t, s_{t-h})`` for h = 0..max_lag of the stationary VAR(p)
    ``s_t = sum_l A_l s_{t-l} + e_t``, ``e_t ~ N(0, noise)``: the companion form's covariance solves the
    discrete Lyapunov equation ``G = F G F' + Q``, and ``Cov(S_t, S_{t-h}) = F^h G``."""
    companion, q = companion_form(coefs, noise)
    if np.max(np.abs(np.linalg.eigvals(companion))) >= 1:
        raise ValueError(
            "coefs: the process is not stationary (a companion eigenvalue on or outside the unit circle)"
        )
    g = linalg.solve_discrete_lyapunov(companion, q)
    d = noise.shape[0]
    out, power = [], np.eye(companion.shape[0])
    for _ in range(max_lag + 1):
        out.append((power @ g)[:d, :d])
        power = companion @ power
    return out


def lagged_covariance(gammas: list[Array], picks: Sequence[tuple[int, int]]) -> Array:
    """Covariance of the variables ``(component, delay)``: ``s_{t - delay}[component]`` each."""
    m = len(picks)
    out = np.empty((m, m))
    for i, (a, la) in enumerate(picks):
        for j, (b, lb) in enumerate(picks):
            h = lb - la  # Cov(s_{t-la}, s_{t-lb}) = Gamma(lb - la) for lb >= la
            out[i, j] = gammas[h][a, b] if h >= 0 else gammas[-h][b, a]
    return out


def simulate_var(coefs: Sequence[Array], noise: Array, steps: int, rng: np.random.Generator) -> Array:
    """``steps`` rows of the stationary VAR(p), started from its stationary law (no burn-in)."""
    companion, q = companion_form(coefs, noise)
    d, p = noise.shape[0], len(coefs)
    g = linalg.solve_discrete_lyapunov(companion, q)
    state = np.linalg.cholesky(g + 1e-12 * np.eye(d * p)) @ rng.standard_normal(d * p)
    shocks = rng.standard_normal((steps, d)) @ np.linalg.cholesky(noise).T
    head = np.hstack(coefs)
    out = np.empty((steps, d))
    for t in range(steps):
        new = head @ state + shocks[t]
        state = np.concatenate([new, state[:-d]])
        out[t] = new
    return out


def own_past(series: Any, history: int) -> tuple[Array, Array]:
    """:func:`ais_samples` of one series: its present ``(n, d)`` from step ``history`` on, and its
    ``history`` past samples ``(n, history d)``, most recent first."""
    s = np.asarray(series, dtype=np.float64)
    s = s.reshape(len(s), -1)
    if len(s) <= history + 1:
        raise ValueError(f"series: {len(s)} steps leave no samples after history={history}")
    return s[history:], np.hstack([s[history - j : len(s) - j] for j in range(1, history + 1)])


def ais_samples(task: Task, series: Any) -> tuple[Array, Array]:
    """The two arguments of the MI that an ``ais`` task's truth is a value of: the series' present and
    its ``history`` past samples (most recent first), as
    :func:`~iblearn.functional.information_dynamics.active_information_storage` builds them.

    Example:
        >>> from iblearn.data import get_exact_task
        >>> task = get_exact_task("ais-var1-y-history3")
        >>> present, past = ais_samples(task, *task.sample_numpy(500, seed=0))
        >>> present.shape, past.shape
        ((500, 1), (500, 3))
    """
    if task.measure != "ais":
        raise ValueError(f"task: expected an ais task, got measure {task.measure!r}")
    return own_past(series, int(task.options["history"]))


def embed(series: Sequence[Any], lag: int, history: int) -> tuple[Array, Array, Array]:
    """:func:`te_samples` of ``(source, target)`` or ``(source, target, condition)`` series."""
    arrays = [np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in series]
    source, target = arrays[0], arrays[1]
    length = len(target)
    start = max(lag, history)
    if length <= start + 1:
        raise ValueError(f"series: {length} steps leave no samples after lag={lag}, history={history}")
    pasts = [target[start - j : length - j] for j in range(1, history + 1)]
    if len(arrays) == 3:
        pasts += [arrays[2][start - j : length - j] for j in range(1, history + 1)]
    return target[start:], source[start - lag : length - lag], np.hstack(pasts)


def te_samples(task: Task, *series: Any) -> tuple[Array, Array, Array]:
    """The three arguments of the conditional MI that a ``te`` or ``cte`` task's truth is a value of:
    the target's present ``(n, d_t)``, the source at ``lag`` ``(n, d_s)``, and what is conditioned on:
    the target's ``history`` past samples (most recent first), then the condition's, as
    :func:`iblearn.functional.transfer_entropy` builds them.

    Example:
        >>> from iblearn.data import get_exact_task
        >>> task = get_exact_task("te-var1-c0.5")
        >>> present, source, given = te_samples(task, *task.sample_numpy(500, seed=0))
        >>> present.shape, source.shape, given.shape
        ((500, 1), (500, 1), (500, 1))
    """
    if task.measure not in ("te", "cte"):
        raise ValueError(f"task: expected a te or cte task, got measure {task.measure!r}")
    if len(series) != (3 if task.measure == "cte" else 2):
        raise ValueError(f"series: a {task.measure} task takes {2 + (task.measure == 'cte')} series")
    return embed(series, int(task.options["lag"]), int(task.options["history"]))


def var_task(
    name: str,
    measure: str,
    coefs: Sequence[Array],
    source: Sequence[int],
    target: Sequence[int],
    lag: int,
    history: int,
    description: str,
    condition: Sequence[int] = (),
    warps: Sequence[str] | None = None,
) -> Task:
    """Transfer entropy (``"te"``) or conditional TE (``"cte"``) of a stationary linear Gaussian VAR(p)
    with unit noise between its components ``source`` and ``target`` (given ``condition``): the CMI of
    the Gaussian whose covariance is read from the process's autocovariances
    (:func:`var_autocovariances`), over the samples :func:`te_samples` builds. The active information
    storage (``"ais"``, no source) of ``target`` is the MI of its present and its ``history`` past
    samples, over those :func:`ais_samples` builds."""
    coefs = [np.asarray(a, dtype=np.float64) for a in coefs]
    d = coefs[0].shape[0]
    noise = np.eye(d)
    warps = tuple(warps or ("none",) * d)
    picks = [(c, 0) for c in target] + [(c, lag) for c in source]
    picks += [(c, j) for j in range(1, history + 1) for c in target]
    picks += [(c, j) for j in range(1, history + 1) for c in condition]
    gammas = var_autocovariances(coefs, noise, max(lag, history))
    cov = lagged_covariance(gammas, picks)
    ds, dt = len(source), len(target)
    ais = measure == "ais"
    if ais:  # the present against its own past
        terms = entropy_terms("mi", [list(range(dt)), list(range(dt, len(picks)))])
        parts = [list(target)]
    else:
        groups = [list(range(dt)), list(range(dt, dt + ds)), list(range(dt + ds, len(picks)))]
        terms = entropy_terms("cmi", groups)
        parts = [list(source), list(target)] + ([list(condition)] if measure == "cte" else [])
    truth = measure_value(terms, lambda cols: gaussian_entropy(cov, cols))
    start = history if ais else max(lag, history)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        series = warp(simulate_var(coefs, noise, n + start, rng), warps)
        return tuple(series[:, p] for p in parts)

    def pointwise(*series: Any) -> Array:
        raw = [
            warp(np.asarray(s, dtype=np.float64).reshape(len(s), -1), [warps[c] for c in p], inverse=True)
            for s, p in zip(series, parts, strict=True)
        ]
        v = np.hstack(own_past(raw[0], history) if ais else embed(raw, lag, history))
        return pointwise_value(terms, lambda cols: gaussian_logpdf(v[:, list(cols)], cov[np.ix_(cols, cols)]))

    dims = tuple(len(p) for p in parts)
    options = {"history": history} if ais else {"lag": lag, "history": history}
    return Task(name, measure, truth, description, sampler, dims, (), options, pointwise)
