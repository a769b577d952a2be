"""Speed of iblearn's estimators against scikit-learn, NPEET and bmi on identical inputs, single thread.

    python benchmarks/estimators_speed.py [--quick]

Writes benchmarks/results/estimators_speed.json and .md and prints the table. Needs the bench extra
(`make bench` installs it).
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

from pathlib import Path

from benchmarks.runners import bench_speed
from benchmarks.runners.script import parser

if __name__ == "__main__":
    arguments = parser(__doc__)
    arguments.add_argument("--quick", action="store_true", help="N = 2,000 instead of 10,000")
    args = arguments.parse_args()
    print(bench_speed(Path(args.results), quick=args.quick))
