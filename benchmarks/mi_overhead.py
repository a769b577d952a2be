"""MIDecayLR's per-epoch MI measurement as a share of the MNIST LeNet epoch (Vasudevan's (2020) setting).

    python benchmarks/mi_overhead.py [--threads 1]

Writes benchmarks/results/mi_overhead.json and .md.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.mi_overhead import mi_overhead_table, run_mi_overhead
from benchmarks.runners.script import parser, write

if __name__ == "__main__":
    args = parser(__doc__, threads=True).parse_args()
    torch.set_num_threads(args.threads)
    result = run_mi_overhead()
    write(args.results, "mi_overhead", {**result, "threads": args.threads}, mi_overhead_table(result))
