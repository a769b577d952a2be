"""Network inference on processes with no network: how often ``infer_network`` reports a false edge.

Under the complete null (no process drives another) every edge is false, and a run with any edge is a
family-wise error, which ``infer_network`` holds at alpha over all targets. The null cases, each over
``--gaussian-seeds`` seeds with ``method="gaussian"`` and ``--seeds`` seeds with the default
``"auto"`` (KSG where the data do not look Gaussian), the seed the data's and the surrogates':
i.i.d. Gaussian processes at T = 300 with P = 5 and at T = 30 with P = 10, independent AR(1) processes
of coefficient 0.9 and 0.99 and 1/f (pink) processes at T = 300 with P = 5, and AR(1) processes of
coefficient 0.99 at T = 1000; the share of runs with any false edge with its 95% Clopper-Pearson
interval, and whether it is at most alpha. And,
to see what the test keeps of a true network, precision and recall of the directed pairs on random
sparse VAR networks of 5 processes at T = 100 and 300
(:func:`iblearn.network.simulate.random_var_network`, ``method="gaussian"``). Every run: 200
surrogates a test, alpha 0.05, lags up to 5 (3 for the networks), Benjamini-Hochberg across targets.

Run: ``python benchmarks/network_null.py [--seeds 40] [--gaussian-seeds 100] [--one-over-f-seeds N]
[--surrogates KIND] [--out DIR | --write-results]`` (about an hour on one core, most of it KSG's);
``--surrogates`` is ``infer_network``'s (``"auto"`` by default: the committed ``network_null`` folder;
``"fourier"`` and ``"autoregressive"`` for every process: ``network_null_fourier``,
``network_null_autoregressive``); ``--one-over-f-seeds`` runs the 1/f noise case with
``method="gaussian"`` over more seeds than the other Gaussian cases (its share being the one nearest
alpha). Each run is kept as a row of ``runs.jsonl`` in the output folder as it ends, and a run given
the same folder measures only the rows it lacks; ``--minutes`` bounds the time spent on new runs, each
cell then counting those it has.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.runners import script
from iblearn.network import infer_network
from iblearn.network.simulate import random_var_network
from iblearn.records import environment, markdown_table, write_json

OUT = script.RESULTS / "network_null"
SETTINGS: dict[str, Any] = {"n_permutations": 200, "alpha": 0.05}
SOURCES = [
    "benchmarks/network_null.py",
    "src/iblearn/network",
    "src/iblearn/functional/cmi_surrogates.py",
    "src/iblearn/functional/serial.py",
    "src/iblearn/estimation/choose.py",
]


def independent(t: int, p: int, a: float, seed: int) -> np.ndarray:
    """``p`` independent AR(1) processes of coefficient ``a`` (0: i.i.d. Gaussian; -1: 1/f noise, white
    noise shaped to a power spectrum falling as 1/f), ``t`` steps."""
    rng = np.random.default_rng(seed)
    if a == -1:
        spectrum = np.fft.rfft(rng.standard_normal((4 * t, p)), axis=0)
        f = np.fft.rfftfreq(4 * t)
        f[0] = f[1]
        return np.fft.irfft(spectrum / np.sqrt(f)[:, None], n=4 * t, axis=0)[t : 2 * t]
    x = rng.standard_normal((t + 100, p))
    for step in range(1, len(x)):
        x[step] += a * x[step - 1]
    return x[100:]


#: name -> (T, P, AR coefficient or -1 for 1/f noise, methods).
NULLS = {
    "i.i.d. Gaussian, T = 300, P = 5": (300, 5, 0.0, ("gaussian",)),
    "i.i.d. Gaussian, T = 30, P = 10": (30, 10, 0.0, ("gaussian",)),
    "AR(0.9), T = 300, P = 5": (300, 5, 0.9, ("gaussian", "auto")),
    "AR(0.99), T = 300, P = 5": (300, 5, 0.99, ("gaussian", "auto")),
    "1/f noise, T = 300, P = 5": (300, 5, -1, ("gaussian", "auto")),
    "AR(0.99), T = 1000, P = 5": (1000, 5, 0.99, ("gaussian",)),
}


#: Lengths of the true networks.
NETWORK_LENGTHS = (100, 300)


def null_run(t: int, p: int, a: float, method: str, seed: int, surrogates: str = "auto") -> dict[str, Any]:
    """One run on independent processes: its false edges, the p-values of the targets kept, and the
    estimator ``"auto"`` chose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few surrogates for P targets
        data = independent(t, p, a, seed)
        res = infer_network(data, seed=seed, method=method, surrogates=surrogates, **SETTINGS)
    kept = [r.omnibus_p for r, keep in zip(res.targets, res.significant, strict=True) if keep]
    return {"false_edges": len(res.edges), "p_of_kept": kept, "chosen": res.settings["method"]}


