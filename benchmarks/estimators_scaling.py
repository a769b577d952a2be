"""How the kNN estimators' cost grows with N: iblearn against a plain cKDTree KSG, NPEET and
scikit-learn (1-D), N = 1,000 to 1,000,000, side by side in one run.

    python benchmarks/estimators_scaling.py [--quick] [--threads 2] [--budget 300]

Writes benchmarks/results/estimators_scaling.json, .md and .png (time against N, log-log) and prints
the table. At each N the methods run one after the other (best of 3 below N = 30,000, once above);
a peer whose time, extrapolated as N^1.5 from its last, would pass ``--budget`` seconds is not run
at the larger N (the plain tree KSG takes minutes at 100,000). Peers come from the ``bench`` extra and
are left out where not installed. ``--threads 2`` adds iblearn with two threads beside one.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma

from benchmarks.runners import script
from iblearn import functional as ibf
from iblearn.data import bivariate_normal, dense_gaussian
from iblearn.functional.knn.ksg import prepare
from iblearn.functional.knn.mixed import mixed_counts_brute
from iblearn.functional.knn.neighbors import cdist

SIZES = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000]


def ckdtree_ksg(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """KSG (eq. 8) the plain way: scipy's cKDTree for the joint k-th neighbour and the marginal counts
    (return_length), max-norm; strict counts by shrinking the radius one ulp."""
    n = len(x)
    eps = cKDTree(np.hstack([x, y])).query(np.hstack([x, y]), k=k + 1, p=np.inf)[0][:, k]
    r = np.nextafter(eps, 0)
    nx = cKDTree(x).query_ball_point(x, r, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, r, p=np.inf, return_length=True) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))


def _npeet() -> Callable[[np.ndarray, np.ndarray], float] | None:
    try:
        from npeet_plus import estimators as npeet
    except ImportError:
        return None
    return lambda x, y: float(npeet.mi(x, y, k=3, base=np.e))


def _sklearn() -> Callable[[np.ndarray, np.ndarray], float] | None:
    try:
        from sklearn.feature_selection import mutual_info_regression
    except ImportError:
        return None
    return lambda x, y: float(mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=0)[0])


def _ours(threads: int) -> Callable[[torch.Tensor, torch.Tensor], float]:
    def run(x: torch.Tensor, y: torch.Tensor) -> float:
        saved = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return float(ibf.ksg_mi(x, y, 3))
        finally:
            torch.set_num_threads(saved)

    return run


def single_pass_counts(x: torch.Tensor, lab: torch.Tensor, k_i: torch.Tensor) -> torch.Tensor:
    """MixedKSG's m_i (Euclidean) as an earlier iblearn computed them: chunks of whole rows of the
    float64 distance matrix, each row's radius from its class's columns."""
    n = x.shape[0]
    out = torch.empty(n, dtype=torch.int64)
    rows_per_chunk = max(1, (256 * 2**20) // (8 * n * 3))
    for c in torch.unique(lab):
        members = (lab == c).nonzero()[:, 0]
        k = int(k_i[members[0]])
        for start in range(0, len(members), rows_per_chunk):
            rows = members[start : start + rows_per_chunk]
            dist = cdist(x[rows], x, "euclidean", rows)
            within = dist[:, members]
            own = torch.arange(len(rows))
            within[own, own + start] = -1.0
            radius = torch.topk(within, k + 1, dim=1, largest=False).values[:, k]
            out[rows] = (dist <= radius[:, None]).sum(dim=1) - 1
    return out


def _mixed_row(n: int, dim: int = 64, classes: int = 10) -> dict[str, Any]:
    """MixedKSG on layer-like activations: class centres plus Gaussian noise (as estimators_speed.py),
    iblearn's brute force now and the single pass it replaced, one after the other, same counts?"""
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, classes, (n,), generator=gen)
    feats = torch.randn(classes, dim, generator=gen)[labels] + 2.0 * torch.randn(n, dim, generator=gen)
    start = time.perf_counter()
    value = float(ibf.mixed_ksg_mi(feats, labels, 3))
    seconds = time.perf_counter() - start
    x = prepare(feats, "x", standardize=True, ties="jitter", seed=0)
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    k_i = torch.clamp(counts[inverse] - 1, max=3)
    start = time.perf_counter()
    before = single_pass_counts(x, labels, k_i)
    before_seconds = time.perf_counter() - start
    same = bool(torch.equal(before, mixed_counts_brute(x, labels, k_i, "euclidean")))
    return {
        "n": n,
        "dim": dim,
        "classes": classes,
        "seconds": seconds,
        "value": value,
        "single pass seconds (counts only)": before_seconds,
        "same counts": same,
    }


