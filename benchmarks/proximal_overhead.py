"""Time and memory per step of ProximalSplit against the plain inner optimizer (same model and batch),
bottleneck after the first block, in the middle and near the output.

    python benchmarks/proximal_overhead.py [--device cuda]

Writes benchmarks/results/proximal_overhead.json and .md.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.proximal import overhead_table, run_overhead
from benchmarks.runners.script import parser, write

if __name__ == "__main__":
    args = parser(__doc__, threads=True, device=True).parse_args()
    torch.set_num_threads(args.threads)
    results = run_overhead(device=args.device)
    write(args.results, f"proximal_overhead_{args.device}", {"results": results}, overhead_table(results))
