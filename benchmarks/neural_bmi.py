"""iblearn's neural estimators on benchmark-mi's tasks (Czyz et al. 2023, "Beyond Normal"), as a new
user would run them: ``MINE(dx, dy).fit(x, y, steps=3000)`` on the first 8,000 samples, the estimate
on the other 2,000.

The samples come from benchmark-mi, which needs numpy<2 and jax (the ``bench`` extra), so they are
drawn once by ``--draw`` in an environment that has it and saved as ``.npy``; the estimators then run
in iblearn's own. Run::

    python benchmarks/neural_bmi.py --draw DIR TASK...      # with benchmark-mi installed
    python benchmarks/neural_bmi.py DIR [--method mine infonce] [--out results.json] [-- KEY=VALUE ...]

``--set KEY=VALUE`` goes to every estimator's constructor (``lr=1e-4``, ``hidden=[64,64]``),
``--fit KEY=VALUE`` to ``fit``. ``DIR`` may also be a folder of ``benchmarks/bmi_suite.py draw``
(``TASK.sSEED.x.npy``; ``--seed`` picks the seed); then ``--tasks`` names the tasks to run (default:
all). ``--ranks``: each column through its normal scores on the 8,000 training rows
(:func:`iblearn.estimation.split.normal_scores`) before fitting, the held-out rows through the same
map. ``--one-call MODE``: ``estimate_mi(x, y, method, standardize=MODE)`` on all rows (its own split)
instead of ``fit`` and ``est``. ``--grid`` runs every combination of the ``--set`` values given as
lists of alternatives (``--set "hidden=[(256,256),(64,64)]" --grid``), recording it in each row.
"""

from __future__ import annotations

import argparse
import ast
import itertools
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


def load(folder: Path, name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    stem = folder / f"{name}.s{seed}"
    if not Path(f"{stem}.x.npy").exists():
        stem = folder / name
    return np.load(f"{stem}.x.npy"), np.load(f"{stem}.y.npy")


def run(
    folder: Path,
    methods: list[str],
    settings: dict[str, Any],
    steps: int,
    fit: dict[str, Any],
    *,
    tasks: list[str] | None = None,
    seed: int = 0,
    ranks: bool = False,
    one_call: str | None = None,
) -> list[dict]:
    import torch

    from iblearn import estimate_mi
    from iblearn.estimation.split import measured, normal_scores
    from iblearn.estimators import get_estimator

    torch.set_num_threads(1)
    truth = json.loads((folder / "truth.json").read_text())
    rows = []
    for name, mi in truth.items():
        if tasks and name not in tasks:
            continue
        mi = mi["mi"] if isinstance(mi, dict) else mi
        x, y = (torch.from_numpy(a) for a in load(folder, name, seed))
        if ranks:
            x, y = normal_scores(x, x[:8000]), normal_scores(y, y[:8000])
        for method in methods:
            est = get_estimator(method, x_dim=x.shape[1], y_dim=y.shape[1], **settings)
            start = time.perf_counter()
            try:
                if one_call:
                    result = estimate_mi(
                        x, y, method, steps=steps, n_resamples=0, standardize=one_call, **settings
                    )
                else:
                    est.fit(x[:8000], y[:8000], steps=steps, **fit)
                    result = measured(est, (x[8000:], y[8000:]))
                value, reliable = float(result), result.reliable
            except Exception as error:  # a diverged critic is a result too
                value, reliable = float("nan"), False
                print(f"{name} {method}: {error}")
            seconds = time.perf_counter() - start
            row = {
                "settings": {k: str(v) for k, v in settings.items()},
                "ranks": ranks,
                "one_call": one_call,
                "seed": seed,
                "reliable": reliable,
                "task": name,
                "truth": mi,
                "method": method,
                "estimate": value,
                "seconds": seconds,
                "steps_done": None if one_call else int(est.steps_done),
            }
            rows.append(row)
            print(
                f"{name:42s} {mi:6.3f} {method:8s} {value:9.3f} {seconds:6.1f} s {row['steps_done']} steps "
                f"{row['settings']} ranks={ranks}",
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ranks", action="store_true")
    parser.add_argument("--grid", action="store_true")
    parser.add_argument(
        "--one-call",
        choices=("moments", "ranks", "none"),
        help="estimate_mi(x, y, method, standardize=...) on all rows instead of fit / est",
    )
    args = parser.parse_args()
    if args.draw:
        draw(args.folder, args.tasks)
        return

    def pairs(items: list[str]) -> dict[str, Any]:
        return {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in items)}

    combos = [pairs(args.set)]
    if args.grid:
        options = pairs(args.set)
        combos = [dict(zip(options, c, strict=True)) for c in itertools.product(*options.values())]
    rows = []
    for settings in combos:
        rows += run(
            args.folder,
            args.method,
            settings,
            args.steps,
            pairs(args.fit),
            tasks=args.tasks,
            seed=args.seed,
            ranks=args.ranks,
            one_call=args.one_call,
        )
        if args.out:  # after every combination: a killed grid keeps what it measured
            record = {"settings": args.set, "fit": args.fit, "grid": args.grid, "rows": rows}
            args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
