"""Conditional MI: iblearn's ``ksg_cmi`` against NPEET-plus's ``cmi``, ennemi's conditional ``estimate_mi``
and tigramite's ``CMIknn`` on identical inputs, side by side in one process, single thread.

    python benchmarks/cmi.py [--sizes 1000 10000] [--dims 1 3 10] [--repeats 3]

All four compute the Frenzel-Pompe estimator (k = 3, max-norm, strict counts in the xz, yz and z spaces)
on the same standardized samples of a Gaussian task whose I(X; Y | Z) is known: per coordinate i,
z_i ~ N(0, 1), x_i = z_i + e, y_i = z_i + x_i / 2 + e' (unit noises), d coordinates a variable. They
differ only in how ties are broken: iblearn adds Gaussian noise of 1e-10 standard deviations (seeded),
NPEET uniform noise of 1e-10 (unseeded), tigramite uniform noise of 1e-6 standard deviations, and ennemi
none. ennemi estimates between scalar x and y only (it reads columns of x as separate variables), so it
runs where d = 1. Times are the best of ``--repeats`` calls, the methods alternating, one thread each.

Writes benchmarks/results/cmi.json (values, times, library versions) and cmi.md, and prints the table.
The peers come from the ``bench`` extra; one that cannot be imported is reported as unavailable.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import importlib
import importlib.metadata
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.runners import script
from iblearn.functional import gaussian_cmi_from_cov, ksg_cmi
from iblearn.records import environment, markdown_table, write_json

K = 3
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def task(d: int, n: int, seed: int) -> tuple[Arrays, float]:
    """Standardized samples of (x, y, z), d coordinates each, and the true I(X; Y | Z) in nats."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    x = z + rng.standard_normal((n, d))
    y = z + 0.5 * x + rng.standard_normal((n, d))
    # one coordinate's covariance, ordered (x, y, z); the coordinates are independent copies
    one = np.array([[2.0, 2.0, 1.0], [2.0, 3.5, 1.5], [1.0, 1.5, 1.0]])
    truth = d * float(gaussian_cmi_from_cov(torch.from_numpy(one), 1, 1))
    standardized = tuple((v - v.mean(0)) / v.std(0) for v in (x, y, z))
    return standardized, truth  # type: ignore[return-value]


def _iblearn(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    return float(ksg_cmi(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(z), K))


def _npeet(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    from npeet_plus import estimators as npeet

    return float(npeet.cmi(x, y, z, k=K, base=np.e))


def _ennemi(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    from ennemi import estimate_mi

    return float(np.asarray(estimate_mi(y[:, 0], x[:, 0], cond=z, k=K, max_threads=1)).ravel()[0])


def _tigramite(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    from tigramite.independence_tests.cmiknn import CMIknn

    test = CMIknn(knn=K, transform="standardize", workers=1, seed=0)
    xyz = np.array([0] * x.shape[1] + [1] * y.shape[1] + [2] * z.shape[1])
    return float(test.get_dependence_measure(np.hstack([x, y, z]).T.copy(), xyz))


# name, function, the module it needs (None: iblearn), whether it takes multivariate x and y
METHODS: list[tuple[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float], str | None, bool]] = [
    ("iblearn ksg_cmi", _iblearn, None, True),
    ("NPEET-plus cmi", _npeet, "npeet_plus", True),
    ("ennemi estimate_mi(cond=)", _ennemi, "ennemi", False),
    ("tigramite CMIknn", _tigramite, "tigramite.independence_tests.cmiknn", True),
]
PACKAGES = ("npeet-plus", "ennemi", "tigramite", "numba")


def unavailable(module: str | None) -> str | None:
    if module is None:
        return None
    try:
        importlib.import_module(module)
    except Exception as err:  # a peer's import can fail in many ways (numba, six, ...)
        return f"{type(err).__name__}: {err}"
    return None


def run(sizes: list[int], dims: list[int], repeats: int) -> dict[str, Any]:
    missing = {name: why for name, _, module, _ in METHODS if (why := unavailable(module))}
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    (x, y, z), _ = task(1, 200, seed=1)
    for name, f, _, _ in METHODS:  # warm-up: imports, and tigramite's numba compiles on its first call
        if name not in missing:
            f(x, y, z)
    rows = []
    for d in dims:
        for n in sizes:
            (x, y, z), truth = task(d, n, seed=0)
            methods = [
                (name, f) for name, f, _, multi in METHODS if name not in missing and (multi or d == 1)
            ]
            best = {name: float("inf") for name, _ in methods}
            values: dict[str, float] = {}
            for _ in range(repeats):
                for name, f in methods:  # alternating, so that the machine's load falls on all alike
                    start = time.perf_counter()
                    values[name] = f(x, y, z)
                    best[name] = min(best[name], time.perf_counter() - start)
            ours = "iblearn ksg_cmi"
            for name, _ in methods:
                rows.append(
                    {
                        "dims": d,
                        "n": n,
                        "truth": truth,
                        "method": name,
                        "value": values[name],
                        "seconds": best[name],
                        "difference_from_iblearn": values[name] - values[ours],
                        "time_over_iblearn": best[name] / best[ours],
                    }
                )
            print(f"d={d} N={n}: " + ", ".join(f"{m} {values[m]:.4f} ({best[m]:.3f} s)" for m, _ in methods))
    return {"rows": rows, "unavailable": missing, "peer_versions": versions, "k": K, "repeats": repeats}


def table(results: dict[str, Any]) -> str:
    body = [
        [
            f"{r['dims']}x{r['dims']}x{r['dims']}",
            f"{r['n']:,}",
            f"{r['truth']:.4f}",
            r["method"],
            f"{r['value']:.4f}",
            f"{r['difference_from_iblearn']:+.1e}",
            f"{r['seconds']:.3f}",
            f"{r['time_over_iblearn']:.1f}x",
        ]
        for r in results["rows"]
    ]
    text = markdown_table(
        ["dims (x, y, z)", "N", "truth", "method", "I(X;Y|Z)", "minus iblearn", "seconds", "time / iblearn"],
        body,
    )
    for name, why in results["unavailable"].items():
        text += f"\n{name}: unavailable ({why})"
    return text


if __name__ == "__main__":
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_output(Path(__file__).parent / "results", "--results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = run(args.sizes, args.dims, args.repeats)
    text = table(results)
    out = Path(args.results)
    write_json(out / "cmi.json", {**results, "environment": environment()})
    (out / "cmi.md").write_text(text + "\n", encoding="utf-8")
    print(text)
