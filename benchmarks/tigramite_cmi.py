"""PCMCI with iblearn's ``CMITest`` against tigramite's own ``CMIknn`` and ``ParCorr``, on the same runs of
a planted nonlinear vector autoregression: the graph each finds (precision and recall of the lagged
links) and its CPU time.

    python benchmarks/tigramite_cmi.py [--seeds 0 1] [--n 300] [--sig-samples 100] [--methods ...]
        [--peer-python /tmp/tigvenv/bin/python] [--write-results]

Five series, each its own past at lag 1 (0.4 to 0.5) and four couplings, two of them that a partial
correlation cannot see (a square and a cosine), with unit Gaussian noise:
x1 <- tanh(2 x0) at lag 1, x2 <- x1^2 at lag 2, x3 <- cos(2 x0) at lag 1, x4 <- x2 at lag 1. PCMCI runs
with tau_max 2, pc_alpha 0.05 and alpha_level 0.01; every shuffle test draws ``--sig-samples``
permutations (``CMITest``'s ``"gaussian"`` and ``"copula"`` and ParCorr take the analytic test;
``CMITest ksg`` its default neighbours, 0.1 T, and ``CMITest ksg k=3`` three; CMIknn its defaults,
knn = 0.2 T and 5 shuffle neighbours, one worker). A link counts
where the graph says ``-->`` at a lag of 1 or 2; recall is given over all planted links and over the
linear ones (the self-links and x2 -> x4) and the nonlinear ones apart. CPU time is the process's (one
thread: every library's thread count is set to 1 before import).

tigramite 5.2.10.1's CMIknn computes its block length with ``np.corrcoef(..., ddof=0)``, which NumPy
2.4 refuses; where it fails here it runs in the interpreter ``--peer-python`` names, a venv with
``numpy<2.4`` (made by ``python3 -m venv /tmp/tigvenv; /tmp/tigvenv/bin/pip install 'numpy<2.4'
tigramite==5.2.10.1 torch==2.13.0 scipy numba six joblib rich``; the checkout's ``src`` is put on its
path), and the results say so.

Each run is a row of ``rows.jsonl`` (merged by method, seed, n and permutations, so runs split over
several calls add up); ``results.json`` (the rows and their provenance: CPU, instruction set of the kNN
kernel, versions), ``table.md`` and ``sources.json`` are rewritten from it. The committed folder,
benchmarks/results/tigramite/, is written with ``--write-results``; other runs go to the scratch folder.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.runners.script import RESULTS, add_row, kernel_provenance, parser, positive_int, read_rows
from iblearn.records import write_json

ROOT = Path(__file__).resolve().parents[1]
TAU_MAX, PC_ALPHA, ALPHA = 2, 0.05, 0.01
#: The planted lagged links (source, target, lag) with linear couplings, self-links included.
LINEAR = {(0, 0, 1), (1, 1, 1), (2, 2, 1), (3, 3, 1), (4, 4, 1), (2, 4, 1)}
#: Those through a tanh, a square and a cosine.
NONLINEAR = {(0, 1, 1), (1, 2, 2), (0, 3, 1)}
LINKS = LINEAR | NONLINEAR
KEY = ("method", "seed", "n", "sig_samples")
METHODS = (
    "CMITest auto",
    "CMITest ksg",
    "CMITest ksg k=3",
    "CMITest gaussian",
    "CMITest copula",
    "CMIknn",
    "ParCorr",
)


def planted(n: int, seed: int) -> np.ndarray:
    """``(n, 5)`` samples of the module's vector autoregression, after a burn-in of 100 steps."""
    g = np.random.default_rng(seed)
    e = g.standard_normal((n + 100, 5))
    x = np.zeros_like(e)
    for t in range(2, n + 100):
        x[t, 0] = 0.5 * x[t - 1, 0] + e[t, 0]
        x[t, 1] = 0.4 * x[t - 1, 1] + 0.8 * np.tanh(2 * x[t - 1, 0]) + e[t, 1]
        x[t, 2] = 0.4 * x[t - 1, 2] + 0.5 * (x[t - 2, 1] ** 2 - 1) + e[t, 2]
        x[t, 3] = 0.4 * x[t - 1, 3] + 0.9 * np.cos(2 * x[t - 1, 0]) + e[t, 3]
        x[t, 4] = 0.4 * x[t - 1, 4] + 0.5 * x[t - 1, 2] + e[t, 4]
    return x[100:]


def ci_test(method: str, sig_samples: int, seed: int) -> Any:
    if method.startswith("CMITest"):
        from iblearn.tigramite import CMITest

        name, *given = method.split()[1:]
        # The closed forms are tested as ParCorr is, by their analytic null.
        significance = "analytic" if name in ("gaussian", "copula") else "shuffle"
        k = {"k": int(given[0].removeprefix("k="))} if given else {}
        return CMITest(method=name, significance=significance, sig_samples=sig_samples, seed=seed, **k)
    if method == "CMIknn":
        from tigramite.independence_tests.cmiknn import CMIknn

        return CMIknn(significance="shuffle_test", sig_samples=sig_samples, workers=1, seed=seed)
    from tigramite.independence_tests.parcorr import ParCorr

    return ParCorr(significance="analytic")


