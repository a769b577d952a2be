"""Calibration of the intervals on tasks with exact answers: each estimator on each task, at N = 500,
2,000 and 10,000, over 30 seeds, with what its interval is made of, and the coverage of the intervals.

A row (``benchmarks/results/calibration/rows.jsonl``, one JSON object a line, appended as each
finishes, so a killed run resumes with ``--resume``) holds the task, its family, measure and truth, N,
the seed, the estimator, its estimate on all the rows, and the summaries of three resamplings from
:mod:`iblearn.functional.inference`:

* ``half``: 24 half-samples (halves of the blocks for series): the standard error and the half-data mean,
  whose difference from the estimate is the estimate's trend with N;
* ``quarter``: 12 subsamples of a quarter of the rows: the trend again, one size further;
* ``bootstrap``: 12 naive bootstrap resamples (rows with replacement), the usual interval, whose repeated
  rows are zero distances to a kNN estimator.

The coverage table (``table.md``, ``results.json``) is computed from the rows: the share of seeds whose
95% interval holds the truth, per family, estimator and N, for the library's interval
(:func:`iblearn.functional.inference.interval`), two standard errors around the estimate (the plain
interval), and the naive bootstrap's; with the median width of each; and ``estimate_mi``'s own interval
and its ``reliable`` flag for the automatic choice.

    python benchmarks/calibration.py --quick            # 2 tasks a family, N = 500, 5 seeds: a minute
    python benchmarks/calibration.py --sizes 500 2000 --resume --write-results
    python benchmarks/calibration.py --table-only       # the table from the rows there

A run writes to ``benchmarks/results/_scratch/calibration`` unless ``--out`` names a folder; the
committed folder changes only with ``--write-results``, and its rows are merged by task, N, seed and
estimator (see :mod:`benchmarks.runners.script`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

import _prelude  # noqa: F401  (one thread for every numerical library)
import iblearn.functional as ibf
from benchmarks.runners.script import (
    RESULTS,
    Parser,
    positive_int,
    read_rows,
    scratch_for,
    stamped,
    write_rows,
)
from iblearn.data import Task, ais_samples, get_exact_task, te_samples
from iblearn.estimation import autocheck
from iblearn.estimation.verdict import bias_why, heavy_tails, scalar_why, series_figures_verdict
from iblearn.functional.inference import interval, resample_rows, rng, summarize
from iblearn.functional.multivariate.inputs import (
    MAGNITUDES_Z,
    ScalarCheck,
    copula_normal,
    magnitude_dependence,
    scalar_check,
)
from iblearn.records import atomic_write_text, environment, write_json

#: The tasks calibrated: each family's ordinary cases and the ones that trouble kNN estimators (tails,
#: warps, a discrete condition, synergy), a few enough for 30 seeds at three sizes on two cores. A row
#: carries the family it is listed under here: ``labels`` (MI between continuous x and class labels,
#: which the front door estimates by the mixed KSG) is a table row of its own apart from ``mi``.
TASKS = {
    "mi": [
        "bivariate-normal-0.75",
        "dense-gaussian-5x5",
        "student-t-2x2-dof1",
        "additive-uniform-0.75",
        "sign-mixture-1x1",
        "zero-inflated-1x1",
    ],
    "cmi": [
        "cmi-gauss-1x1x1",
        "cmi-gauss-3x3x3",
        "cmi-common-cause-3x3x3-0",
        "cmi-discrete-z-2class",
        "cmi-gauss-1x1x1-warped",
        "cmi-student-1x1x1-dof3",
    ],
    # One column a side holding two to four nats, where KSG reads two copies side by side low.
    "strong": [
        "bivariate-normal-0.99",
        "bivariate-normal-0.999",
        "additive-uniform-0.1",
        "additive-uniform-0.01",
    ],
    "labels": [
        "labels-class-means-2-shift1",
        "labels-class-means-2-shift4",
        "labels-class-means-2-p0.8-shift2",
        "labels-class-means-3-triangle-2d",
        "labels-class-means-10-diagonal-5d",
        "labels-class-means-10-diagonal-20d",
        "labels-spreads-3-triangle-2d",
        "labels-spreads-5-line-10d",
        "labels-spreads-10-line-20d",
        "labels-student-2-shift2-dof3",
        "labels-cauchy-2-shift4",
        "labels-spread-2-sd1-sd3",
        "labels-many-10-shift1",
        "labels-unequal-4",
    ],
    "te": [
        "te-var1-c0.5",
        "te-independent-ar0.9-0",
        "te-lag3",
        "te-var1-c0.9",
        "te-var1-c0.5-history2",
        "te-2d-series",
        "te-bidirectional-xy",
        "te-var1-c0.5-warped",
        "te-lag3-warped",
    ],
    "ais": [
        "ais-ar0.9",
        "ais-var1-y",
        "ais-var1-y-history3",
        "ais-lag3-y-history3",
        "ais-ar0.9-warped",
        "ais-var1-y-history3-warped",
    ],
    "multivariate": [
        "o-gauss-5",
        "tc-gauss-3",
        "o-synergy-3",
        "o-redundant-5-warped",
        "ii-synergy-3",
        "pid-gauss-sum-synergy",
    ],
    # Whole series through transfer_entropy_estimate's own interval and flag (series_row); not a default.
    "series": [
        "te-ar0.5-c0.3",
        "te-ar0.9-c0.3",
        "te-ar0.95-c0.3",
        "te-ar0.97-c0.3",
        "te-ar0.99-c0.3",
        "te-random-walks-0",
    ],
}
HALVES, QUARTERS, BOOTSTRAPS = 24, 12, 12
OUT = RESULTS / "calibration"
Estimate = Callable[[list[np.ndarray]], float]
#: The measures among many variables by the tasks' names; the front door knows each by its function's.
MANY: dict[str, Callable[..., Any]] = {
    "tc": ibf.total_correlation,
    "dtc": ibf.dual_total_correlation,
    "o": ibf.o_information,
    "s": ibf.s_information,
    "ii": ibf.interaction_information,
}


def _t(a: np.ndarray) -> torch.Tensor:
    t = torch.as_tensor(a)
    return t if t.dtype == torch.int64 else t.to(torch.float64)


def estimators(task: Task) -> dict[str, Estimate]:
    """The estimators of ``task``'s measure, each a function of its arrays (rows already taken)."""
    m, opts = task.measure, dict(task.options)
    if m == "mi":
        if task.labels:
            return {
                "mixed_ksg": lambda a: float(ibf.mixed_ksg_mi(_t(a[0]), _t(a[1]))),
                "gaussian_classes": lambda a: float(ibf.gaussian_classes_mi(_t(a[0]), _t(a[1]))),
                "quadratic_classes": lambda a: float(ibf.quadratic_classes_mi(_t(a[0]), _t(a[1]))),
            }
        return {
            "ksg": lambda a: float(ibf.ksg_mi(_t(a[0]), _t(a[1]))),
            "copula": lambda a: float(
                ibf.gaussian_mi(copula_normal(_t(a[0])), copula_normal(_t(a[1])), bias_correction=True)
            ),
        }
    if m == "ais":  # the MI of the series' present and its own past
        return {
            "ksg": lambda a: float(ibf.ksg_mi(_t(a[0]), _t(a[1]))),
            "gaussian": lambda a: float(ibf.gaussian_mi(_t(a[0]), _t(a[1]))),
        }
    if m in ("cmi", "te", "cte"):
        out = {"ksg": lambda a: float(ibf.ksg_cmi(_t(a[0]), _t(a[1]), _t(a[2])))}
        if not task.labels:
            out["gaussian"] = lambda a: float(ibf.gaussian_cmi(_t(a[0]), _t(a[1]), _t(a[2])))
        return out
    blocks = opts.get("blocks")

    def measure(method: str) -> Estimate:
        def f(a: list[np.ndarray]) -> float:
            t = [_t(v) for v in a]
            if m.startswith("pid-"):
                parts = ibf.pid(*t, method=method)
                return float(getattr(parts, m.removeprefix("pid-").replace("-", "_")))
            if m == "ii":
                return float(ibf.interaction_information(*t, method=method))
            return float(MANY[m](t[0], blocks, method=method))

        return f

    return {"ksg": measure("ksg"), "copula": measure("copula")}