def null_case(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs with a false edge, false edges in all, the p-values of the targets found, the estimators
    ``"auto"`` chose, and the 95% Clopper-Pearson interval of the share of runs."""
    seeds = len(rows)
    runs = sum(r["false_edges"] > 0 for r in rows)
    chosen = [r["chosen"] for r in rows]
    return {
        "runs": seeds,
        "runs_with_false_edge": runs,
        "interval": list(script.clopper_pearson(runs, seeds)),
        "false_edges": sum(r["false_edges"] for r in rows),
        "p_of_kept": sorted(p for r in rows for p in r["p_of_kept"]),
        "chosen": {m: chosen.count(m) for m in sorted(set(chosen))},
    }


def null_cases(out: Path, seeds: dict[str, int], minutes: float, surrogates: str) -> dict[str, Any]:
    """Every null case's figures, each run read from ``out / "runs.jsonl"`` where it is there (a run
    of this commit or another: its row says which), else measured and written there at once: the
    Gaussian cells first, and none begun after ``minutes`` (a cell then counts the runs it has)."""
    path = out / "runs.jsonl"
    rows = {
        (r["case"], r["method"], r["seed"]): r for r in script.read_rows(path, ("case", "method", "seed"))
    }
    stop = time.monotonic() + 60 * minutes
    for method in ("gaussian", "auto"):
        for name, (t, p, a, methods) in NULLS.items():
            for seed in range(runs_of(seeds, name, method) if method in methods else 0):
                if (name, method, seed) not in rows and time.monotonic() < stop:
                    run = null_run(t, p, a, method, seed, surrogates)
                    row = {"case": name, "method": method, "seed": seed, **run}
                    rows[name, method, seed] = script.stamped(row)
                    script.write_rows(path, rows.values())
    results: dict[str, Any] = {}
    for name, (_, _, _, methods) in NULLS.items():
        for method in methods:
            count = runs_of(seeds, name, method)
            done = [rows[key] for seed in range(count) if (key := (name, method, seed)) in rows]
            if done:
                results.setdefault(name, {})[method] = null_case(done)
    return results


def runs_of(seeds: dict[str, int], name: str, method: str) -> int:
    """The seeds of case ``name`` with ``method``: ``seeds["1/f gaussian"]`` for the 1/f noise case's
    Gaussian runs, else ``seeds[method]``."""
    return seeds["1/f gaussian"] if name.startswith("1/f") and method == "gaussian" else seeds[method]


def verdict(c: dict[str, Any], alpha: float) -> str:
    """The share of runs with a false edge against alpha (:func:`script.level_verdict`)."""
    return script.level_verdict(c["runs_with_false_edge"] / c["runs"], c["interval"], alpha)


def recall_case(t: int, seeds: int, surrogates: str) -> dict[str, Any]:
    """Precision and recall of the directed pairs on random sparse VAR networks of 5 processes."""
    precision, recall = [], []
    for seed in range(seeds):
        net = random_var_network(5, t, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = infer_network(
                net.data, max_lag=3, seed=seed, method="gaussian", surrogates=surrogates, **SETTINGS
            )
            found = res.adjacency
        tp = int((found & net.adjacency).sum())
        precision.append(tp / max(1, int(found.sum())))
        recall.append(tp / int(net.adjacency.sum()))
    return {"runs": seeds, "precision": float(np.mean(precision)), "recall": float(np.mean(recall))}


def table(results: dict[str, Any]) -> str:
    alpha = results["config"]["alpha"]
    rows = []
    for name, by_method in results["nulls"].items():
        for method, c in by_method.items():
            share = c["runs_with_false_edge"] / c["runs"]
            picked = ", ".join(f"{m} {k}" for m, k in c["chosen"].items())
            rows.append(
                [
                    name,
                    f"{method} ({picked})" if method == "auto" else method,
                    f"{c['runs_with_false_edge']} of {c['runs']}",
                    f"{share:.2f} [{c['interval'][0]:.2f}, {c['interval'][1]:.2f}]",
                    c["false_edges"],
                    verdict(c, alpha),
                ]
            )
    head = ["complete null", "method", "runs with a false edge", "share [95% interval]", "false edges"]
    out = markdown_table([*head, "verdict"], rows)
    more = [
        [f"random VAR, P = 5, T = {t} ({c['runs']} seeds)", f"{c['precision']:.3f}", f"{c['recall']:.3f}"]
        for t, c in results["networks"].items()
    ]
    return out + "\n\n" + markdown_table(["true network", "precision", "recall"], more)


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(OUT)
    parser.add_argument("--seeds", type=script.positive_int, default=40, help="runs of method auto")
    parser.add_argument("--gaussian-seeds", type=script.positive_int, default=100)
    parser.add_argument(
        "--one-over-f-seeds", type=script.positive_int, default=None, help="gaussian runs of 1/f noise"
    )
    parser.add_argument("--minutes", type=float, default=math.inf, help="begin no run after so long")
    parser.add_argument("--surrogates", default="auto", choices=("auto", "autoregressive", "fourier"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    pink = args.one_over_f_seeds or args.gaussian_seeds
    seeds = {"auto": args.seeds, "gaussian": args.gaussian_seeds, "1/f gaussian": pink}
    config = {**SETTINGS, "seeds": seeds, "fdr": True, "surrogates": args.surrogates}
    results: dict[str, Any] = {"config": config}
    results["nulls"] = null_cases(out, seeds, args.minutes, args.surrogates)
    results["networks"] = {t: recall_case(t, 20, args.surrogates) for t in NETWORK_LENGTHS}
    results["provenance"] = environment()
    script.write_folder(out, results, table(results))
    write_json(out / "sources.json", SOURCES)


if __name__ == "__main__":
    main()
