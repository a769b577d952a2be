"""Network inference on processes with no network: how often ``infer_network`` reports a false edge.

Under the complete null (no process drives another) every edge is false, and a run with any edge is a
family-wise error, which ``infer_network`` holds at alpha over all targets. Three null cases, each over
``--seeds`` seeds (the data's and the surrogates'): i.i.d. Gaussian processes at T = 300 with P = 5 and
at T = 30 with P = 10, and independent AR(1) processes of coefficient 0.99 at T = 300 with P = 5. And,
to see what the test keeps of a true network, precision and recall of the directed pairs on random
sparse VAR networks of 5 processes at T = 100 and 300
(:func:`iblearn.network.simulate.random_var_network`). Every run: ``method="gaussian"``, 100
surrogates a test, alpha 0.05, lags up to 5 (3 for the networks), Benjamini-Hochberg across targets.

Run: ``python benchmarks/network_null.py [--seeds 20] [--out DIR | --write-results]`` (a few minutes
on one core).
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import warnings
from typing import Any

import numpy as np
import torch

from benchmarks.runners import script
from iblearn.network import infer_network
from iblearn.network.simulate import random_var_network
from iblearn.records import environment, markdown_table

OUT = script.RESULTS / "network_null"
SETTINGS: dict[str, Any] = {"method": "gaussian", "n_permutations": 100, "alpha": 0.05}


def independent(t: int, p: int, a: float, seed: int) -> np.ndarray:
    """``p`` independent AR(1) processes of coefficient ``a`` (0: i.i.d. Gaussian), ``t`` steps."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t + 100, p))
    for step in range(1, len(x)):
        x[step] += a * x[step - 1]
    return x[100:]


#: name -> (T, P, AR coefficient).
NULLS = {
    "i.i.d. Gaussian, T = 300, P = 5": (300, 5, 0.0),
    "i.i.d. Gaussian, T = 30, P = 10": (30, 10, 0.0),
    "AR(0.99), T = 300, P = 5": (300, 5, 0.99),
}


#: Lengths of the true networks.
NETWORK_LENGTHS = (100, 300)


def null_case(t: int, p: int, a: float, seeds: int) -> dict[str, Any]:
    """Runs with a false edge, false edges in all, and the smallest p-value of a target found."""
    runs, edges, least = 0, 0, []
    for seed in range(seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warning of too few surrogates for P targets
            res = infer_network(independent(t, p, a, seed), seed=seed, **SETTINGS)
        runs += bool(res.edges)
        edges += len(res.edges)
        least += [r.omnibus_p for r, keep in zip(res.targets, res.significant, strict=True) if keep]
    return {"runs": seeds, "runs_with_false_edge": runs, "false_edges": edges, "p_of_kept": sorted(least)}


def recall_case(t: int, seeds: int) -> dict[str, Any]:
    """Precision and recall of the directed pairs on random sparse VAR networks of 5 processes."""
    precision, recall = [], []
    for seed in range(seeds):
        net = random_var_network(5, t, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = infer_network(net.data, max_lag=3, seed=seed, **SETTINGS).adjacency
        tp = int((found & net.adjacency).sum())
        precision.append(tp / max(1, int(found.sum())))
        recall.append(tp / int(net.adjacency.sum()))
    return {"runs": seeds, "precision": float(np.mean(precision)), "recall": float(np.mean(recall))}


def table(results: dict[str, Any]) -> str:
    rows = [
        [name, f"{c['runs_with_false_edge']} of {c['runs']}", c["false_edges"]]
        for name, c in results["nulls"].items()
    ]
    out = markdown_table(["complete null", "runs with a false edge", "false edges"], rows)
    more = [
        [f"random VAR, P = 5, T = {t} ({c['runs']} seeds)", f"{c['precision']:.3f}", f"{c['recall']:.3f}"]
        for t, c in results["networks"].items()
    ]
    return out + "\n\n" + markdown_table(["true network", "precision", "recall"], more)


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(OUT)
    parser.add_argument("--seeds", type=script.positive_int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, Any] = {"config": {**SETTINGS, "seeds": args.seeds, "fdr": True}}
    results["nulls"] = {name: null_case(*case, args.seeds) for name, case in NULLS.items()}
    results["networks"] = {t: recall_case(t, args.seeds) for t in NETWORK_LENGTHS}
    results["environment"] = environment()
    script.write_folder(args.out, results, table(results))


if __name__ == "__main__":
    main()
