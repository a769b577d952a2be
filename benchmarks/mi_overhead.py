"""MIDecayLR's per-epoch MI measurement as a share of the MNIST LeNet epoch (paper 004's setting).

    python benchmarks/mi_overhead.py [--threads 1]

Writes benchmarks/results/mi_overhead.json and .md.
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.mi_overhead import mi_overhead_table, run_mi_overhead
from iblearn.records import environment, write_json

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = run_mi_overhead()
    table = mi_overhead_table(result)
    write_json(
        Path(args.results) / "mi_overhead.json",
        {**result, "threads": args.threads, "environment": environment()},
    )
    (Path(args.results) / "mi_overhead.md").write_text(table, encoding="utf-8")
    print(table)
