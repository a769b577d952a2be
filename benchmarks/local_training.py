"""Time per epoch and memory per step of greedy, gradient-isolated training (MOLE, layer-wise IB)
against end-to-end backpropagation of the same network, in one run.

    python benchmarks/local_training.py [--device cuda]

Writes benchmarks/results/local_training_<device>.json and .md.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.local import local_table, run_local
from benchmarks.runners.script import parser, write

if __name__ == "__main__":
    args = parser(__doc__, threads=True, device=True).parse_args()
    torch.set_num_threads(args.threads)
    results = run_local(device=args.device)
    write(args.results, f"local_training_{args.device}", {"results": results}, local_table(results))
