"""The multivariate guide's figure: the O-information of a redundant and a synergistic system of three
variables against their noise level, KSG estimates with their half-sampling standard errors beside the
Gaussian closed form.

    python benchmarks/multivariate_figure.py [--n 2000] [--resamples 20]

Redundant: three copies of one standard normal source, each plus independent noise of sd sigma
(covariance J + sigma^2 I). Synergistic: x1, x2 independent standard normals and y = x1 + x2 plus noise
of sd sigma. Writes docs/guide/multivariate_noise.png and benchmarks/results/multivariate/noise.csv.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

import iblearn.functional as ibf
from benchmarks.runners import script

ROOT = Path(__file__).resolve().parents[1]
SIGMAS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)


def covariance(system: str, sigma: float) -> np.ndarray:
    if system == "redundant":
        return np.ones((3, 3)) + sigma**2 * np.eye(3)
    return np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0 + sigma**2]])


def o_truth(cov: np.ndarray) -> float:
    """O = TC - DTC of a Gaussian from log-determinants (the 2 pi e terms cancel)."""

    def h(cols: list[int]) -> float:
        return 0.5 * float(np.linalg.slogdet(cov[np.ix_(cols, cols)])[1])

    everything = [0, 1, 2]
    tc = sum(h([i]) for i in everything) - h(everything)
    dtc = sum(h([j for j in everything if j != i]) for i in everything) - 2 * h(everything)
    return tc - dtc


def main(argv: list[str] | None = None) -> list[tuple[str, float, float, float, float, float]]:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--resamples", type=int, default=20)
    parser.add_output(ROOT / "docs" / "guide" / "multivariate_noise.png")
    parser.add_output(ROOT / "benchmarks/results/multivariate/noise.csv", "--csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows: list[tuple[str, float, float, float, float, float]] = []
    for system in ("redundant", "synergistic"):
        for i, sigma in enumerate(SIGMAS):
            cov = covariance(system, sigma)
            g = torch.Generator().manual_seed(1000 * (system == "synergistic") + i)
            x = (
                torch.randn(args.n, 3, generator=g, dtype=torch.float64)
                @ torch.linalg.cholesky(torch.as_tensor(cov)).T
            )
            ksg = ibf.multivariate_estimate("o_information", x, n_resamples=args.resamples, seed=i)
            gauss = float(ibf.o_information(x, method="gaussian"))
            rows.append((system, sigma, o_truth(cov), float(ksg), ksg.stderr, gauss))
            print(
                f"{system:12s} sigma {sigma:4.2f}: truth {rows[-1][2]:+.4f} ksg {ksg} gaussian {gauss:+.4f}"
            )
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["system", "sigma", "truth", "ksg", "ksg_stderr", "gaussian"])
        w.writerows(rows)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    fine = np.linspace(0.05, 2.1, 200)
    for system, colour in (("redundant", "tab:blue"), ("synergistic", "tab:red")):
        ax.plot(
            fine, [o_truth(covariance(system, s)) for s in fine], color=colour, lw=1, label=f"{system}: truth"
        )
        pts = [r for r in rows if r[0] == system]
        ax.errorbar(
            [r[1] for r in pts],
            [r[3] for r in pts],
            yerr=[2 * r[4] for r in pts],
            fmt="o",
            ms=4,
            color=colour,
            capsize=2,
            label=f"{system}: KSG ± 2 se",
        )
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("noise sd sigma")
    ax.set_ylabel("O-information (nats)")
    ax.set_title(f"O > 0: redundancy, O < 0: synergy (N = {args.n:,})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} and {args.csv}")
    return rows


if __name__ == "__main__":
    main()
