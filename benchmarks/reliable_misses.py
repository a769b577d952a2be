"""Estimates said reliable whose interval misses the truth, on cases built to find them: series near a
unit root (information storage and transfer entropy), a transfer entropy, a total correlation and an
MI of 12 columns through a non-monotone dependence whose samples look jointly Gaussian, entropies far
undersampled or of a power law, labels with a class seen once, a conditional MI whose confounder
enters through a non-monotone map, the named KSG paths of the measures among many variables, series
with a linear trend (no stationary law) or a seasonal sinusoid, well separated classes, outliers far
out, and heavy-tailed marginals.
Each case is run over seeds against its exact answer; the table counts the runs, those said reliable
(``reliable is True``), those not checked (``None``), and the reliable ones whose interval misses the
truth. The goal: no reliable interval misses beyond what its confidence allows.

    python benchmarks/reliable_misses.py            # writes results/reliable_misses/results.json
    python benchmarks/reliable_misses.py --quick    # fewer seeds, nothing written
    PYTHONPATH=<other checkout>/src python benchmarks/reliable_misses.py --out <file>  # a baseline

The provenance's commit is that of the iblearn the run imported.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import integrate, linalg, stats

import iblearn
from iblearn.records import environment, write_json

OUT = Path(__file__).parent / "results" / "reliable_misses" / "results.json"


def ar1(a: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """An AR(1) series of n steps started from its stationary law."""
    x = np.empty(n)
    x[0] = rng.standard_normal() / math.sqrt(1 - a * a)
    for t in range(1, n):
        x[t] = a * x[t - 1] + rng.standard_normal()
    return x


def ais_case(a: float, n: int) -> tuple[Callable[[int], Any], float]:
    def run(seed: int) -> Any:
        return iblearn.estimate("ais", ar1(a, n, np.random.default_rng(seed)))

    return run, max(0.0, -0.5 * math.log(1 - a * a))


def te_case(a: float, b: float, c: float, n: int, slope: float = 0.0) -> tuple[Callable[[int], Any], float]:
    """x_t = a x_(t-1) + e, y_t = b y_(t-1) + c x_(t-1) + e'; TE(x -> y) with one step of history. With
    ``slope``, both series plus the same linear trend of ``slope`` a step: no stationary law, and at each
    step the trend is a constant, which leaves the TE as it is."""
    coef = np.array([[a, 0.0], [c, b]])
    cov = linalg.solve_discrete_lyapunov(coef, np.eye(2))  # stationary covariance of (x, y)
    given_y = cov[0, 0] - cov[0, 1] ** 2 / cov[1, 1]  # var(x_(t-1) | y_(t-1))
    truth = 0.5 * math.log(1 + c * c * given_y)

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        burn = 2000
        x, y = np.zeros(n + burn), np.zeros(n + burn)
        e = rng.standard_normal((n + burn, 2))
        for t in range(1, n + burn):
            x[t] = a * x[t - 1] + e[t, 0]
            y[t] = b * y[t - 1] + c * x[t - 1] + e[t, 1]
        trend = slope * np.arange(n)
        return iblearn.estimate("te", x[burn:] + trend, y[burn:] + trend)

    return run, truth


def ais_trend_case(a: float, n: int, slope: float) -> tuple[Callable[[int], Any], float]:
    """An AR(1) series plus a linear trend of ``slope`` a step: no stationary law, and at each step the
    trend is a constant that leaves I(x_t; x_(t-1)) that of the AR(1), the truth."""

    def run(seed: int) -> Any:
        return iblearn.estimate("ais", ar1(a, n, np.random.default_rng(seed)) + slope * np.arange(n))

    return run, -0.5 * math.log(1 - a * a)


def seasonal_information(a: float, amp: float, period: int) -> float:
    """I(x_t; x_(t-1)) of x_t = amp sin(2 pi t / period + phi) + an AR(a) series, phi uniform: the
    stationary law whose rows a series of many periods samples. Its densities are averages over the
    phase of Gaussians (128 phases, exact for a trigonometric mean); the MI by Simpson on a 401 x 401
    grid of 8 standard deviations beyond the amplitude."""
    phase = (np.arange(128) + 0.5) / 128 * 2 * math.pi
    sd = 1 / math.sqrt(1 - a * a)
    u = np.linspace(-amp - 8 * sd, amp + 8 * sd, 401)
    z0 = (u[:, None] - amp * np.sin(phase)) / sd
    z1 = (u[:, None] - amp * np.sin(phase - 2 * math.pi / period)) / sd
    q = (z0[:, None] ** 2 - 2 * a * z0[:, None] * z1[None] + z1[None] ** 2) / (1 - a * a)
    joint = np.exp(-q / 2).mean(2) / (2 * math.pi * sd * sd * math.sqrt(1 - a * a))
    marginals = np.outer(stats.norm.pdf(z0).mean(1), stats.norm.pdf(z1).mean(1)) / (sd * sd)
    terms = joint * np.log(np.maximum(joint, 1e-300) / np.maximum(marginals, 1e-300))
    return float(integrate.simpson(integrate.simpson(terms, x=u, axis=1), x=u))


def ais_season_case(a: float, amp: float, period: int, n: int) -> tuple[Callable[[int], Any], float]:
    """An AR(a) series plus a sinusoid of a random phase: :func:`seasonal_information`."""

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        season = amp * np.sin(2 * math.pi * np.arange(n) / period + 2 * math.pi * rng.random())
        return iblearn.estimate("ais", ar1(a, n, rng) + season)

    return run, seasonal_information(a, amp, period)


def sine_information(c: float) -> float:
    """I(c sin(2 X) + E; X) for independent standard normal X and E: h(c sin(2 X) + E) - h(E), by
    quadrature (Gauss-Hermite over X for the sum's density, Simpson over the sum)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(150)
    weights = weights / weights.sum()
    u = np.linspace(-10.0, 10.0, 8001)
    density = stats.norm.pdf(u[:, None] - c * np.sin(2 * nodes)) @ weights
    entropy = -integrate.simpson(density * np.log(density), x=u)
    return float(entropy - 0.5 * math.log(2 * math.pi * math.e))


def te_sine_case(c: float, n: int) -> tuple[Callable[[int], Any], float]:
    """x i.i.d. N(0, 1), y_t = 0.3 y_(t-1) + c sin(2 x_(t-1)) + e: a coupling whose lagged samples look
    jointly Gaussian. x_(t-1) and e_t are independent of y's past, so TE(x -> y) with one step of
    history is :func:`sine_information`."""

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        x, y = rng.standard_normal(n + 100), rng.standard_normal(n + 100)
        for t in range(1, n + 100):
            y[t] += 0.3 * y[t - 1] + c * np.sin(2 * x[t - 1])
        return iblearn.estimate("te", x[100:], y[100:])

    return run, sine_information(c)


def tc_sine_case(c: float, n: int) -> tuple[Callable[[int], Any], float]:
    """Three columns u, c sin(2 u) + e, w, all else independent and Gaussian, whose joint looks
    Gaussian: their total correlation is I(u; c sin(2 u) + e), :func:`sine_information`."""

    def run(seed: int) -> Any:
        u, e, w = np.random.default_rng(seed).standard_normal((3, n))
        return iblearn.estimate("total_correlation", np.column_stack([u, c * np.sin(2 * u) + e, w]))

    return run, sine_information(c)


def mi_wide_sine_case(n: int) -> tuple[Callable[[int], Any], float]:
    """x of 8 and y of 4 independent standard normal columns, but y_0 = sin(2 x_0) + e / 2: more than
    KSG's 10 dimensions, and a joint that looks Gaussian. I(X; Y) = I(x_0; sin(2 x_0) + e / 2), which is
    :func:`sine_information` at c = 2."""

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        x, y = rng.standard_normal((n, 8)), rng.standard_normal((n, 4))
        y[:, 0] = np.sin(2 * x[:, 0]) + 0.5 * y[:, 0]
        return iblearn.estimate("mi", x, y)

    return run, sine_information(2.0)


def entropy_case(p: np.ndarray, n: int) -> tuple[Callable[[int], Any], float]:
    def run(seed: int) -> Any:
        draws = np.random.default_rng(seed).choice(len(p), size=n, p=p)
        return iblearn.estimate("entropy", torch.from_numpy(draws))

    q = p[p > 0]
    return run, float(-(q * np.log(q)).sum())


def zipf(s: float, k: int) -> np.ndarray:
    w = np.arange(1, k + 1, dtype=float) ** -s
    return w / w.sum()


def rare_class_case(n: int, q: float, shift: float) -> tuple[Callable[[int], Any], float]:
    """y labels with a rare class (probability q, seen about once), x = N(shift * y, 1): continuous x
    against labels, the mixed KSG. Seeds where y is constant are refused by the estimate."""
    f = lambda v: (1 - q) * stats.norm.pdf(v) + q * stats.norm.pdf(v, shift)  # noqa: E731
    hx = integrate.quad(lambda v: -f(v) * math.log(f(v)), -12, 12 + shift, limit=200)[0]
    truth = hx - 0.5 * math.log(2 * math.pi * math.e)

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        y = (rng.random(n) < q).astype(np.int64)
        x = rng.standard_normal(n) + shift * y
        return iblearn.estimate("mi", torch.from_numpy(x), torch.from_numpy(y))

    return run, truth


def _gaussian_entropy(cov: np.ndarray) -> float:
    return 0.5 * float(np.linalg.slogdet(2 * math.pi * math.e * cov)[1])


def o_information_case(n: int) -> tuple[Callable[[int], Any], float]:
    """Four variables, a shared source plus noise, each warped by a monotone map (which leaves the
    O-information as it is); KSG with half-sampling resamples."""
    load = np.array([1.0, 0.8, 0.6, 0.9])
    cov = np.outer(load, load) + np.eye(4)
    d = len(cov)
    truth = (d - 2) * _gaussian_entropy(cov)
    for i in range(d):
        rest = [j for j in range(d) if j != i]
        truth += _gaussian_entropy(cov[[i]][:, [i]]) - _gaussian_entropy(cov[np.ix_(rest, rest)])

    def run(seed: int) -> Any:
        # Cholesky: the SVD's basis of cov's repeated eigenvalue (1, three times) follows the BLAS
        # kernel's rounding, and so would the rows drawn on each machine.
        z = np.random.default_rng(seed).multivariate_normal(np.zeros(d), cov, size=n, method="cholesky")
        warped = np.stack([z[:, 0] ** 3, np.exp(z[:, 1]), np.tanh(z[:, 2]), z[:, 3]], 1)
        return iblearn.estimate("o_information", warped, method="ksg", n_resamples=10)

    return run, truth


def cmi_case(n: int) -> tuple[Callable[[int], Any], float]:
    """x = z + e1, y = 0.4 x + z + e2: I(X; Y | Z) = 1/2 log(1 + 0.16 var(x | z)) with var(x | z) = 1."""
    truth = 0.5 * math.log(1 + 0.16)

    def run(seed: int) -> Any:
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, 1, generator=g, dtype=torch.float64)
        x = z + torch.randn(n, 1, generator=g, dtype=torch.float64)
        y = 0.4 * x + z + torch.randn(n, 1, generator=g, dtype=torch.float64)
        return iblearn.estimate("cmi", x, y, z, method="ksg", n_resamples=10)

    return run, truth


