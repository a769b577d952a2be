"""MINDE-C on 10 x 10 Gaussians of known MI: two pairs (x_i, y_i) correlated so
that the MI is 1 and 4 nats, the other 8 + 8 coordinates noise. Prints the estimate, the truth and the
error per task; one torch thread. ``--out`` also writes the rows as JSON (atomically, after each task).

    python benchmarks/minde_gaussian.py --steps 1500 --rows 4000 --seed 0
    python benchmarks/minde_gaussian.py --steps 20000 --rows 40000 --lr 2e-3 --average 0.999 \
        --patience 1000 --seed 0 --out r.json
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from iblearn.data import sparse_gaussian
from iblearn.estimators import MINDE
from iblearn.records import atomic_write_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--rows", type=int, default=4000, help="rows to fit (1,000 more to estimate)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--nats", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--average", type=float, help="weight average (EMA) of the network, as the authors'")
    parser.add_argument("--patience", type=int, default=4, help="held-out checks without gain, then stop")
    parser.add_argument("--out", help="also write the rows here as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for nats in args.nats:
        rho = math.sqrt(1 - math.exp(-nats))  # two pairs of nats / 2 each
        task = sparse_gaussian(10, 2, rho)
        x, y = (t.float() for t in task.sample(args.rows + 1000, seed=args.seed))
        start = time.perf_counter()
        est = MINDE(
            10, 10, lr=args.lr, eval_every=100, patience=args.patience, seed=args.seed, average=args.average
        )
        est.fit(x[: args.rows], y[: args.rows], steps=args.steps)
        seconds = time.perf_counter() - start
        value, done = float(est(x[args.rows :], y[args.rows :])), int(est.steps_done)
        truth = task.mutual_information
        best = est.history.best_step if est.history else None
        print(
            f"10x10, 2 pairs, truth {truth:.3f} nats: MINDE-C {value:.3f} (error {value - truth:+.3f}); "
            f"{done} of {args.steps} steps, best at {best}, fit {seconds:.0f} s",
            flush=True,
        )
        rows.append({"truth": truth, "estimate": value, "steps": done, "best_step": best, "seconds": seconds})
        if args.out:
            atomic_write_text(args.out, json.dumps({"settings": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
