"""iblearn's neural estimators on benchmark-mi's tasks (Czyz et al. 2023, "Beyond Normal"), as a new
user would run them: ``MINE(dx, dy).fit(x, y, steps=3000)`` on the first 8,000 samples, the estimate
on the other 2,000 (issue 26).

The samples come from benchmark-mi, which needs numpy<2 and jax (the ``bench`` extra), so they are
drawn once by ``--draw`` in an environment that has it and saved as ``.npy``; the estimators then run
in iblearn's own. Run::

    python benchmarks/neural_bmi.py --draw DIR TASK...      # with benchmark-mi installed
    python benchmarks/neural_bmi.py DIR [--method mine infonce] [--out results.json] [-- KEY=VALUE ...]

Settings after ``--`` go to every estimator's constructor (``lr=1e-4``, ``hidden=[64,64]``).
"""

from __future__ import annotations

import argparse
import ast
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def draw(folder: Path, tasks: list[str], n: int = 10_000, seed: int = 0) -> None:
    """Samples of ``tasks`` from benchmark-mi, with their true MI in ``truth.json``."""
    import bmi

    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for name in tasks:
        task = bmi.benchmark.BENCHMARK_TASKS[name]
        x, y = task.sample(n, seed=seed)
        np.save(folder / f"{name}.x.npy", np.asarray(x, dtype=np.float32))
        np.save(folder / f"{name}.y.npy", np.asarray(y, dtype=np.float32))
        truth[name] = float(task.mutual_information)
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))


def run(
    folder: Path, methods: list[str], settings: dict[str, Any], steps: int, fit: dict[str, Any]
) -> list[dict]:
    import torch

    from iblearn.estimators import get_estimator

    torch.set_num_threads(1)
    truth = json.loads((folder / "truth.json").read_text())
    rows = []
    for name, mi in truth.items():
        x = torch.from_numpy(np.load(folder / f"{name}.x.npy"))
        y = torch.from_numpy(np.load(folder / f"{name}.y.npy"))
        for method in methods:
            est = get_estimator(method, x_dim=x.shape[1], y_dim=y.shape[1], **settings)
            start = time.perf_counter()
            try:
                est.fit(x[:8000], y[:8000], steps=steps, **fit)
                value = float(est(x[8000:], y[8000:]))
            except Exception as error:  # a diverged critic is a result too
                value = float("nan")
                print(f"{name} {method}: {error}")
            seconds = time.perf_counter() - start
            row = {
                "task": name,
                "truth": mi,
                "method": method,
                "estimate": value,
                "seconds": seconds,
                "steps_done": int(est.steps_done),
            }
            rows.append(row)
            print(
                f"{name:42s} {mi:6.3f} {method:8s} {value:9.3f} {seconds:6.1f} s {row['steps_done']} steps",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("tasks", nargs="*")
    parser.add_argument("--draw", action="store_true", help="draw the tasks' samples with benchmark-mi")
    parser.add_argument("--method", nargs="+", default=["mine", "infonce"])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--fit", action="append", default=[], help="KEY=VALUE for fit()")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE for the constructor")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.draw:
        draw(args.folder, args.tasks)
        return

    def pairs(items: list[str]) -> dict[str, Any]:
        return {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in items)}

    rows = run(args.folder, args.method, pairs(args.set), args.steps, pairs(args.fit))
    if args.out:
        args.out.write_text(json.dumps({"settings": args.set, "fit": args.fit, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
