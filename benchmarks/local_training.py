"""Time per epoch and memory per step of greedy, gradient-isolated training (MOLE, layer-wise IB)
against end-to-end backpropagation of the same network, in one run.

    python benchmarks/local_training.py [--device cuda]

Writes benchmarks/results/local_training_<device>.json and .md.
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

from benchmarks.runners.local import local_table, run_local
from iblearn.records import environment, write_json

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = run_local(device=args.device)
    table = local_table(results)
    out = Path(args.results)
    write_json(out / f"local_training_{args.device}.json", {"results": results, "environment": environment()})
    (out / f"local_training_{args.device}.md").write_text(table, encoding="utf-8")
    print(table)
