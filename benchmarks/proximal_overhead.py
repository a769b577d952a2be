"""Time and memory per step of ProximalSplit against the plain inner optimizer (same model and batch),
bottleneck after the first block, in the middle and near the output.

    python benchmarks/proximal_overhead.py [--device cuda]

Writes benchmarks/results/proximal_overhead.json and .md.
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.proximal import overhead_table, run_overhead
from iblearn.records import environment, write_json

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = run_overhead(device=args.device)
    table = overhead_table(results)
    out = Path(args.results)
    write_json(
        out / f"proximal_overhead_{args.device}.json", {"results": results, "environment": environment()}
    )
    (out / f"proximal_overhead_{args.device}.md").write_text(table, encoding="utf-8")
    print(table)