def cmi_confounder_case(n: int, extra: bool) -> tuple[Callable[[int], Any], float]:
    """x = sin(2 z_0) + e1 / 2, y = sin(2 z_0) + e2 / 2 (with ``extra``, y also + z_1): a confounder
    entering through a non-monotone map, I(X; Y | Z) = 0; the Gaussian's linear conditioning on z
    leaves about 0.2 nats of sin(2 z_0) in both."""

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, 2 if extra else 1))
        shared = np.sin(2 * z[:, 0])
        x = shared + 0.5 * rng.standard_normal(n)
        y = shared + 0.5 * rng.standard_normal(n) + (z[:, 1] if extra else 0.0)
        return iblearn.estimate("cmi", x, y, z)

    return run, 0.0


def gaussian_mi_case(n: int) -> tuple[Callable[[int], Any], float]:
    """The well-behaved control: a bivariate Gaussian at rho 0.6, i.i.d. rows, auto."""

    def run(seed: int) -> Any:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 1, generator=g, dtype=torch.float64)
        y = 0.6 * x + 0.8 * torch.randn(n, 1, generator=g, dtype=torch.float64)
        return iblearn.estimate("mi", x, y)

    return run, -0.5 * math.log(1 - 0.36)


def class_means_case(shift: float, n: int) -> tuple[Callable[[int], Any], float]:
    """Two equally likely labels, x = N(shift * label, 1): the mixed KSG on well separated classes,
    I = h(x) - h(x | label) by quadrature."""
    f = lambda v: 0.5 * (stats.norm.pdf(v) + stats.norm.pdf(v, shift))  # noqa: E731
    hx = integrate.quad(lambda v: -f(v) * math.log(f(v)), -12, 12 + shift, points=[0.0, shift], limit=200)[0]

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, n)
        return iblearn.estimate(
            "mi", torch.from_numpy(rng.standard_normal(n) + shift * y), torch.from_numpy(y)
        )

    return run, hx - 0.5 * math.log(2 * math.pi * math.e)


