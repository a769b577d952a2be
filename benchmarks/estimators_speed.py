"""Speed of iblearn's estimators against scikit-learn, NPEET and bmi on identical inputs, single thread.

    python benchmarks/estimators_speed.py [--quick]

Writes benchmarks/results/estimators_speed.json and .md and prints the table. Needs the bench extra
(`make bench` installs it).
"""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # before numpy is imported: one thread for every method

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners import bench_speed  # noqa: E402
from benchmarks.runners.script import parser  # noqa: E402

if __name__ == "__main__":
    arguments = parser(__doc__)
    arguments.add_argument("--quick", action="store_true", help="N = 2,000 instead of 10,000")
    args = arguments.parse_args()
    print(bench_speed(Path(args.results), quick=args.quick))
