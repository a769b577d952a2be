"""Time and memory per step of ProximalSplit against the plain inner optimizer (same model and batch),
bottleneck after the first block, in the middle and near the output.

    python benchmarks/proximal_overhead.py [--device cuda]

Writes benchmarks/results/proximal_overhead.json and .md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.proximal import overhead_table, run_overhead
from benchmarks.runners.script import time_on_device

if __name__ == "__main__":
    time_on_device(__doc__, "proximal_overhead", run_overhead, overhead_table)
