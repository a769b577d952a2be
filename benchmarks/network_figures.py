"""The network guide's figures.

    python benchmarks/network_figures.py [--nodes 10] [--samples 2000] [--seed 0]

- ``network_inferred.png``: a random sparse VAR network (:func:`iblearn.network.simulate.
  random_var_network`, one coupling through the source's square) drawn beside the network
  ``infer_network`` finds in its samples (``--method``, Gaussian by default; lags 1 - 3, 200
  surrogates, alpha 0.05):
  found true edges black, false ones red, missed ones dashed grey.
- ``network_local_te.png``: the local transfer entropy (Lizier et al. 2008, eq. 9) of a coupling that
  switches on and off in blocks, its running mean over a window, with the blocks where it is on shaded.

Both are written next to docs/guide/network.md, with the points of each and the run's provenance in
``benchmarks/results/network/figures.json``.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from benchmarks.runners import script
from iblearn.network import infer_network, transfer_entropy
from iblearn.network.simulate import random_var_network
from iblearn.records import environment

ROOT = Path(__file__).resolve().parents[1]
#: The switching coupling: blocks of this many samples, on and off in turn, starting on.
BLOCK = 1000
WINDOW = 200


def draw(ax: Any, n: int, edges: set[tuple[int, int]], styles: dict[tuple[int, int], dict[str, Any]]) -> None:
    """``edges`` of ``n`` processes on a circle, each ``(source, target)`` in its style."""
    angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    for s, t in sorted(edges):
        ax.annotate(
            "",
            xy=xy[t],
            xytext=xy[s],
            arrowprops={"arrowstyle": "-|>", "shrinkA": 11, "shrinkB": 11, "connectionstyle": "arc3,rad=0.12"}
            | styles[s, t],
        )
    for i, (px, py) in enumerate(xy):
        ax.scatter([px], [py], s=320, color="white", edgecolor="black", zorder=3)
        ax.text(px, py, str(i), ha="center", va="center", fontsize=9, zorder=4)
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")


def save(fig: Any, out: Path) -> None:
    """``fig`` as the PNG ``out``, closed."""
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def network_figure(nodes: int, samples: int, seed: int, method: str, out: Path) -> dict[str, Any]:
    """The true and the inferred network side by side; the pairs of each."""
    net = random_var_network(nodes, samples, seed=seed, nonlinear=1)
    result = infer_network(net.data, max_lag=3, method=method, n_permutations=200, alpha=0.05, seed=seed)
    truth = {(s, t) for s, t, _ in net.edges}
    found = {(s, t) for s, t, _ in result.edges}
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 4.2))
    draw(left, nodes, truth, {e: {"color": "black"} for e in truth})
    left.set_title("true network")
    styles = {e: {"color": "black" if e in truth else "crimson"} for e in found}
    styles |= {e: {"color": "grey", "linestyle": "--"} for e in truth - found}
    draw(right, nodes, found | truth, styles)
    hits = len(found & truth)
    right.set_title(f"inferred ({method}): {hits} of {len(truth)} found, {len(found - truth)} false")
    save(fig, out)
    return {
        "nodes": nodes,
        "samples": samples,
        "seed": seed,
        "method": method,
        "true": sorted(truth),
        "found": sorted(found),
        "edges": [list(e) for e in result.edges],
    }


def switching(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x white noise; y its own memory plus x one step back in the blocks where the coupling is on."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(samples)
    on = (np.arange(samples) // BLOCK) % 2 == 0
    y = np.zeros(samples)
    for t in range(1, samples):
        y[t] = 0.4 * y[t - 1] + 0.8 * on[t] * x[t - 1] + 0.6 * rng.standard_normal()
    return x, y, on


def local_te_figure(samples: int, seed: int, out: Path) -> dict[str, Any]:
    """The local TE of the switching coupling and its running mean; the mean where on and where off."""
    x, y, on = switching(samples, seed)
    local = transfer_entropy(x, y, lag=1, history=1, method="ksg", local=True).numpy()
    t = np.arange(1, samples)
    smooth = np.convolve(local, np.ones(WINDOW) / WINDOW, mode="same")
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    for start in range(0, samples, 2 * BLOCK):
        ax.axvspan(start, min(start + BLOCK, samples), color="tab:orange", alpha=0.15, lw=0)
    ax.plot(t, local, lw=0.3, color="grey", label="local TE")
    ax.plot(t, smooth, lw=1.6, color="black", label=f"running mean ({WINDOW} samples)")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("time (samples); shaded: coupling on")
    ax.set_ylabel("TE x -> y (nats)")
    ax.set_ylim(np.quantile(local, 0.005), np.quantile(local, 0.995))
    ax.legend(loc="upper right", fontsize=8)
    save(fig, out)
    return {
        "samples": samples,
        "seed": seed,
        "block": BLOCK,
        "mean_on": float(local[on[1:]].mean()),
        "mean_off": float(local[~on[1:]].mean()),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=script.positive_int, default=10)
    parser.add_argument("--samples", type=script.positive_int, default=2000)
    parser.add_argument("--switching-samples", type=script.positive_int, default=6 * BLOCK)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", choices=("gaussian", "copula", "ksg"), default="gaussian")
    parser.add_output(ROOT / "docs" / "guide", "--out")
    parser.add_output(ROOT / "benchmarks" / "results" / "network" / "figures.json", "--points")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment()
    points = {
        "provenance": {k: env[k] for k in ("git_commit", "date", "machine")},
        "network": network_figure(
            args.nodes, args.samples, args.seed, args.method, args.out / "network_inferred.png"
        ),
        "local_te": local_te_figure(args.switching_samples, args.seed, args.out / "network_local_te.png"),
    }
    args.points.parent.mkdir(parents=True, exist_ok=True)
    args.points.write_text(json.dumps(points, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: {n: v for n, v in p.items() if n != "edges"} for k, p in points.items()}))
    return points


if __name__ == "__main__":
    main()
