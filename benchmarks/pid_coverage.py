"""Coverage of the intervals of :func:`~iblearn.functional.pid_interval` on the PID tasks with known
atoms (:func:`~iblearn.data.tasks.exact_tasks` ``("pid")``): for each task, redundancy measure, N and
part, the share of seeds whose interval holds the exact atom, with the mean estimate, its bias and the
median width. Run by ``python -m benchmarks.pid --coverage`` (see there), written to coverage.json.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from iblearn.data.tasks import exact_tasks
from iblearn.functional import pid_interval

PARTS = ("redundancy", "unique_1", "unique_2", "synergy")
#: The tasks and measures measured: the discrete ones by every measure of two sources but I_min (whose
#: interval is MMI's kind), the Gaussian ones by the measures with a Gaussian estimator from samples.
TASKS = (
    "pid-xor",
    "pid-and",
    "pid-noisy-and",
    "pid-unq",
    "pid-copy",
    "pid-gauss-sum",
    "pid-gauss-2d-sources",
)
TABLE_MEASURES = ("mmi", "broja", "ccs", "dep", "sx")
GAUSSIAN_MEASURES = ("mmi", "broja")
#: A coverage is reliable in this band (the goal for a 95% interval).
GOAL = (0.90, 0.98)


def _measures(task: Any) -> tuple[str, ...]:
    return TABLE_MEASURES if task.labels else GAUSSIAN_MEASURES


def coverage_rows(ns: tuple[int, ...], seeds: int, n_resamples: int) -> list[dict[str, Any]]:
    """One row per (task, measure, N, part)."""
    tasks = [t for t in exact_tasks("pid") if t.name in TASKS]
    rows = []
    for task in tasks:
        method = None if task.labels else "gaussian"
        for n in ns:
            got: dict[str, list[Any]] = {m: [] for m in _measures(task)}
            start = time.process_time()
            for seed in range(seeds):
                data = task.sample(n, seed)
                for m in got:
                    got[m].append(
                        pid_interval(*data, redundancy=m, method=method, n_resamples=n_resamples, seed=seed)  # type: ignore[arg-type]
                    )
            spent = time.process_time() - start
            for m, draws in got.items():
                truth = task.options["atoms"][m]
                for j, part in enumerate(PARTS):
                    vals = [d[part] for d in draws]
                    hits = [v.low <= truth[j] <= v.high for v in vals]
                    rows.append(
                        {
                            "task": task.name,
                            "measure": m,
                            "n": n,
                            "part": part,
                            "truth": truth[j],
                            "seeds": seeds,
                            "coverage": float(np.mean(hits)),
                            "mean_estimate": float(np.mean([v.value for v in vals])),
                            "bias": float(np.mean([v.value for v in vals]) - truth[j]),
                            "mean_stderr": float(np.mean([v.stderr for v in vals])),
                            "median_width": float(statistics.median(v.high - v.low for v in vals)),
                            "cpu_s_all_measures": spent,
                        }
                    )
    return rows


def render_coverage(record: dict[str, Any]) -> str:
    """coverage.md: the coverage table of record's rows."""
    cfg = record["config"]
    lo, hi = GOAL
    lines = [
        f"Coverage of `pid_interval` ({cfg['n_resamples']} half-samples, 95%) over {cfg['seeds']} seeds; "
        f"in bold where outside {lo:.0%}-{hi:.0%}. Columns: redundancy / unique 1 / unique 2 / synergy.",
        "",
        "| task | measure | " + " | ".join(f"N = {n}" for n in cfg["ns"]) + " |",
        "|---|---|" + "---|" * len(cfg["ns"]),
    ]
    keys = dict.fromkeys((r["task"], r["measure"]) for r in record["rows"])
    for task, m in keys:
        cells = []
        for n in cfg["ns"]:
            parts = {
                r["part"]: r["coverage"]
                for r in record["rows"]
                if (r["task"], r["measure"], r["n"]) == (task, m, n)
            }
            cells.append(
                " / ".join(f"{v:.0%}" if lo <= v <= hi else f"**{v:.0%}**" for v in (parts[p] for p in PARTS))
            )
        lines.append(f"| {task} | `{m}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