def run(sizes: list[int], threads: int, budget: float) -> dict[str, Any]:
    torch.set_num_threads(1)
    methods: dict[str, tuple[str, Callable[..., float]]] = {"iblearn KSG": ("torch", _ours(1))}
    if threads > 1:
        methods[f"iblearn KSG, {threads} threads"] = ("torch", _ours(threads))
    methods["cKDTree KSG"] = ("numpy", ckdtree_ksg)
    if (npeet := _npeet()) is not None:
        methods["NPEET"] = ("numpy", npeet)
    one_d: dict[str, tuple[str, Callable[..., float]]] = {"iblearn KSG 1-D": ("torch", _ours(1))}
    if (sk := _sklearn()) is not None:
        one_d["scikit-learn 1-D"] = ("numpy", sk)
    rows: list[dict[str, Any]] = []
    last: dict[str, tuple[int, float]] = {}
    for n in sizes:
        for task, group in ((dense_gaussian(5), methods), (bivariate_normal(0.75), one_d)):
            x, y = task.sample(n, seed=0)
            # The peers get iblearn's standardized, jittered inputs (outside their time): same data,
            # so the same value to rounding where the algorithm is the same.
            xs = prepare(x, "x", standardize=True, ties="jitter", seed=0).numpy()
            ys = prepare(y, "y", standardize=True, ties="jitter", seed=1).numpy()
            for name, (kind, fn) in group.items():
                if name in last and not name.startswith("iblearn"):  # ours runs at every N
                    n0, t0 = last[name]
                    if t0 * (n / n0) ** 1.5 > budget:
                        continue
                args = (x, y) if kind == "torch" else (xs, ys)
                best, value = math.inf, math.nan
                for _ in range(3 if n < 30_000 else 1):
                    start = time.perf_counter()
                    value = fn(*args)
                    best = min(best, time.perf_counter() - start)
                last[name] = (n, best)
                rows.append({"task": task.name, "n": n, "method": name, "seconds": best, "value": value})
                print(f"{task.name:24s} N={n:>9,} {name:28s} {best:9.3f} s  {value:.12f}", flush=True)
    return {"rows": rows}


def growth(rows: list[dict[str, Any]], method: str, lo: int = 10_000) -> float | None:
    """Slope of log time against log N, least squares over N >= lo."""
    pts = [(math.log(r["n"]), math.log(r["seconds"])) for r in rows if r["method"] == method and r["n"] >= lo]
    if len(pts) < 2:
        return None
    a = np.array(pts)
    return float(np.polyfit(a[:, 0], a[:, 1], 1)[0])


def table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    sizes = sorted({r["n"] for r in rows})
    at = {(r["method"], r["n"]): r for r in rows}
    lines = [
        "Seconds; in brackets the time over iblearn's (one thread; 1-D rows: iblearn's 1-D) and the"
        " difference of the values.",
        "",
        "| method | " + " | ".join(f"N = {n:,}" for n in sizes) + " | growth (N >= 10,000) |",
    ]
    lines.append("|---" * (len(sizes) + 2) + "|")
    for m in methods:
        ref = "iblearn KSG 1-D" if "1-D" in m else "iblearn KSG"
        cells = []
        for n in sizes:
            r = at.get((m, n))
            if r is None:
                cells.append("-")
                continue
            cell = f"{r['seconds']:.3g} s"
            base = at.get((ref, n))
            if m != ref and base is not None:
                cell += (
                    f" ({r['seconds'] / base['seconds']:.2f}x, diff {abs(r['value'] - base['value']):.0e})"
                )
            cells.append(cell)
        g = growth(rows, m)
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {'' if g is None else f'N^{g:.2f}'} |")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for m in dict.fromkeys(r["method"] for r in result["rows"]):
        pts = [(r["n"], r["seconds"]) for r in result["rows"] if r["method"] == m]
        ax.loglog(*zip(*pts, strict=True), marker="o", label=m)
    start = [r["seconds"] for r in result["rows"] if r["method"] == "iblearn KSG" and r["n"] == 10_000]
    if start:
        ns = np.array([1e4, 1e6])
        ax.loglog(ns, start[0] * (ns / 1e4) ** 1.3, "k:", label="N^1.3 from iblearn's time at 10,000 (goal)")
    ax.set_xlabel("N (samples)")
    ax.set_ylabel("seconds (one run)")
    ax.set_title("KSG: 5x5 Gaussian (k = 3); 1-D: bivariate normal")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 30,000")
    parser.add_argument("--threads", type=int, default=1, help="also time iblearn with this many threads")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds a run may be expected to take")
    parser.add_argument("--mixed", type=int, default=50_000, help="MixedKSG's N (64-d, 10 classes); 0: skip")
    parser.add_output(Path(__file__).parent / "results", "--results")
    args = parser.parse_args()
    sizes = [n for n in SIZES if n <= 30_000] if args.quick else SIZES
    result = run(sizes, args.threads, args.budget)
    if args.mixed:
        result["mixed"] = _mixed_row(args.mixed)
        print("MixedKSG", result["mixed"], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    result["meta"] = {
        "commit": commit.strip(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load average at the end": os.getloadavg(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "estimators_scaling.json").write_text(json.dumps(result, indent=1))
    text = table(result)
    if "mixed" in result:
        mx = result["mixed"]
        text += (
            f"\n\nMixedKSG, {mx['dim']}-d, {mx['classes']} classes, N = {mx['n']:,}: {mx['seconds']:.1f} s; "
            f"the single pass it replaced: {mx['single pass seconds (counts only)']:.1f} s for the counts "
            f"alone, {'the same' if mx['same counts'] else 'DIFFERENT'} counts\n"
        )
    (out / "estimators_scaling.md").write_text(text + "\n")
    plot(result, out / "estimators_scaling.png")
    print(text)


if __name__ == "__main__":
    main()
