"""Time per epoch and memory per step of greedy, gradient-isolated training (MOLE, layer-wise IB)
against end-to-end backpropagation of the same network, in one run.

    python benchmarks/local_training.py [--device cuda]

Writes benchmarks/results/local_training_<device>.json and .md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.local import local_table, run_local
from benchmarks.runners.script import time_on_device

if __name__ == "__main__":
    time_on_device(__doc__, "local_training", run_local, local_table)
