"""Whether KSG's per-row terms give its standard error: the floor under the automatic MI estimate's
standard error where it chooses KSG (the standard deviation of the per-row terms over sqrt(N),
docs/guide/auto.md), against KSG's own spread over seeds, on tasks with exact answers.

For each task and N, on ``--seeds`` draws: KSG (k = 3) on the normal scores of the rows, as the
automatic estimate runs it, with its per-row terms from the same count (``ksg_mi(..., local=True)``);
the spread of the estimates over the draws, the mean of the terms' figure, and their ratio, with the
90% range the draws allow it (the spread's chi-square range over ``seeds - 1`` degrees of freedom). A
floor that reads below the spread (a ratio under 1) holds the standard error where the four halves
read low on a draw and leaves the draws where they read as they should; one above it would widen
every interval it holds.
The terms of neighbouring rows share their counts, so the figure of independent terms need not be
the spread.

    python benchmarks/terms_floor.py --write-results   # benchmarks/results/terms_floor/
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import math
import statistics
from pathlib import Path
from typing import Any

import torch
from scipy import stats

from benchmarks.runners import script
from iblearn.data import get_exact_task
from iblearn.functional import ksg_mi
from iblearn.functional.multivariate.inputs import copula_normal
from iblearn.records import environment, write_json

OUT = Path(__file__).parent / "results" / "terms_floor"
#: One column a side (the ranks give the order), and several (or a point mass: searched in full).
TASKS = (
    "bivariate-normal-0.75",
    "bivariate-normal-0.99",
    "sign-mixture-1x1",
    "additive-uniform-0.1",
    "zero-inflated-1x1",
    "2-pair-gaussian-3x3",
    "sign-mixture-3x3",
    "zero-inflated-3x3",
    "student-t-2x2-dof1",
)
K = 3
#: The code behind the figures (``sources.json``, read by the docs' ``changed_since``).
SOURCES = [
    "benchmarks/terms_floor.py",
    "src/iblearn/data/tasks",
    "src/iblearn/functional/knn",
    "src/iblearn/functional/multivariate/inputs.py",
    "src/iblearn/functional/scale.py",
]


def cell(name: str, n: int, seeds: int) -> dict[str, Any]:
    """The spread of KSG's estimate over ``seeds`` draws of ``n`` rows of the task ``name`` against the
    mean of its per-row terms' standard deviation over sqrt(N)."""
    task = get_exact_task(name)
    values, floors = [], []
    for seed in range(seeds):
        x, y = task.sample(n, seed=seed)[:2]
        sx, sy = (copula_normal(torch.as_tensor(t).reshape(n, -1).double()) for t in (x, y))
        terms = ksg_mi(sx, sy, K, seed=seed, local=True)
        values.append(float(terms.mean()))
        floors.append(float(terms.std()) / math.sqrt(n))
    spread, floor = statistics.stdev(values), statistics.fmean(floors)
    dof = seeds - 1
    low, high = (spread * math.sqrt(dof / stats.chi2.ppf(q, dof)) for q in (0.95, 0.05))
    return {
        "task": name,
        "n": n,
        "dims": list(task.dims),
        "seeds": seeds,
        "truth": task.truth,
        "mean": statistics.fmean(values),
        "spread": spread,
        "floor": floor,
        "ratio": floor / spread,
        "ratio_range": [floor / high, floor / low],
    }


def table(cells: list[dict[str, Any]]) -> str:
    lines = [
        "| task | N | spread over seeds | terms' figure (mean) | ratio | its 90% range |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        lo, hi = c["ratio_range"]
        lines.append(
            f"| {c['task']} | {c['n']:,} | {c['spread']:.4g} | {c['floor']:.4g} | {c['ratio']:.2f} | "
            f"{lo:.2f} - {hi:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = script.Parser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=script.positive_int, nargs="+", default=[1000, 5000, 20000])
    p.add_argument("--seeds", type=script.positive_int, default=100)
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    p.add_output(OUT)
    args = p.parse_args(argv)
    if args.seeds < 3:
        p.error(f"--seeds: a spread needs at least 3 draws, got {args.seeds}")
    torch.set_num_threads(1)
    cells = []
    for name in args.tasks:
        for n in args.sizes:
            cells.append(cell(name, n, args.seeds))
            c = cells[-1]
            print(f"{name}, N = {n}: ratio {c['ratio']:.2f}", flush=True)
    config = {"sizes": args.sizes, "seeds": args.seeds, "tasks": args.tasks, "k": K}
    out = Path(args.out)
    script.write_folder(out, {"config": config, "cells": cells, "environment": environment()}, table(cells))
    write_json(out / "sources.json", SOURCES)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
