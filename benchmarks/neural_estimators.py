"""iblearn's MINE, NWJ, JS and InfoNCE against torch-mist's: same critic size, batch, steps, learning
rate and batches; 3 seeds; RMSE against the closed-form MI and training steps per second.

    python benchmarks/neural_estimators.py [--quick] [--estimators mine,nwj,js] [--tasks NAME,...] [--seeds N]

Writes benchmarks/results/neural_estimators.json and .md. Needs the bench extra (torch-mist).
With --estimators or --tasks, only those are run again; the others' rows are kept from the results file.
A run with other --seeds belongs in its own --results folder (rows merge by task, estimator and seed).

    python benchmarks/neural_estimators.py --merge DIR,DIR --results OUT [--seeds N]

summarizes the rows of earlier runs (only seeds below N, where given) into OUT, without training.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

from pathlib import Path

from benchmarks.runners import bench_neural, merge_neural
from benchmarks.runners.script import parser

if __name__ == "__main__":
    arguments = parser(__doc__)
    arguments.add_argument("--quick", action="store_true", help="two tasks, one seed, 300 steps")
    arguments.add_argument("--estimators", default="", help="comma-separated subset of mine,nwj,js,infonce")
    arguments.add_argument("--tasks", default="", help="comma-separated subset of the tasks")
    arguments.add_argument("--seeds", type=int, default=None, help="seeds per (task, estimator); default 3")
    arguments.add_argument("--merge", default="", help="comma-separated results folders to summarize as one")
    args = arguments.parse_args()
    if args.merge:
        sources = [Path(d) for d in args.merge.split(",") if d]
        print(merge_neural(sources, Path(args.results), seeds=args.seeds))
        raise SystemExit
    table = bench_neural(
        Path(args.results),
        quick=args.quick,
        estimators=tuple(k for k in args.estimators.split(",") if k),
        tasks=tuple(t for t in args.tasks.split(",") if t),
        seeds=args.seeds,
        progress=lambda m: print(m, flush=True),
    )
    print(table)
