"""Accuracy of iblearn's estimators and their peers against the closed-form MI of the synthetic tasks:
N = 1,000, 5,000 and 10,000, 5 seeds; mean, sd, bias and time per (task, method, N).

    python benchmarks/estimators_accuracy.py [--quick] [--restart]

Resumable: rows already in benchmarks/results/estimators_accuracy/metrics.csv are kept, so a killed run
continues where it stopped. Writes table.md, results.json and accuracy.png beside them.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

from pathlib import Path

from benchmarks.runners import bench_accuracy
from benchmarks.runners.script import parser

if __name__ == "__main__":
    arguments = parser(__doc__)
    arguments.add_argument("--quick", action="store_true", help="N = 1,000 and 2 seeds")
    arguments.add_argument("--restart", action="store_true", help="discard earlier rows")
    args = arguments.parse_args()
    print(
        bench_accuracy(
            Path(args.results),
            quick=args.quick,
            resume=not args.restart,
            progress=lambda message: print(message, flush=True),
        )
    )
