"""The Pitman-Yor mixture (PYM) and NSB entropy estimates on power laws: mean error and the coverage of
their 95% posterior intervals, on the same draws.

    python benchmarks/pym_powerlaw.py [--draws 20] [--quick] [--out DIR | --write-results]

Each cell is a Zipf law p_i ~ i^-s over K symbols (s = 1.0, 1.1, 1.3, 1.5; K = 10^3, 10^4, 10^5),
sampled N times (N = 200, 1,000, 5,000), ``--draws`` times with seeds derived from the cell; the truth
is H(p). PYM (:func:`iblearn.functional.pym_entropy`) and NSB with K unknown
(:func:`iblearn.functional.nsb_entropy`, ndd's rule for guessing K) read the same counts. Coverage is
the share of draws whose truth lies within the mean +- 1.96 posterior sds. The automatic entropy
(``iblearn.estimate("entropy", labels)``) reads the same draws: its choice, its 95% interval and
whether it marks the draw reliable are kept, and its coverage is counted where it does. Each draw's counts of
counts (N, symbols seen m, singletons f1, doubletons f2) are kept with the estimates, so that a rule
choosing between the two can be read from the record. The peers ndd and infomeasure are not run here:
ndd's NSB agrees with iblearn's (``benchmarks/discrete.py``) and neither ships PYM.

Writes results.json (rows per cell, the draws, provenance) and table.md.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from typing import Any

import numpy as np
import torch

import _prelude  # noqa: F401  (one thread per library, the checkout on sys.path)
from benchmarks.runners.script import cell_draws_arguments, numpy_provenance
from iblearn.estimation.labels import entropy_auto
from iblearn.functional import nsb_entropy, pym_entropy
from iblearn.records import atomic_write_text, write_json

Z = 1.959963984540054
FULL = {"exponents": [1.0, 1.1, 1.3, 1.5], "alphabets": [10**3, 10**4, 10**5], "ns": [200, 1000, 5000]}
QUICK = {"exponents": [1.1], "alphabets": [5000], "ns": [600]}


def zipf(exponent: float, k: int) -> np.ndarray:
    p = np.arange(1, k + 1, dtype=float) ** -exponent
    return p / p.sum()


def one_draw(p: np.ndarray, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """The estimates, their seconds and the counts of counts of one sample of ``n`` from ``p``."""
    c = rng.multinomial(n, p)
    c = c[c > 0]
    out: dict[str, Any] = {
        "n": n,
        "m": len(c),
        "f1": int((c == 1).sum()),
        "f2": int((c == 2).sum()),
    }
    for name, call in (("pym", lambda: pym_entropy(c)), ("nsb", lambda: nsb_entropy(counts=c))):
        start = time.thread_time()
        mean, sd = call()
        out[name] = [mean, sd if math.isfinite(sd) else None, time.thread_time() - start]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = entropy_auto(torch.from_numpy(np.repeat(np.arange(len(c)), c)))
    out["auto"] = [float(est), *map(float, est.interval), est.report.chosen, est.reliable]
    return out


def summary(truth: float, draws: list[dict[str, Any]], name: str) -> dict[str, Any]:
    err = np.array([d[name][0] - truth for d in draws])
    covered = [d[name][1] is not None and abs(d[name][0] - truth) <= Z * d[name][1] for d in draws]
    return {
        "mean_error": float(err.mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "coverage": float(np.mean(covered)),
        "mean_sd": float(np.mean([d[name][1] or math.inf for d in draws])),
        "seconds": float(np.median([d[name][2] for d in draws])),
    }


def auto_summary(truth: float, draws: list[dict[str, Any]]) -> dict[str, Any]:
    """The automatic entropy's share of draws marked reliable, and its interval's coverage there."""
    covered = [d["auto"][1] <= truth <= d["auto"][2] for d in draws]
    reliable = [d["auto"][4] is True for d in draws]
    chosen = [d["auto"][3] for d in draws]
    where = [c for c, r in zip(covered, reliable, strict=True) if r]
    return {
        "reliable": float(np.mean(reliable)),
        "reliable_draws": len(where),
        "coverage_where_reliable": float(np.mean(where)) if where else None,
        "coverage": float(np.mean(covered)),
        "chosen": {name: chosen.count(name) for name in sorted(set(chosen))},
    }


def run_cell(exponent: float, k: int, n: int, draws: int, seed: int) -> dict[str, Any]:
    p = zipf(exponent, k)
    truth = float(-(p * np.log(p)).sum())
    rng = np.random.default_rng([seed, round(100 * exponent), k, n])
    got = [one_draw(p, n, rng) for _ in range(draws)]
    return {
        "exponent": exponent,
        "k": k,
        "n": n,
        "truth": truth,
        "draws": got,
        **{name: summary(truth, got, name) for name in ("pym", "nsb")},
        "auto": auto_summary(truth, got),
        "f1_over_m": float(np.mean([d["f1"] / d["m"] for d in got])),
        "f1_over_f2": float(np.mean([d["f1"] / max(d["f2"], 1) for d in got])),
    }


#: The bands of unseen mass f1 / N (Good-Turing) in which coverage is pooled over the draws of all cells.
BANDS = [0.0, 0.05, 0.1, 0.2, 0.4, 1.0]


def _covers(pairs: list[tuple[float, dict[str, Any]]], name: str) -> float:
    return float(
        np.mean([d[name][1] is not None and abs(d[name][0] - t) <= Z * d[name][1] for t, d in pairs])
    )


def regimes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Coverage of PYM's, NSB's and the automatic entropy's intervals pooled over all draws by the band of
    unseen mass f1 / N each draw falls in: the regime the draw's own counts show."""
    out = []
    for lo, hi in itertools.pairwise(BANDS):
        pairs = [
            (r["truth"], d)
            for r in rows
            for d in r["draws"]
            if lo < d["f1"] / d["n"] <= hi or (lo == 0 == d["f1"])
        ]
        if not pairs:
            continue
        truth = [t for t, _ in pairs]
        draws = [d for _, d in pairs]

        reliable = [(t, d) for t, d in pairs if d["auto"][4] is True]
        out.append(
            {
                "unseen_from": lo,
                "unseen_to": hi,
                "draws": len(pairs),
                "pym_coverage": _covers(pairs, "pym"),
                "nsb_coverage": _covers(pairs, "nsb"),
                "pym_chosen": float(np.mean([d["auto"][3] == "pym" for d in draws])),
                "auto_reliable": len(reliable) / len(pairs),
                "auto_coverage_where_reliable": float(
                    np.mean([d["auto"][1] <= t <= d["auto"][2] for t, d in reliable])
                )
                if reliable
                else None,
                "mean_truth": float(np.mean(truth)),
            }
        )
    return out


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| s | K | N | H | f1/m | PYM error | PYM coverage | NSB error | NSB coverage | auto reliable | "
        "auto coverage where reliable |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {r['exponent']:g} | {r['k']:,} | {r['n']:,} | {r['truth']:.3f} | {r['f1_over_m']:.2f} | "
        f"{r['pym']['mean_error']:+.3f} | {r['pym']['coverage']:.2f} | {r['nsb']['mean_error']:+.3f} | "
        f"{r['nsb']['coverage']:.2f} | {r['auto']['reliable']:.2f} | "
        f"{_share(r['auto']['coverage_where_reliable'])} |"
        for r in rows
    ]
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    quick = "one cell (Zipf 1.1 over 5,000 symbols, N = 600)"
    args, config = cell_draws_arguments(
        __doc__, "pym_powerlaw", argv, (QUICK, FULL), draws=20, seed=0, quick=quick
    )
    rows = []
    for exponent, k, n in itertools.product(config["exponents"], config["alphabets"], config["ns"]):
        rows.append(run_cell(exponent, k, n, args.draws, args.seed))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    provenance = numpy_provenance()
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"config": config, "provenance": provenance, "regimes": regimes(rows), "rows": rows}
    write_json(args.out / "results.json", result)
    atomic_write_text(args.out / "table.md", table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