def arrays(task: Task, n: int, seed: int) -> tuple[list[np.ndarray], str]:
    """The measure's arrays (rows aligned: a series as its embedding) and the resampling they take."""
    drawn = [np.asarray(a) for a in task.sample(n, seed)]
    if task.family == "te":
        return [np.asarray(a) for a in te_samples(task, *drawn)], "block"
    if task.family == "ais":
        return [np.asarray(a) for a in ais_samples(task, *drawn)], "block"
    return drawn, "half"


def _rows(a: list[np.ndarray], idx: np.ndarray) -> list[np.ndarray]:
    return [v[idx] for v in a]


def measure_row(task: Task, n: int, seed: int, name: str, est: Estimate) -> dict[str, Any]:
    a, scheme = arrays(task, n, seed)
    rows = len(a[0])
    start = time.process_time()
    value = est(a)
    seconds = time.process_time() - start
    halves = summarize(
        [est(_rows(a, resample_rows(rows, scheme, seed, i))) for i in range(HALVES)], rows, scheme
    )
    quarters = []
    for i in range(QUARTERS):
        order = rng(seed, 2, i).permutation(rows)[: rows // 4]
        quarters.append(est(_rows(a, np.sort(order))))
    boots = [est(_rows(a, resample_rows(rows, "bootstrap", seed, i))) for i in range(BOOTSTRAPS)]
    return {
        "task": task.name,
        "family": task.family,
        "measure": task.measure,
        "truth": task.truth,
        "n": n,
        "seed": seed,
        "estimator": name,
        "value": value,
        "seconds": seconds,
        "half_stderr": halves.stderr,
        "half_mean": halves.half,
        "scheme": scheme,
        "quarter_mean": float(np.mean(quarters)),
        "quarter_sd": float(np.std(quarters, ddof=1)),
        "boot_sd": float(np.std(boots, ddof=1)),
        "boot_mean": float(np.mean(boots)),
    }


def _auto_estimate(task: Task, drawn: list[Any], seed: int) -> Any:
    """``iblearn.estimate(measure, ..., method="auto")`` on a task's draw: the estimate of its measure."""
    from iblearn import estimate

    m, opts = task.measure, dict(task.options)
    if m in ("mi", "cmi"):
        return estimate(m, *drawn, seed=seed)
    if m == "te":
        return estimate("te", *drawn, lag=opts.get("lag", 1), history=opts.get("history", 1), seed=seed)
    if m == "ais":
        return estimate("ais", *drawn, history=opts["history"], seed=seed)
    if m.startswith("pid-"):
        parts = estimate("pid", *drawn, seed=seed)
        return parts[m.removeprefix("pid-").replace("-", "_")]
    data = torch.cat([torch.as_tensor(a).reshape(len(a), -1) for a in drawn], dim=1)
    blocks = opts.get("blocks")
    if blocks is None and len(drawn) > 1:  # one variable an array
        sizes = np.cumsum([0] + [torch.as_tensor(a).reshape(len(a), -1).shape[1] for a in drawn])
        blocks = [list(range(int(a), int(b))) for a, b in itertools.pairwise(sizes)]
    return estimate(MANY[m].__name__, data, blocks=blocks, seed=seed)


def auto_row(task: Task, n: int, seed: int) -> dict[str, Any]:
    """The front door's automatic estimate of the task's measure (``iblearn.estimate``), with its own
    interval and flag, and what the interval was made of (standard error, the bias it assumes, the
    checks' figures), so that the table can be read again from the rows."""
    import warnings

    drawn = list(task.sample(n, seed))
    row = {"task": task.name, "family": task.family, "measure": task.measure, "truth": task.truth}
    row |= {"n": n, "seed": seed, "estimator": "auto"}
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = _auto_estimate(task, drawn, seed)
        except ValueError as err:
            return row | {"error": str(err)}
    checks = {name: dict(c.figures) for name, c in (r.report.checks or {}).items()}
    return row | {
        "value": float(r),
        "seconds": time.process_time() - start,
        "interval": list(r.interval or ()),
        "reliable": r.reliable,
        "caveat": r.caveat,
        "chosen": r.report.chosen,
        "stderr": r.stderr,
        "stderr_method": r.report.stderr_method,
        "bias": r.bias,
        "checks": checks,
    }


SERIES_ESTIMATOR = "transfer_entropy_estimate"


def series_draw(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A ``series`` task's source and target, ``n`` steps, and its TE x -> y: for ``te-ar{a}-c0.3``,
    x_t = a x_(t-1) + e, y_t = a y_(t-1) + 0.3 x_(t-1) + u (unit noise, from the stationary law), TE
    ``log(Var(y_t | y_(t-1))) / 2`` from the stationary covariances G0 = A G0 A' + I, G1 = A G0; for
    ``te-random-walks-0``, two independent random walks, TE 0."""
    from scipy import linalg

    g = np.random.default_rng([seed, n])
    if name == "te-random-walks-0":
        x, y = np.cumsum(g.standard_normal((2, n)), axis=1)
        return x, y, 0.0
    a = float(name.removeprefix("te-ar").split("-")[0])
    coefs = np.array([[a, 0.0], [0.3, a]])
    g0 = linalg.solve_discrete_lyapunov(coefs, np.eye(2))
    g1 = coefs @ g0
    truth = 0.5 * float(np.log(g0[1, 1] - g1[1, 1] ** 2 / g0[1, 1]))
    state, out = np.linalg.cholesky(g0) @ g.standard_normal(2), np.empty((n, 2))
    for t, shock in enumerate(g.standard_normal((n, 2))):
        state = coefs @ state + shock
        out[t] = state
    return out[:, 0], out[:, 1], truth


def series_row(name: str, n: int, seed: int) -> dict[str, Any]:
    """``transfer_entropy_estimate``'s own interval (20 blockwise resamples) and flag on a series task."""
    import warnings

    x, y, truth = series_draw(name, n, seed)
    row = {"task": name, "family": "series", "measure": "te", "truth": truth, "n": n, "seed": seed}
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ibf.transfer_entropy_estimate(torch.from_numpy(x), torch.from_numpy(y), n_resamples=20, seed=seed)
        # The figures judged as the front door judges a named method's: flagged, or put forward.
        r = series_figures_verdict(r, ("source", "target"))
    return row | {
        "estimator": SERIES_ESTIMATOR,
        "value": float(r),
        "seconds": time.process_time() - start,
        "interval": list(r.interval or ()),
        "reliable": r.caveat is None,
        "caveat": r.caveat,
        "stderr": r.stderr,
    }


# ------------------------------------------------------------------------------------------- the table
def intervals(row: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """The candidate intervals of a row: the library's, the plain one, the naive bootstrap's. On one
    column a side the library's closed forms reach what KSG on the same columns allows
    (:meth:`iblearn.functional.multivariate.inputs.ScalarCheck.reach`), as
    :func:`iblearn.functional.multivariate_estimate` does."""
    v, se = row["value"], row["half_stderr"]
    (lo, hi), _ = interval(v, se, half=row["half_mean"], n_resamples=HALVES)
    check = _scalar(row)
    if check is not None:
        low, high = check.reach(se)
        lo, hi = max(0.0, min(lo, low)), max(hi, high)
    return {
        "library": (lo, hi),
        "plain": (v - 1.96 * se, v + 1.96 * se),
        "bootstrap": (v - 1.96 * row["boot_sd"], v + 1.96 * row["boot_sd"]),
    }


def library_caveat(row: dict[str, Any]) -> str | None:
    """Why the library would call this row's estimate unreliable, or None: its trend with N
    (:func:`iblearn.estimation.verdict.bias_why`), heavy-tailed raw rows for the kNN and Gaussian
    estimators (:func:`iblearn.estimation.verdict.heavy_tails`), and for the Gaussian and copula ones
    magnitudes that a Gaussian copula leaves independent, or on one column a side a closed form that KSG
    on the same columns contradicts (the task's arrays drawn again from its seed)."""
    why = bias_why(row["value"], row["half_stderr"], row["half_mean"], HALVES)
    if why is not None:
        return why
    floats = _floats(row)
    if row["estimator"] != "copula":
        why = heavy_tails(floats, [f"array {i}" for i in range(len(floats))])
    if why is None and row["estimator"] in ("gaussian", "copula") and floats:
        joint = torch.cat(floats, dim=1)
        split = floats[0].shape[1] if len(floats) > 1 else joint.shape[1] // 2
        if joint.shape[1] > 1 and abs(magnitude_dependence(copula_normal(joint), split)) > MAGNITUDES_Z:
            why = "the magnitudes depend on each other beyond a Gaussian copula's"
        elif (check := _scalar(row)) is not None:
            why = scalar_why(check)
    return why


def _floats(row: dict[str, Any]) -> list[torch.Tensor]:
    """The row's task's float arrays, drawn again from its seed."""
    return _drawn(row["task"], row["n"], row["seed"])


@lru_cache(maxsize=2)  # a row's interval and its caveat are judged one after the other
def _drawn(task: str, n: int, seed: int) -> list[torch.Tensor]:
    drawn, _ = arrays(get_exact_task(task), n, seed)
    return [torch.as_tensor(a, dtype=torch.float64).reshape(len(a), -1) for a in drawn if a.dtype.kind == "f"]


def _scalar(row: dict[str, Any]) -> ScalarCheck | None:
    """For a closed form's MI of one column a side, the closed form beside KSG on the same columns
    (scores for the copula), as the library checks it; else None."""
    if row["family"] != "mi" or row["estimator"] not in ("gaussian", "copula"):
        return None
    return _scalar_of(row["task"], row["n"], row["seed"], row["estimator"])


@cache
def _scalar_of(task: str, n: int, seed: int, estimator: str) -> ScalarCheck | None:
    floats = _drawn(task, n, seed)
    if [f.shape[1] for f in floats] != [1, 1]:
        return None
    pair = torch.cat(floats, dim=1)
    pair = copula_normal(pair) if estimator == "copula" else pair
    return scalar_check(pair[:, :1], pair[:, 1:])


def _share(hits: list[bool]) -> float | None:
    return float(np.mean(hits)) if hits else None


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def oracle_widths(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], float]:
    """The width the spread over seeds allows, ``2 x 1.96 x`` the standard deviation of the estimates
    over the seeds of each task, estimator and N (with at least 3 seeds): the narrowest a 95% interval
    centred on the estimate can be and cover, were its standard error known."""
    values: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in rows:
        if "error" not in r and np.isfinite(r["value"]):
            values[(r["task"], r["estimator"], r["n"])].append(r["value"])
    return {key: spread_width(v) for key, v in values.items() if len(v) >= 3}


def spread_width(values: list[float]) -> float:
    """``2 x 1.96 x`` the standard deviation of ``values``, the estimates of one cell over its seeds."""
    return 2 * 1.96 * float(np.std(values, ddof=1))


def covers(low: float, high: float, truth: float) -> bool:
    """Whether ``[low, high]`` holds ``truth``, up to the round-off of a closed-form truth (a TE of 0
    computed as -2e-15 lies inside an interval held at 0)."""
    slack = 1e-9 * max(1.0, abs(truth))
    return low - slack <= truth <= high + slack


def tabulate(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """Coverage per family, estimator and N: of the library's interval where the estimate says
    reliable (:func:`library_caveat`) and over all runs, of the plain and the naive
    bootstrap intervals over all runs; the share reliable, the median width of the library's interval
    and the median of each width over its task's spread-over-seeds width (:func:`oracle_widths`). For
    the front door's ``method="auto"``, its own interval where it says reliable."""
    oracle = oracle_widths(rows)
    cells: dict[tuple[str, str, int], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if "error" in r:
            continue
        family = f"series {r['task']}" if r["family"] == "series" else r["family"]  # one cell a task
        c = cells[(family, r["estimator"], r["n"])]
        if r["estimator"] in ("auto", SERIES_ESTIMATOR):
            lo, hi = r["interval"]
            reliable = bool(r["reliable"])
        else:
            spans = intervals(r)
            reliable = library_caveat(r) is None
            for kind, (low, high) in spans.items():
                c[kind + " (all)"].append(covers(low, high, r["truth"]))
            lo, hi = spans["library"]
        c["reliable"].append(reliable)
        if np.isfinite(r["value"]):
            c["seeds"].append((r["task"], r["value"], hi - lo if reliable else None))
        if reliable:
            c["library"].append(covers(lo, hi, r["truth"]))
            c["width"].append(hi - lo)
            spread = oracle.get((r["task"], r["estimator"], r["n"]))
            if spread:
                c["over oracle"].append((hi - lo) / spread)
    return _table(cells)


def oracle_range(seeds: list[tuple[str, float, float | None]], draws: int = 400) -> list[float] | None:
    """The 5% and 95% points of a cell's width over oracle (:func:`oracle_widths`) when each task's
    seeds are drawn again with replacement: how far the figure moves with the seeds that measured it.
    ``seeds`` holds each run's task, estimate and interval width (None where not reliable)."""
    by_task: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    for task, value, width in seeds:
        by_task[task].append((value, width))
    rng = np.random.default_rng(0)
    medians = []
    for _ in range(draws):
        ratios = []
        for runs in by_task.values():
            drawn = [runs[i] for i in rng.integers(0, len(runs), len(runs))]
            spread = spread_width([v for v, _ in drawn]) if len(drawn) >= 3 else 0.0
            ratios += [w / spread for _, w in drawn if w is not None and spread > 0]
        if ratios:
            medians.append(float(np.median(ratios)))
    return [float(q) for q in np.percentile(medians, [5, 95])] if medians else None


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _table(cells: dict[tuple[str, str, int], dict[str, list[Any]]]) -> tuple[dict[str, Any], str]:
    entries, lines = [], []
    lines.append(
        "| family | estimator | N | runs | reliable | coverage where reliable | coverage, all runs | "
        "plain (2 se), all | naive bootstrap, all | median width where reliable | width over oracle |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (family, est, n), c in sorted(cells.items()):
        entry = {
            "family": family,
            "estimator": est,
            "n": n,
            "runs": len(c["reliable"]),
            "reliable": _share(c["reliable"]),
            "coverage_where_reliable": _share(c["library"]),
            "coverage_all": _share(c["library (all)"]),
            "plain_all": _share(c["plain (all)"]),
            "bootstrap_all": _share(c["bootstrap (all)"]),
            "median_width": _median(c["width"]),
            "width_over_oracle": _median(c["over oracle"]),
            "width_over_oracle_range": oracle_range(c["seeds"]),
        }
        entries.append(entry)
        width = "" if entry["median_width"] is None else f"{entry['median_width']:.3g}"
        ratio = "" if entry["width_over_oracle"] is None else f"{entry['width_over_oracle']:.2f}x"
        if entry["width_over_oracle_range"]:
            ratio += " ({:.2f} - {:.2f})".format(*entry["width_over_oracle_range"])
        cols = [
            _pct(entry[k])
            for k in ("reliable", "coverage_where_reliable", "coverage_all", "plain_all", "bootstrap_all")
        ]
        lines.append(
            f"| {family} | {est} | {n:,} | {entry['runs']} | " + " | ".join(cols) + f" | {width} | {ratio} |"
        )
    return {"cells": entries}, "\n".join(lines) + "\n"


KEY = ("task", "n", "seed", "estimator")


def _parser() -> Parser:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=positive_int, nargs="+", default=[500, 2000, 10000])
    p.add_argument("--seeds", type=positive_int, default=30)
    p.add_argument("--families", nargs="+", default=[f for f in TASKS if f != "series"], choices=list(TASKS))
    p.add_argument("--quick", action="store_true", help="2 tasks a family, N = 500, 5 seeds")
    p.add_argument("--resume", action="store_true", help="keep the rows there and add the missing ones")
    p.add_argument("--auto-only", action="store_true", help="only the front door's automatic estimates")
    p.add_argument("--table-only", action="store_true", help="the table from the rows there")
    p.add_argument(
        "--copy-rows",
        type=positive_int,
        default=None,
        help="the most rows a copy of the additivity check reads (default the library's, "
        f"{autocheck.COPY_ROWS}); as many as a half, each copy is a whole half",
    )
    p.add_output(OUT)
    p.add_argument(
        "--rows-commit",
        default=None,
        help="with --table-only: the commit the rows were measured at, recorded",
    )
    return p


def measure(args: argparse.Namespace, path: Path) -> None:
    """Appends each task's rows to ``path`` as they finish (the rows there kept, with --resume the
    ones done skipped), then rewrites the file with one row a key, the newest."""
    write_rows(path, read_rows(path, KEY))  # a line cut short by a killed run goes
    done = {tuple(r[k] for k in KEY) for r in read_rows(path, KEY)} if args.resume else set()
    sizes, seeds = ([500], 5) if args.quick else (args.sizes, args.seeds)
    for n in sizes:
        for family in args.families:
            for name in TASKS[family][: 2 if args.quick else None]:
                if family == "series":
                    todo_series = [s for s in range(seeds) if (name, n, s, SERIES_ESTIMATOR) not in done]
                    with path.open("a") as f:
                        for seed in todo_series:
                            f.write(json.dumps(stamped(series_row(name, n, seed))) + "\n")
                    print(f"N = {n}, {name}: done", flush=True)
                    continue
                task = get_exact_task(name)
                for seed in range(seeds):
                    todo = {k: e for k, e in estimators(task).items() if (name, n, seed, k) not in done}
                    rows = (
                        [] if args.auto_only else [measure_row(task, n, seed, k, e) for k, e in todo.items()]
                    )
                    if (name, n, seed, "auto") not in done:
                        rows.append(auto_row(task, n, seed))
                    with path.open("a") as f:
                        for r in rows:
                            f.write(json.dumps(stamped(r | {"family": family})) + "\n")
                print(f"N = {n}, {name}: done", flush=True)
    write_rows(path, read_rows(path, KEY))


def run_config(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """The settings of the run, for ``config.json``. With ``--resume`` into a folder measured at the same
    sizes, seeds and kind, the families are those there and this run's, in :data:`TASKS`' order: the rows
    of both are kept, so the record names both."""
    keys = ("sizes", "seeds", "families", "quick", "auto_only", "copy_rows")
    config = {k: getattr(args, k) for k in keys}
    if args.resume and path.exists():
        before = json.loads(path.read_text(encoding="utf-8"))
        if all(before.get(k) == config[k] for k in keys if k != "families"):
            families = set(before.get("families", [])) | set(config["families"])
            config["families"] = [f for f in TASKS if f in families]
    return config | {"environment": environment()}


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.copy_rows is not None:
        autocheck.COPY_ROWS = args.copy_rows
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "rows.jsonl"
        if not args.table_only:
            write_json(out / "config.json", run_config(args, out / "config.json"))
            measure(args, path)
        elif not path.exists() and out == scratch_for(OUT):  # the committed rows' table, in scratch
            path = OUT / "rows.jsonl"
        rows = read_rows(path, KEY)
    except (OSError, ValueError) as err:
        print(f"calibration.py: error: {err}", file=sys.stderr)
        return 1
    if not rows:
        p.error(f"--table-only: no rows in {path}")
    print(f"writing {out}", flush=True)
    try:
        record, table = tabulate(rows)
    except (KeyError, TypeError, ValueError) as err:
        print(f"calibration.py: error: {path}: a row lacks what the table needs ({err!r})", file=sys.stderr)
        return 1
    record["rows_collected_at"] = args.rows_commit
    env = environment()
    write_json(out / "results.json", {**record, "environment": env})
    made = f"rows measured at {args.rows_commit}; " if args.rows_commit else ""
    table = (
        "# Coverage of the 95% intervals on tasks with exact answers\n\n"
        + table
        + f"\n_Run on {env['machine']}, "
        f"{made}table at commit {str(env['git_commit'])[:7]}, {env['date'][:10]}._\n"
    )
    atomic_write_text(out / "table.md", table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
