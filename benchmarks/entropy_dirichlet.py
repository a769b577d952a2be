"""The automatic entropy of labels on Dirichlet draws: which estimator it takes, where it marks the
estimate reliable, and how often its 95% interval covers the truth there.

    python benchmarks/entropy_dirichlet.py [--draws 14] [--seed 7] [--out DIR | --write-results]

Each cell is a law p drawn from a symmetric Dirichlet(alpha) over K symbols (K = 100, 10^4, 10^6;
alpha = 0.01, 0.1, 1, 10), sampled N times (N = 100 to 10^5), ``--draws`` times with seeds derived
from the cell; the truth is H(p). ``iblearn.estimate("entropy", labels)`` reads each sample with K
unknown: its choice, interval and verdict are kept with the sample's N, symbols seen m, singletons f1
and doubletons f2. This is the law NSB's prior describes, the counterpart of the power laws of
``benchmarks/pym_powerlaw.py``.

Writes results.json (the draws, coverage where reliable by estimator, provenance).
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import torch

import _prelude  # noqa: F401  (one thread per library, the checkout on sys.path)
from benchmarks.runners.script import cell_draws_arguments, numpy_provenance
from iblearn.estimation.labels import entropy_auto
from iblearn.records import write_json

FULL = {"ks": [100, 10**4, 10**6], "alphas": [0.01, 0.1, 1.0, 10.0], "ns": [100, 1000, 10**4, 10**5]}
QUICK = {"ks": [100], "alphas": [0.1], "ns": [100]}


def one_draw(k: int, alpha: float, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """The truth, the counts of counts and the automatic entropy of one sample."""
    p = rng.dirichlet(np.full(k, alpha))
    nz = p[p > 0]
    c = rng.multinomial(n, p)
    c = c[c > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = entropy_auto(torch.from_numpy(np.repeat(np.arange(len(c)), c)))
    return {
        "truth": float(-(nz * np.log(nz)).sum()),
        "n": n,
        "m": len(c),
        "f1": int((c == 1).sum()),
        "f2": int((c == 2).sum()),
        "auto": [float(est), *map(float, est.interval), est.report.chosen, est.reliable],
    }


def coverage(draws: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By estimator chosen: the draws it was chosen on, those marked reliable, and the share of those
    whose interval holds the truth."""
    out = {}
    for name in sorted({d["auto"][3] for d in draws}):
        mine = [d for d in draws if d["auto"][3] == name]
        sure = [d for d in mine if d["auto"][4] is True]
        hits = [d["auto"][1] <= d["truth"] <= d["auto"][2] for d in sure]
        out[name] = {
            "chosen": len(mine),
            "reliable": len(sure),
            "coverage_where_reliable": float(np.mean(hits)) if hits else None,
        }
    return out


def main(argv: list[str] | None = None) -> None:
    quick = "one cell (K = 100, alpha = 0.1, N = 100)"
    args, config = cell_draws_arguments(
        __doc__, "entropy_dirichlet", argv, (QUICK, FULL), draws=14, seed=7, quick=quick
    )
    rows = []
    for k, alpha, n in itertools.product(config["ks"], config["alphas"], config["ns"]):
        rng = np.random.default_rng([args.seed, k, round(100 * alpha), n])
        draws = [one_draw(k, alpha, n, rng) for _ in range(args.draws)]
        rows.append({"k": k, "alpha": alpha, "n": n, "draws": draws, "by_chosen": coverage(draws)})
        print(k, alpha, n, rows[-1]["by_chosen"], flush=True)
    provenance = numpy_provenance()
    every = [d for r in rows for d in r["draws"]]
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"config": config, "provenance": provenance, "by_chosen": coverage(every), "rows": rows}
    write_json(args.out / "results.json", result)
    print(result["by_chosen"])


if __name__ == "__main__":
    main()
