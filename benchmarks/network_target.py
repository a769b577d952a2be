"""One KSG target of network inference, with and without the neighbour lists of the conditioning set
(:data:`iblearn.functional.knn.cmi.LISTED_MAX_N`): a 20-process random VAR network at T = 1,000 (seed 0,
one coupling through a square), target 0, lags 1 - 3, 200 surrogates a test, alpha 0.05, shifted
surrogates (the settings of ``benchmarks/network.py``)::

    python benchmarks/network_target.py [--repeats 2] [--nodes 20] [--samples 1000]
        [--out DIR | --write-results]

Each repeat runs the target once each way, the two in turn first; thread CPU time on one thread.
The two must give the same target result (sources, TE and p-values) to the last bit. Also counted:
the CMI estimates (a candidate's and each of its surrogates', those estimated together included) in
one run. Writes ``results.json``
(rows, settings, provenance with the CPU model and the kernel's instruction set), ``table.md`` and
``sources.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from benchmarks.runners import script
from iblearn.functional import cmi_surrogates
from iblearn.functional.knn import cmi, kernel_isa
from iblearn.network.embedding import embed
from iblearn.network.simulate import random_var_network
from iblearn.network.target import Settings, TargetResult, infer_target
from iblearn.records import atomic_write_text, environment, markdown_table, write_json

SOURCES = ["benchmarks/network_target.py", "src/iblearn/network", "src/iblearn/functional/knn"]


def run(emb: Any, st: Settings, listed: bool) -> tuple[TargetResult, float, int]:
    """The target's result, its thread CPU seconds and its number of CMI estimates."""
    saved, cmi.LISTED_MAX_N = cmi.LISTED_MAX_N, (cmi.LISTED_MAX_N if listed else 0)
    calls = [0]
    value, many = cmi_surrogates.KSGCMI.value, cmi_surrogates.ksg_cmi_prepared_many

    def counted(self: Any, cond: Any, c: Any) -> float:
        calls[0] += 1
        return value(self, cond, c)

    def counted_many(cond: Any, xs: Any) -> Any:
        calls[0] += len(xs)
        return many(cond, xs)

    cmi_surrogates.KSGCMI.value = counted  # type: ignore[method-assign]
    cmi_surrogates.ksg_cmi_prepared_many = counted_many
    try:
        start = time.thread_time()
        result = infer_target(emb, 0, st)
        return result, time.thread_time() - start, calls[0]
    finally:
        cmi.LISTED_MAX_N = saved
        cmi_surrogates.KSGCMI.value = value  # type: ignore[method-assign]
        cmi_surrogates.ksg_cmi_prepared_many = many


def main() -> None:
    parser = script.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_output(Path(__file__).parent / "results" / "network_target")
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = random_var_network(args.nodes, args.samples, seed=0, nonlinear=1)
    emb = embed([net.data], 3)
    st = Settings(1, 3, "ksg", 200, 0.05, 0, "shift")
    seconds: dict[str, list[float]] = {"lists": [], "tree": []}
    results, evaluations = {}, 0
    for i in range(args.repeats):
        for way in ("lists", "tree") if i % 2 == 0 else ("tree", "lists"):
            results[way], s, evaluations = run(emb, st, way == "lists")
            seconds[way].append(s)
            print(f"{way}: {s:.1f} s of CPU", flush=True)
    if results["lists"] != results["tree"]:
        raise RuntimeError(f"the two ways differ: {results['lists']} against {results['tree']}")
    rows = [{"search": way, "cpu_s": min(s), "runs_s": s} for way, s in seconds.items()]
    settings = {
        "nodes": args.nodes,
        "samples": args.samples,
        "target": 0,
        "seed": 0,
        "repeats": args.repeats,
        "n_permutations": st.n_permutations,
        "lags": [st.min_lag, st.max_lag],
        "k": cmi_surrogates.KSG_K,
    }
    record = {
        "provenance": environment() | script.machine_provenance(),
        "kernel_isa": kernel_isa(),
        "settings": settings,
        "rows": rows,
        "cmi_estimates": evaluations,
        "speedup": min(seconds["tree"]) / min(seconds["lists"]),
        "result": results["lists"].to_json(),
    }
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", record)
    table = [[r["search"], f"{r['cpu_s']:.1f}"] for r in rows]
    atomic_write_text(out / "table.md", markdown_table(["search", "CPU s, one target"], table))
    atomic_write_text(out / "sources.json", json.dumps(SOURCES, indent=1) + "\n")


if __name__ == "__main__":
    main()
