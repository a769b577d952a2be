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

import json
import math
import os
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

import iblearn
from benchmarks.runners import script
from iblearn.data.tasks import Task, exact_tasks
from iblearn.functional.information_dynamics import active_information_storage
from iblearn.records import markdown_table

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


class JIDT:
    """JIDT's worker process (IDTxl's estimators), started once."""

    def __init__(self, python: str, folder: Path) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.folder = folder
        self.process = subprocess.Popen(
            [python, "-c", JIDT_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def __call__(self, x: np.ndarray, history: int) -> dict[str, tuple[float, float]]:
        path = self.folder / "draw.npz"
        np.savez(path, x=x)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{path} {history}\n")
        self.process.stdin.flush()
        return {
            name: (value, seconds)
            for name, (value, seconds) in json.loads(self.process.stdout.readline()).items()
        }

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.thread_time()
    value = fn()
    return value, time.thread_time() - start


def ours(x: torch.Tensor, history: int) -> dict[str, dict[str, Any]]:
    """iblearn's three readings of one draw: value, seconds, and for the automatic estimate its
    interval, verdict and choice."""
    out: dict[str, dict[str, Any]] = {}
    for name, method in (("iblearn KSG", "ksg"), ("iblearn Gaussian", "gaussian")):
        value, seconds = _timed(lambda m=method: float(active_information_storage(x, history, m, k=K)))
        out[name] = {"value": value, "seconds": seconds}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est, seconds = _timed(lambda: iblearn.estimate("ais", x, history=history))
    out["iblearn auto"] = {
        "value": float(est),
        "seconds": seconds,
        "interval": list(est.interval),
        "reliable": bool(est.reliable),
        "chosen": est.report.chosen,
    }
    return out


def measure(tasks: list[Task], sizes: list[int], seeds: int, jidt: JIDT | None) -> list[dict[str, Any]]:
    rows = []
    for task in tasks:
        history = int(task.options["history"])
        for n in sizes:
            for seed in range(seeds):
                (x,) = (np.asarray(a)[:, 0] for a in task.sample(n, seed))
                first_peer = jidt is not None and seed % 2 == 1  # alternate which side runs first
                peer = jidt(x, history) if first_peer and jidt is not None else None
                found = ours(torch.from_numpy(x), history)
                if jidt is not None and peer is None:
                    peer = jidt(x, history)
                for name, (value, seconds) in (peer or {}).items():
                    found[PEER_NAMES[name]] = {"value": value, "seconds": seconds}
                for estimator, reading in found.items():
                    row = {"task": task.name, "history": history, "truth": task.truth, "n": n, "seed": seed}
                    rows.append(script.stamped(row | {"estimator": estimator, **reading}))
                print(f"{task.name} N = {n} seed {seed}: done", flush=True)
    return rows


def cells(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task, N and estimator: the mean error, its spread over the draws, the root mean squared
    error, the median seconds; for the automatic estimate the share reliable, the coverage where
    reliable and what it chose."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["n"], r["estimator"]), []).append(r)
    out = []
    for (task, n, estimator), rs in groups.items():
        errors = [r["value"] - r["truth"] for r in rs]
        cell = {
            "task": task,
            "history": rs[0]["history"],
            "n": n,
            "estimator": estimator,
            "draws": len(rs),
            "truth": rs[0]["truth"],
            "mean_error": statistics.mean(errors),
            "sd": statistics.stdev(errors) if len(errors) > 1 else 0.0,
            "rmse": math.sqrt(statistics.mean(e * e for e in errors)),
            "median_seconds": statistics.median(r["seconds"] for r in rs),
        }
        if estimator == "iblearn auto":
            reliable = [r for r in rs if r["reliable"]]
            cell["reliable"] = len(reliable) / len(rs)
            cell["coverage_where_reliable"] = (
                sum(r["interval"][0] <= r["truth"] <= r["interval"][1] for r in reliable) / len(reliable)
                if reliable
                else None
            )
            cell["chosen"] = sorted({r["chosen"] for r in rs})
        out.append(cell)
    return out


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
        "# Active information storage against its exact truth, beside JIDT",
        "",
        markdown_table(
            header,
            [
                [
                    c["task"],
                    str(c["history"]),
                    f"{c['n']:,}",
                    c["estimator"],
                    f"{c['truth']:.4f}",
                    f"{c['mean_error']:+.4f}",
                    f"{c['sd']:.4f}",
                    f"{c['rmse']:.4f}",
                    f"{c['median_seconds']:.4f}",
                ]
                for c in found
            ],
        ),
        "",
        f"_Run at commit {provenance['git_commit']}, {provenance['date']}, on {provenance['machine']}, "
        f"compiled kernel {provenance['kernel_isa']}; one thread; "
        f"IDTxl {provenance.get('idtxl') or 'absent'}._",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = script.parser(__doc__)
    p.add_argument("--seeds", type=script.positive_int, default=10)
    p.add_argument("--sizes", type=script.positive_int, nargs="+", default=[1000, 5000])
    p.add_argument("--peer-python", default="/tmp/idtxlvenv/bin/python")
    p.add_output(OUT)
    args = p.parse_args()
    provenance = script.kernel_provenance()
    with tempfile.TemporaryDirectory() as folder:
        jidt = None
        if Path(args.peer_python).exists():
            jidt = JIDT(args.peer_python, Path(folder))
            provenance["idtxl"] = subprocess.run(
                [args.peer_python, "-c", "import importlib.metadata as m; print(m.version('idtxl-uv'))"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        else:
            print(f"--peer-python: {args.peer_python} not found; JIDT left out")
        try:
            rows = measure(exact_tasks("ais"), args.sizes, args.seeds, jidt)
        finally:
            if jidt is not None:
                jidt.close()
    found = cells(rows)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    script.write_rows(out / "rows.jsonl", rows)
    sources = [
        "benchmarks/ais_peers.py",
        "src/iblearn/functional/information_dynamics.py",
        "src/iblearn/estimation",
    ]
    (out / "sources.json").write_text(json.dumps(sources, indent=1) + "\n")
    settings = {"seeds": args.seeds, "sizes": args.sizes, "k": K}
    record = {"cells": found, "summary": summary(found), "settings": settings, "provenance": provenance}
    script.write_folder(out, record, table(found, provenance))


if __name__ == "__main__":
    main()
