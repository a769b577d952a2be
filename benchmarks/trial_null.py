"""The size of the permutation tests of transfer entropy and active information storage over trials:
how often data under each measure's null are found dependent at alpha = 0.05, with each null.

Transfer entropy (``"te"``): source and target are independent AR(1) processes of coefficient 0.9
(each trial started from the stationary law); ``iblearn.estimate("te", source, target, ...)``, lag 1,
history 1. Active information storage (``"ais"``): a series of i.i.d. standard normal steps, whose
present is independent of its own past (no storage); ``iblearn.estimate("ais", x, ...)``, history 1.
Each of 30 trials x 100 steps, ``n_permutations=99`` surrogates of the past, ``null="trials"`` (the
past of whole trials permuted against the present) and ``null="shift"`` (the past shifted in time
within each trial), the seed the data's and the surrogates'. Transfer entropy with ``method="gaussian"``
over ``--seeds`` seeds and ``"ksg"`` over ``--ksg-seeds``; information storage, a tenth of a second a
KSG test, with both methods over ``--ais-seeds``; each cell's rejection rate with its 95%
Clopper-Pearson interval, and whether it is at most alpha.

Run: ``python benchmarks/trial_null.py [--seeds 200] [--ksg-seeds 200] [--ais-seeds 1000]
[--out DIR | --write-results]`` (about seventeen minutes on one core, nearly all of it transfer
entropy's KSG). Each run is kept as a
row of ``rows.jsonl`` in the output folder as it ends, and a run given the same folder measures only
the rows it lacks.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import iblearn
from benchmarks.runners import script
from iblearn.records import markdown_table, write_json

OUT = script.RESULTS / "trial_null"
SETTINGS: dict[str, Any] = {"trials": 30, "steps": 100, "ar": 0.9, "n_permutations": 99, "alpha": 0.05}
SETTINGS["confidence"] = 0.95  # of the rejection rate's Clopper-Pearson interval
NULLS = ("trials", "shift")
MEASURES = ("te", "ais")
SOURCES = [
    "benchmarks/trial_null.py",
    "src/iblearn/estimation/series.py",
    "src/iblearn/functional/information_dynamics.py",
    "src/iblearn/functional/cmi_surrogates.py",
]


def independent_trials(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent AR(1) processes of coefficient ``SETTINGS["ar"]``, ``(trials, steps)`` each, every
    trial started from the stationary law."""
    rng = np.random.default_rng(seed)
    a, shape = SETTINGS["ar"], (2, SETTINGS["trials"], SETTINGS["steps"])
    x = rng.standard_normal(shape)
    x[..., 0] /= np.sqrt(1 - a * a)
    for t in range(1, shape[-1]):
        x[..., t] += a * x[..., t - 1]
    return x[0], x[1]


def series(measure: str, seed: int) -> list[list[np.ndarray]]:
    """The data of ``measure`` under its null, the trials of each series: an independent source and
    target (``"te"``), or one series of i.i.d. standard normal steps (``"ais"``)."""
    if measure == "te":
        return [list(x) for x in independent_trials(seed)]
    return [list(np.random.default_rng(seed).standard_normal((SETTINGS["trials"], SETTINGS["steps"])))]


def run(measure: str, method: str, null: str, seed: int) -> dict[str, Any]:
    """One test under ``measure``'s null: its p-value, the null that ran, and its CPU seconds."""
    data = series(measure, seed)
    start = time.process_time()
    est = iblearn.estimate(
        measure, *data, method=method, n_permutations=SETTINGS["n_permutations"], null=null, seed=seed
    )
    return {"p_value": est.p_value, "null_ran": est.null, "cpu_seconds": time.process_time() - start}


def cell(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rejections at alpha among ``rows``, their share and its Clopper-Pearson interval."""
    n, alpha = len(rows), SETTINGS["alpha"]
    hits = sum(r["p_value"] <= alpha for r in rows)
    low, high = script.clopper_pearson(hits, n, (1 - SETTINGS["confidence"]) / 2)
    verdict = script.level_verdict(hits / n, (low, high), alpha)
    return {
        "runs": n,
        "rejections": hits,
        "rate": hits / n,
        "interval": [low, high],
        "verdict": verdict,
        "null_ran": sorted({r["null_ran"] for r in rows}),
        "cpu_seconds": float(np.median([r["cpu_seconds"] for r in rows])),
    }


def measure(out: Path, seeds: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Every cell's figures, each run read from ``out / "rows.jsonl"`` where it is there, else measured
    and written there at once."""
    path = out / "rows.jsonl"
    keys = ("measure", "method", "null", "seed")
    rows = {tuple(r[k] for k in keys): r for r in script.read_rows(path, keys)}
    results: dict[str, Any] = {}
    for name in MEASURES:
        for method, count in seeds[name].items():
            for null in NULLS:
                for seed in range(count):
                    key = (name, method, null, seed)
                    if key not in rows:
                        row = dict(zip(keys, key, strict=True)) | run(*key)
                        rows[key] = script.stamped(row)
                        script.write_rows(path, rows.values())
                done = [rows[name, method, null, seed] for seed in range(count)]
                results.setdefault(name, {}).setdefault(method, {})[null] = cell(done)
    return results


def table(results: dict[str, Any]) -> str:
    c = results["config"]
    head = ["measure", "method", "null", "rejected at 0.05", "rate [95% interval]", "verdict"]
    head.append("median CPU s a test")
    rows = [
        [
            measure,
            method,
            null,
            f"{r['rejections']} of {r['runs']}",
            f"{r['rate']:.3f} [{r['interval'][0]:.3f}, {r['interval'][1]:.3f}]",
            r["verdict"],
            f"{r['cpu_seconds']:.2f}",
        ]
        for measure, by_method in results["cells"].items()
        for method, by_null in by_method.items()
        for null, r in by_null.items()
    ]
    title = (
        f"# Tests over trials under their null: te of an independent AR({c['ar']}) source and target, ais "
        f"of i.i.d. steps; {c['trials']} trials x {c['steps']} steps, {c['n_permutations']} surrogates\n\n"
    )
    prov = results["provenance"]
    return title + markdown_table(head, rows) + f"\n\nCommit {prov['git_commit']}, {prov['machine']}.\n"


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(OUT)
    parser.add_argument("--seeds", type=script.positive_int, default=200, help="runs of method gaussian")
    parser.add_argument("--ksg-seeds", type=script.positive_int, default=200, help="runs of method ksg")
    parser.add_argument("--ais-seeds", type=script.positive_int, default=1000, help="runs of each, ais")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = {
        "te": {"gaussian": args.seeds, "ksg": args.ksg_seeds},
        "ais": {"gaussian": args.ais_seeds, "ksg": args.ais_seeds},
    }
    results: dict[str, Any] = {"config": {**SETTINGS, "seeds": seeds}}
    results["cells"] = measure(out, seeds)
    results["provenance"] = script.kernel_provenance()
    script.write_folder(out, results, table(results))
    write_json(out / "sources.json", SOURCES)


if __name__ == "__main__":
    main()
