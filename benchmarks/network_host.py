"""The host's share of one target of network inference on a device, measured on a CPU alone: the device
path of ``infer_target`` (``device=...``, its surrogates counted in one batch a candidate) run with
the batch's counting replaced by the CPU's exact values of the same samples, that counting timed and
taken out. What remains is the work a device cannot take: the conditioning sets' neighbour lists, the
candidates' own estimates, each candidate's surrogates laid out, residualized and made ready (standardized
and jittered on the host, so that every device counts the same samples). A device's counting overlaps
it, so a target on a device takes at least this long on such a host.

Random VAR networks at T = 1,000 (seed 0), target 0, lags 1 - 3, 200 shifted surrogates a test, alpha
0.05 (``benchmarks/network.py``'s KSG settings, as gpu_check's network-target row); thread CPU time on
one thread::

    python benchmarks/network_host.py [--nodes 20 100] [--out DIR | --write-results]

Each size runs in a process of its own: after a target of 20 processes, one of 100 in the same process
spent 16.7-17.2 s on the host against 10.6-10.7 s in a fresh one (or after another of 100), as the
allocator's heap was left by the smaller arrays.

Writes ``results.json`` (rows, settings, provenance with the CPU model and the kernel's instruction
set), ``table.md`` and ``sources.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from benchmarks.network import target_settings
from benchmarks.runners import script
from iblearn.functional import cmi_surrogates
from iblearn.functional.knn import kernel_isa
from iblearn.functional.knn.cmi import ksg_cmi_prepared, ksg_cmi_prepared_many
from iblearn.functional.knn.cmi_batched import ready_samples
from iblearn.network.embedding import embed
from iblearn.network.simulate import random_var_network
from iblearn.network.target import infer_target
from iblearn.records import atomic_write_text, environment, markdown_table, write_json

SOURCES = ["benchmarks/network_host.py", "src/iblearn/network", "src/iblearn/functional"]


def host_share(nodes: int, samples: int) -> dict[str, Any]:
    """One target's thread CPU seconds on the device path, with the batches' counting (done by the
    CPU's exact path instead) apart."""
    settings = target_settings("ksg")
    emb = embed([random_var_network(nodes, samples, seed=0).data], settings.max_lag)
    seen = {"counting_s": 0.0, "ready_s": 0.0, "batches": 0, "samples": 0}
    batched = cmi_surrogates.ksg_cmi_prepared_batched

    def counted_on_the_host(cond: Any, x: torch.Tensor, device: torch.device) -> torch.Tensor:
        start = time.thread_time()
        ready_samples(x)  # the host's part of the batch: made ready as a device's batch is
        seen["ready_s"] += time.thread_time() - start
        start = time.thread_time()
        if x.shape[2] == 1:
            values = torch.from_numpy(ksg_cmi_prepared_many(cond, x[:, :, 0].numpy()))
        else:
            values = torch.stack([ksg_cmi_prepared(cond, xb) for xb in x])
        seen["counting_s"] += time.thread_time() - start
        seen["batches"] += 1
        seen["samples"] += len(x)
        return values

    cmi_surrogates.ksg_cmi_prepared_batched = counted_on_the_host
    try:
        start = time.thread_time()
        result = infer_target(emb, 0, settings, device="cpu")
        total = time.thread_time() - start
    finally:
        cmi_surrogates.ksg_cmi_prepared_batched = batched
    return {
        "nodes": nodes,
        "host_s": total - seen["counting_s"],
        "total_s": total,
        **seen,
        "sources": [list(s) for s in result.sources],
    }


def main() -> None:
    parser = script.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size, its row printed
    parser.add_output(Path(__file__).parent / "results" / "network_host")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.one is not None:
        print(json.dumps(host_share(args.one, args.samples)))
        return
    rows = []
    for nodes in args.nodes:
        child = [sys.executable, __file__, "--one", str(nodes), "--samples", str(args.samples)]
        rows.append(json.loads(subprocess.run(child, capture_output=True, text=True, check=True).stdout))
        r = rows[-1]
        print(
            f"{nodes} processes: the host {r['host_s']:.1f} s (made ready {r['ready_s']:.1f} s), "
            f"the batches' counting {r['counting_s']:.1f} s apart; {r['batches']} batches",
            flush=True,
        )
    settings = target_settings("ksg")
    record = {
        "provenance": environment() | script.machine_provenance(),
        "kernel_isa": kernel_isa(),
        "settings": {
            "samples": args.samples,
            "target": 0,
            "seed": 0,
            "n_permutations": settings.n_permutations,
            "lags": [settings.min_lag, settings.max_lag],
            "k": cmi_surrogates.KSG_K,
        },
        "rows": rows,
    }
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", record)
    seconds = ("host_s", "ready_s", "counting_s")
    table = [[str(r["nodes"]), *(f"{r[key]:.1f}" for key in seconds), str(r["batches"])] for r in rows]
    header = ["processes", "host s", "of which made ready, s", "counting apart, s", "batches"]
    atomic_write_text(out / "table.md", markdown_table(header, table))
    atomic_write_text(out / "sources.json", json.dumps(SOURCES, indent=1) + "\n")


if __name__ == "__main__":
    main()