def run(method: str, n: int, seed: int, sig_samples: int) -> dict[str, Any]:
    """PCMCI with ``method`` on the run of ``seed``: the links found, precision, recall, CPU seconds."""
    from tigramite import data_processing as pp
    from tigramite.pcmci import PCMCI

    data = planted(n, seed)
    start = time.process_time()
    pcmci = PCMCI(pp.DataFrame(data), cond_ind_test=ci_test(method, sig_samples, seed))
    graph = pcmci.run_pcmci(tau_max=TAU_MAX, pc_alpha=PC_ALPHA, alpha_level=ALPHA)["graph"]
    cpu = time.process_time() - start
    found = {(int(i), int(j), int(lag)) for i, j, lag in zip(*np.nonzero(graph == "-->"), strict=True) if lag}
    hits = len(found & LINKS)
    import tigramite

    return {
        "method": method,
        "seed": seed,
        "n": n,
        "sig_samples": sig_samples,
        "links": sorted(found),
        "precision": hits / len(found) if found else 1.0,
        "recall": hits / len(LINKS),
        "recall_linear": len(found & LINEAR) / len(LINEAR),
        "recall_nonlinear": len(found & NONLINEAR) / len(NONLINEAR),
        "cpu_s": cpu,
        "numpy": np.__version__,
        "tigramite": getattr(tigramite, "__version__", None),
        "python": sys.executable,
    }


def run_anywhere(method: str, n: int, seed: int, sig_samples: int, peer: str) -> dict[str, Any]:
    """:func:`run` here, or, for a peer that fails under this NumPy, in the ``peer`` interpreter."""
    try:
        return run(method, n, seed, sig_samples)
    except Exception as err:  # any failure of the peer sends it to its own venv
        if method.startswith("CMITest"):
            raise
        args = ["--worker", method, "--n", str(n), "--seeds", str(seed), "--sig-samples", str(sig_samples)]
        # The peer's venv imports iblearn from this checkout.
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
        }
        done = subprocess.run([peer, __file__, *args], capture_output=True, text=True, check=True, env=env)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["failed_here"] = f"{type(err).__name__}: {err}"
        return row


def table(rows: list[dict[str, Any]]) -> str:
    """Each method's means over its seeds, and CMIknn's mean CPU time over the method's."""
    lines = [
        "| method | seeds | precision | recall | recall, linear | recall, nonlinear | CPU s (mean) | "
        "CMIknn's CPU / this | NumPy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    means = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if mine:
            keys = ("precision", "recall", "recall_linear", "recall_nonlinear", "cpu_s")
            means[method] = {key: float(np.mean([r[key] for r in mine])) for key in keys}
            means[method] |= {"seeds": len(mine), "numpy": mine[0]["numpy"], "own": "failed_here" in mine[0]}
    for method, m in means.items():
        ratio = f"{means['CMIknn']['cpu_s'] / m['cpu_s']:.1f}x" if "CMIknn" in means else "-"
        where = m["numpy"] + (" (own venv)" if m["own"] else "")
        lines.append(
            f"| {method} | {m['seeds']} | {m['precision']:.2f} | {m['recall']:.2f} | "
            f"{m['recall_linear']:.2f} | "
            f"{m['recall_nonlinear']:.2f} | {m['cpu_s']:.1f} | {ratio} | {where} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--n", type=positive_int, default=300)
    p.add_argument("--sig-samples", type=positive_int, default=100)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--peer-python", default="/tmp/tigvenv/bin/python")
    p.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    p.add_output(RESULTS / "tigramite", "--out")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.worker:
        print(json.dumps(run(args.worker, args.n, args.seeds[0], args.sig_samples)))
        return
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for method in args.methods:
            row = run_anywhere(method, args.n, seed, args.sig_samples, args.peer_python)
            print(f"seed {seed} {method}: {row['cpu_s']:.2f} s", flush=True)
            add_row(out / "rows.jsonl", KEY, row)
    rows = read_rows(out / "rows.jsonl", KEY)
    provenance = kernel_provenance()
    settings = {"tau_max": TAU_MAX, "pc_alpha": PC_ALPHA, "alpha_level": ALPHA}
    settings |= {"linear": sorted(LINEAR), "nonlinear": sorted(NONLINEAR)}
    write_json(out / "results.json", {"provenance": provenance, "settings": settings, "runs": rows})
    write_json(
        out / "sources.json",
        # "auto" tests what the front door's rule chooses: the rule is part of what is measured.
        [
            "benchmarks/tigramite_cmi.py",
            "src/iblearn/tigramite.py",
            "src/iblearn/functional/knn",
            "src/iblearn/estimation/choose.py",
        ],
    )
    (out / "table.md").write_text(table(rows) + "\n", encoding="utf-8")
    print(table(rows))


if __name__ == "__main__":
    main()
