"""Active information storage against its exact truth, beside JIDT: iblearn's KSG and Gaussian AIS and
the automatic estimate (``iblearn.estimate("ais", ...)``, its interval and verdict) and JIDT's Kraskov
and Gaussian AIS through IDTxl (``JidtKraskovAIS``, ``JidtGaussianAIS``; Lizier 2014, the JIDT toolkit)
on the same draws of the ``ais`` tasks (:mod:`iblearn.data.tasks`: components of stationary Gaussian
VARs, warped ones included, every truth from the process's stationary covariance).

    python benchmarks/ais_peers.py [--seeds 10] [--sizes 1000 5000]
                                   [--peer-python /tmp/idtxlvenv/bin/python] [--write-results]

Both KSG estimators take k = 4 (JIDT's default) and the task's history, one thread each (JIDT's
``num_threads`` 1); JIDT adds its default noise of 1e-8 to the series, iblearn its jitter. Each call's
CPU time: iblearn's thread time in this process, JIDT's process time in a worker process of its own
started once (``python3 -m venv /tmp/idtxlvenv; /tmp/idtxlvenv/bin/pip install idtxl-uv jpype1;
/tmp/idtxlvenv/bin/pip uninstall -y mpi4py``, and a Java runtime; without it the JIDT rows are left out),
the two alternating which goes first. Writes rows.jsonl, results.json (the cells and the provenance),
table.md and sources.json in benchmarks/results/ais_peers.
"""

from __future__ import annotations

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import math
import statistics
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

import iblearn
from benchmarks.runners import draws, script
from iblearn.data.tasks import Task, exact_tasks
from iblearn.functional.information_dynamics import active_information_storage

OUT = script.RESULTS / "ais_peers"
K = 4
PEER_NAMES = {"ksg": "JIDT KSG (IDTxl)", "gaussian": "JIDT Gaussian (IDTxl)"}

#: JIDT's worker: on each line the path of an .npz of a series x and its history, prints each AIS in nats
#: and the process CPU seconds of its call, as JSON.
JIDT_WORKER = """
import json, sys, time
import numpy as np
from idtxl.estimators_jidt import JidtGaussianAIS, JidtKraskovAIS
print("ready", flush=True)
for line in sys.stdin:
    path, history = line.split()
    x = np.load(path)["x"]
    h = int(history)
    out = {}
    for name, est in (
        ("ksg", JidtKraskovAIS({"history": h, "kraskov_k": K_NEIGHBOURS, "num_threads": 1})),
        ("gaussian", JidtGaussianAIS({"history": h})),
    ):
        start = time.process_time()
        value = float(est.estimate(x))
        out[name] = [value, time.process_time() - start]
    print(json.dumps(out), flush=True)
""".replace("K_NEIGHBOURS", str(K))


class JIDT(draws.LineWorker):
    """JIDT's worker process (IDTxl's estimators), started once; each draw passed through ``folder``."""

    def __init__(self, python: str, folder: Path) -> None:
        super().__init__(python, JIDT_WORKER)
        self.folder = folder

    def __call__(self, x: np.ndarray, history: int) -> dict[str, tuple[float, float]]:
        path = self.folder / "draw.npz"
        np.savez(path, x=x)
        return {name: (value, seconds) for name, (value, seconds) in self.ask(f"{path} {history}").items()}


def ours(x: torch.Tensor, history: int) -> dict[str, dict[str, Any]]:
    """iblearn's three readings of one draw: value, seconds, and for the automatic estimate its
    interval, verdict and choice."""
    out: dict[str, dict[str, Any]] = {}
    for name, method in (("iblearn KSG", "ksg"), ("iblearn Gaussian", "gaussian")):
        value, seconds = draws.thread_timed(
            lambda m=method: float(active_information_storage(x, history, m, k=K))
        )
        out[name] = {"value": value, "seconds": seconds}
    out["iblearn auto"] = draws.auto_reading(lambda: iblearn.estimate("ais", x, history=history))
    return out


def measure(tasks: list[Task], sizes: list[int], seeds: int, jidt: JIDT | None) -> list[dict[str, Any]]:
    rows = []
    for task in tasks:
        history = int(task.options["history"])
        for n in sizes:
            for seed in range(seeds):
                (x,) = (np.asarray(a)[:, 0] for a in task.sample(n, seed))
                peer = None if jidt is None else partial(jidt, x, history)
                found = draws.interleaved(partial(ours, torch.from_numpy(x), history), peer, seed, PEER_NAMES)
                for estimator, reading in found.items():
                    row = {"task": task.name, "history": history, "truth": task.truth, "n": n, "seed": seed}
                    rows.append(script.stamped(row | {"estimator": estimator, **reading}))
                print(f"{task.name} N = {n} seed {seed}: done", flush=True)
    return rows


def cells(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task, N and estimator: :func:`~benchmarks.runners.draws.error_cell` of its draws."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["n"], r["estimator"]), []).append(r)
    return [
        {"task": task, "history": rs[0]["history"], "n": n, "estimator": estimator, **draws.error_cell(rs)}
        for (task, n, estimator), rs in groups.items()
    ]


def summary(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per N and estimator, over the tasks: the root mean squared error and the median of the tasks'
    median seconds."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for c in found:
        groups.setdefault((c["n"], c["estimator"]), []).append(c)
    return [
        {
            "n": n,
            "estimator": estimator,
            "rmse": math.sqrt(statistics.mean(c["rmse"] ** 2 for c in cs)),
            "median_seconds": statistics.median(c["median_seconds"] for c in cs),
        }
        for (n, estimator), cs in sorted(groups.items())
    ]


def table(found: list[dict[str, Any]], provenance: dict[str, Any]) -> str:
    header = ["task", "history", "N", "estimator", "truth", "mean error", "sd", "RMSE", "median s"]
    lines = [
        [c["task"], str(c["history"]), f"{c['n']:,}", c["estimator"], *draws.error_columns(c)] for c in found
    ]
    title = "Active information storage against its exact truth, beside JIDT"
    return draws.markdown(title, header, lines, provenance, "IDTxl", "idtxl")


def main() -> None:
    p = draws.parser(__doc__, "/tmp/idtxlvenv/bin/python", OUT)
    args = p.parse_args()
    provenance = script.kernel_provenance()
    rows = draws.with_peer(
        args.peer_python,
        JIDT,
        "import importlib.metadata as m; print(m.version('idtxl-uv'))",
        "idtxl",
        provenance,
        lambda jidt: measure(exact_tasks("ais"), args.sizes, args.seeds, jidt),
    )
    found = cells(rows)
    sources = [
        "benchmarks/ais_peers.py",
        "src/iblearn/functional/information_dynamics.py",
        "src/iblearn/estimation",
    ]
    settings = {"seeds": args.seeds, "sizes": args.sizes, "k": K}
    record = {"cells": found, "summary": summary(found), "settings": settings, "provenance": provenance}
    draws.write_draws(args.out, rows, sources, record, table(found, provenance))


if __name__ == "__main__":
    main()