def outliers_case(n: int, rho: float) -> tuple[Callable[[int], Any], float]:
    """A bivariate Gaussian at rho with 1% of its rows replaced by (1e6, 1e6): the outlier's indicator
    B is a function of x and of y, so I(X; Y) = H(B) + I(X; Y | B) = H(0.01) + 0.99 I_Gaussian."""
    q = 0.01
    truth = -(q * math.log(q) + (1 - q) * math.log(1 - q)) - (1 - q) * 0.5 * math.log(1 - rho * rho)

    def run(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(n)
        y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal(n)
        rows = rng.choice(n, int(q * n), replace=False)
        x[rows] = y[rows] = 1e6
        return iblearn.estimate("mi", x, y)

    return run, truth


def cauchy_copula_case(rho: float, n: int) -> tuple[Callable[[int], Any], float]:
    """Cauchy marginals joined by a Gaussian copula at rho: the MI is the copula's, -1/2 log(1 - rho^2)."""

    def run(seed: int) -> Any:
        g = np.random.default_rng(seed).standard_normal((n, 2))
        y = rho * g[:, 0] + math.sqrt(1 - rho * rho) * g[:, 1]
        return iblearn.estimate(
            "mi", stats.cauchy.ppf(stats.norm.cdf(g[:, 0])), stats.cauchy.ppf(stats.norm.cdf(y))
        )

    return run, -0.5 * math.log(1 - rho * rho)


def cases() -> dict[str, tuple[Callable[[int], Any], float, int]]:
    """name -> (run of a seed, truth in nats, seeds)."""
    return {
        "ais AR(0.99) N=500": (*ais_case(0.99, 500), 200),
        "ais AR(0.97) N=500": (*ais_case(0.97, 500), 200),
        "ais AR(0.95) N=500": (*ais_case(0.95, 500), 200),
        "ais AR(0.9) N=500": (*ais_case(0.9, 500), 200),
        "ais AR(0.8) N=300": (*ais_case(0.8, 300), 40),
        "ais AR(0.97) N=1000": (*ais_case(0.97, 1000), 40),
        "ais AR(0.5) N=500 (control)": (*ais_case(0.5, 500), 40),
        "ais i.i.d. Gaussian N=500 (control)": (*ais_case(0.0, 500), 40),
        "te a=b=0.96 c=0.3 T=800": (*te_case(0.96, 0.96, 0.3, 800), 40),
        "te sin(2x) coupling c=0.6 T=2000": (*te_sine_case(0.6, 2000), 40),
        "total_correlation sin(2x) c=0.8 N=3000": (*tc_sine_case(0.8, 3000), 40),
        "mi 8 x 4, y_0 = sin(2 x_0) + e/2, N=3000": (*mi_wide_sine_case(3000), 20),
        "entropy 300 of 10^6 uniform": (*entropy_case(np.full(10**6, 1e-6), 300), 10),
        "entropy Zipf 1.1, 5000 symbols, 600 draws": (*entropy_case(zipf(1.1, 5000), 600), 20),
        "mi mixed, rare class q=0.005 N=300": (*rare_class_case(300, 0.005, 3.0), 20),
        "o_information ksg warped 4 vars N=1000": (*o_information_case(1000), 10),
        "cmi ksg Gaussian N=1000": (*cmi_case(1000), 10),
        "cmi sin(2z) confounder, truth 0, N=2000": (*cmi_confounder_case(2000, False), 40),
        "cmi sin(2z) confounder, z 2 columns, N=3000": (*cmi_confounder_case(3000, True), 40),
        "ais AR(0.5) + trend 0.005 a step N=1000": (*ais_trend_case(0.5, 1000, 0.005), 40),
        "ais AR(0.5) + trend 0.001 a step N=3000": (*ais_trend_case(0.5, 3000, 0.001), 40),
        "te c=0, both + trend 0.005 a step T=1000": (*te_case(0.5, 0.3, 0.0, 1000, 0.005), 40),
        "te c=0.4, both + trend 0.005 a step T=1000": (*te_case(0.5, 0.3, 0.4, 1000, 0.005), 40),
        "ais AR(0.5) + 2 sin(2 pi t / 50 + phase) N=1000": (*ais_season_case(0.5, 2.0, 50, 1000), 40),
        "mi labels 0/1, x = N(6 label, 1), N=500": (*class_means_case(6.0, 500), 200),
        "mi rho 0.6, 1% of rows (1e6, 1e6), N=1000": (*outliers_case(1000, 0.6), 40),
        "mi Cauchy marginals, Gaussian copula rho 0.3 N=500": (*cauchy_copula_case(0.3, 500), 40),
        "mi auto Gaussian rho 0.6 N=1000 (control)": (*gaussian_mi_case(1000), 10),
    }


def run_case(run: Callable[[int], Any], truth: float, seeds: int) -> dict[str, Any]:
    rows = []
    start = time.process_time()
    for seed in range(seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est = run(seed)
            except ValueError:  # refused (a constant variable): no estimate to judge
                continue
        low, high = est.interval if est.interval is not None else (math.nan, math.nan)
        rows.append(
            {
                "seed": seed,
                "estimate": float(est),
                "interval": [low, high],
                "reliable": est.reliable,
                "covers": bool(low <= truth <= high),
                "caveat": est.caveat,
            }
        )
    reliable = [r for r in rows if r["reliable"] is True]
    return {
        "truth": truth,
        "runs": len(rows),
        "reliable": len(reliable),
        "not_checked": sum(r["reliable"] is None for r in rows),
        "reliable_miss": sum(not r["covers"] for r in reliable),
        "covers_all": sum(r["covers"] for r in rows),
        "mean_width": float(np.mean([r["interval"][1] - r["interval"][0] for r in rows])),
        "mean_width_reliable": (
            float(np.mean([r["interval"][1] - r["interval"][0] for r in reliable])) if reliable else None
        ),
        "cpu_seconds": time.process_time() - start,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two seeds a case, nothing written")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument("--out", type=Path, default=OUT, help="the results file (another for a baseline)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    header = f"{'case':48} {'runs':>4} {'reliable':>8} {'unchecked':>9} {'reliable miss':>13} {'covers':>6}"
    print(header)
    for name, (run, truth, seeds) in cases().items():
        if args.only not in name:
            continue
        r = run_case(run, truth, 2 if args.quick else seeds)
        results[name] = r
        print(
            f"{name:48} {r['runs']:>4} {r['reliable']:>8} {r['not_checked']:>9} {r['reliable_miss']:>13} "
            f"{r['covers_all']:>6}   (truth {truth:.4g}, mean width {r['mean_width']:.3g}, "
            f"{r['cpu_seconds']:.0f} s)",
            flush=True,
        )
    if not args.quick and not args.only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.out, {"provenance": environment(), "cases": results})


if __name__ == "__main__":
    main()
