"""Fig. 3's task of Han et al. (2023) with PyTorch's default initialization (the experiment draws N(0, 1)).

``iblearn reproduce proximal`` trains the binary task (600 points, four sigmoid layers of 8, full batch,
SGD at alpha 0.1) with every weight drawn from N(0, 1) and every bias 0; the paper gives no
initialization. This runs the paper's baseline (SGD at 0.1) and ProximalSplit's kept reading at gamma
100 exactly as the experiment does (``run_binary``), with the layers as PyTorch initializes them, for
20,000 full-batch iterations on seeds 0 - 2, and records each run's final and best training accuracy
and the iteration it first reached 95% (none where it never did)::

    python benchmarks/proximal_default_init.py

Writes ``proximal_default_init.json`` (rows, settings, environment) and ``proximal_default_init.md``
under ``benchmarks/results/``.
"""

from __future__ import annotations

import math
import time
from functools import partial

import torch
import torch.nn.functional as F

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from benchmarks.runners.script import cpu_model, parser, write
from iblearn.experiments.proximal import binary_data, stability
from iblearn.experiments.proximal.config import BINARY_ALPHA, BINARY_BETA, Config, binary_methods
from iblearn.experiments.proximal.step import build_optimizer, make_closure, train_step
from iblearn.models.proximal import binary_mlp

ITERATIONS = 20_000
SEEDS = (0, 1, 2)
METHODS = ("baseline lr=0.1", "ours gamma=100")


def run(method_name: str, seed: int) -> dict[str, object]:
    """One run of ``run_binary``'s loop, less its N(0, 1) initialization."""
    (method,) = [m for m in binary_methods(Config()) if m.name == method_name]
    x, y = binary_data(seed)
    torch.manual_seed(seed)
    f, g = binary_mlp()
    opt = build_optimizer(method, f, g, "SGD", (BINARY_ALPHA, BINARY_BETA, 100.0), Config().lam)
    seen: dict[str, torch.Tensor] = {}
    closure = make_closure(f, g, x, partial(F.mse_loss, target=y), seen)
    accuracy: list[float] = []
    start = time.perf_counter()
    loss = math.nan
    for _ in range(ITERATIONS):
        loss = train_step(opt, closure)
        accuracy.append(float(((seen["out"] > 0.5).float() == y).float().mean()) * 100)
        if not math.isfinite(loss):
            break
    reached = stability(accuracy)["iterations_to_95"]
    return {
        "method": method_name,
        "seed": seed,
        "iterations": len(accuracy),
        "final_loss": loss,
        "final_acc": accuracy[-1],
        "best_acc": max(accuracy),
        "iterations_to_95": reached if reached != "" else None,
        "seconds": time.perf_counter() - start,
    }


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "# Fig. 3's task with PyTorch's default initialization (Han et al. 2023)",
        "",
        f"SGD at alpha {BINARY_ALPHA:g}, full batch, {ITERATIONS:,} iterations; one row a seed.",
        "",
        "| method | seed | final accuracy % | best accuracy % | iterations to 95% | final MSE |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        reached = "-" if r["iterations_to_95"] is None else f"{r['iterations_to_95']:,}"
        lines.append(
            f"| {r['method']} | {r['seed']} | {r['final_acc']:.1f} | {r['best_acc']:.1f} | {reached} "
            f"| {r['final_loss']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parser(__doc__).parse_args()
    torch.set_num_threads(1)
    rows = [run(method, seed) for method in METHODS for seed in SEEDS]
    settings = {
        "iterations": ITERATIONS,
        "seeds": list(SEEDS),
        "methods": list(METHODS),
        "alpha": BINARY_ALPHA,
        "beta": BINARY_BETA,
        "initialization": "PyTorch's default (nn.Linear), not the experiment's N(0, 1)",
        "cpu": cpu_model(),
    }
    write(args.results, "proximal_default_init", {"settings": settings, "rows": rows}, table(rows))


if __name__ == "__main__":
    main()
