"""I(X; Y) between continuous features and class labels as the features' columns grow: iblearn's Gaussian
classes (of one covariance, and each of its own) and mixed KSG and the automatic estimate, beside frites'
Gaussian models of the classes (``mi_model_1d_gd``, the model comparison of Ince et al. (2017) with its
bias correction, and ``mi_mixture_1d_gd``, its Gaussian mixture's entropy by the unscented transform),
against the exact truth. frites 0.4.6's mixture sums its likelihood over the classes and the unscented
points at once (``np.sum`` with no axis, where its comment has ``axis=0``) and reads far below 0; the
rows "sum per point" run the same function with the one sum over the classes, which is what its comment
and the unscented transform (Huber et al. 2008) say.

    python benchmarks/labels_dims.py [--seeds 10] [--sizes 1000 5000] [--dims 2 5 20 50 100]
                                     [--peer-python /tmp/fritesvenv/bin/python] [--write-results]

The tasks: ten equally likely labels a standard deviation apart on the diagonal of d dimensions (x ~
N(label u, I_d), u the unit diagonal: every column carries a little of the label, as a layer's units do;
the truth 1.0566 nats whatever d, by quadrature along u), and, off one covariance, three labels on a
triangle with spreads 1, 1.5 and 2 (``labels-spreads-3-triangle-2d``, by Gauss-Hermite quadrature) and
five and ten labels on the diagonal of 10 and 20 dimensions with spreads 1 to 2 (``labels-spreads-*``,
by quadrature along the diagonal and over the chi-squared across it). Each
estimator reads the same draws; each call's thread CPU time, iblearn in this process and frites in a
worker process of its own started once (``python3 -m venv /tmp/fritesvenv; /tmp/fritesvenv/bin/pip install
frites``; without it the frites rows are left out), the two alternating which goes first; frites' bits
read as nats, on one thread. Writes rows.jsonl, results.json (the cells and the provenance), table.md and
sources.json in benchmarks/results/labels_dims.
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
from iblearn.data.tasks import Task, class_means, get_exact_task
from iblearn.functional import gaussian_classes_mi, mixed_ksg_mi, quadratic_classes_mi
from iblearn.records import markdown_table

OUT = script.RESULTS / "labels_dims"
#: Off one covariance: labels of unequal spreads in 2, 10 and 20 columns.
OFF_MODEL = ["labels-spreads-3-triangle-2d", "labels-spreads-5-line-10d", "labels-spreads-10-line-20d"]
#: The peer's rows: frites' functions, and its mixture with the likelihood summed per point.
PEER_NAMES = {
    "model": "frites mi_model_1d_gd",
    "mixture": "frites mi_mixture_1d_gd",
    "mixture_axis0": "frites mi_mixture_1d_gd, sum per point",
}

#: frites' worker: on each line the path of an .npz of x (N, d) and labels y, prints the two estimates
#: in bits and each one's thread CPU seconds, as JSON.
FRITES_WORKER = """
import inspect, json, sys, time
import numpy as np
import frites.core.gcmi_1d as g
from frites.core import mi_mixture_1d_gd, mi_model_1d_gd
# frites 0.4.6 sums the mixture's likelihood over the classes and the unscented points at once (np.sum
# with no axis; its own comment has axis=0): the same function with the sum over the classes alone.
SUM = "np.sum(w[:, np.newaxis] * np.exp(log_lik))"
source = inspect.getsource(mi_mixture_1d_gd)
per_point = None
if SUM in source:
    space = dict(vars(g))
    exec(source.replace(SUM, SUM[:-1] + ", axis=0)").replace("def mi_mixture_1d_gd", "def per_point"), space)
    per_point = space["per_point"]
print("ready", flush=True)
for line in sys.stdin:
    data = np.load(line.strip())
    x, y = np.ascontiguousarray(data["x"].T), data["y"]
    out = {}
    runs = [("model", lambda: mi_model_1d_gd(x, y, biascorrect=True)),
            ("mixture", lambda: mi_mixture_1d_gd(x, y))]
    if per_point is not None:
        runs.append(("mixture_axis0", lambda: per_point(x, y)))
    for name, fn in runs:
        start = time.thread_time()
        try:
            value = float(np.squeeze(fn()))
        except np.linalg.LinAlgError:  # a class's covariance singular: fewer rows than columns
            value = None
        out[name] = [value, time.thread_time() - start]
    print(json.dumps(out), flush=True)
"""


def diagonal(dim: int) -> Task:
    """Ten labels a standard deviation apart on the unit diagonal of ``dim`` dimensions."""
    means = np.arange(10.0)[:, None] * np.full(dim, 1 / math.sqrt(dim))
    return class_means(f"labels-diagonal-10-{dim}d", [1.0] * 10, means, f"ten labels on the {dim}-d diagonal")


class Frites:
    """frites' worker process, started once."""

    def __init__(self, python: str, folder: Path) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.folder = folder
        self.process = subprocess.Popen(
            [python, "-c", FRITES_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def __call__(self, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[float | None, float]]:
        path = self.folder / "draw.npz"
        np.savez(path, x=x, y=y)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return {
            name: (None if value is None else value * math.log(2), seconds)
            for name, (value, seconds) in answer.items()
        }

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.thread_time()
    value = fn()
    return value, time.thread_time() - start


def ours(x: torch.Tensor, y: torch.Tensor) -> dict[str, dict[str, Any]]:
    """iblearn's three readings of one draw: value, seconds, and for the automatic estimate its
    interval, verdict and choice."""
    out: dict[str, dict[str, Any]] = {}
    value, seconds = _timed(lambda: float(gaussian_classes_mi(x, y)))
    out["iblearn gaussian_classes"] = {"value": value, "seconds": seconds}
    value, seconds = _timed(lambda: float(quadratic_classes_mi(x, y)))
    out["iblearn quadratic_classes"] = {"value": value, "seconds": seconds}
    value, seconds = _timed(lambda: float(mixed_ksg_mi(x, y)))
    out["iblearn mixed_ksg"] = {"value": value, "seconds": seconds}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est, seconds = _timed(lambda: iblearn.estimate("mi", x, y))
    out["iblearn auto"] = {
        "value": float(est),
        "seconds": seconds,
        "interval": list(est.interval),
        "reliable": bool(est.reliable),
        "chosen": est.report.chosen,
    }
    return out


def measure(tasks: list[Task], sizes: list[int], seeds: int, frites: Frites | None) -> list[dict[str, Any]]:
    rows = []
    for task in tasks:
        for n in sizes:
            for seed in range(seeds):
                x, y = (np.asarray(a) for a in task.sample(n, seed))
                xt, yt = torch.from_numpy(x), torch.from_numpy(y)
                # alternate which side runs first
                first_peer = frites is not None and seed % 2 == 1
                peer = frites(x, y) if first_peer and frites is not None else None
                found = ours(xt, yt)
                if frites is not None and peer is None:
                    peer = frites(x, y)
                for name, (value, seconds) in (peer or {}).items():
                    found[PEER_NAMES[name]] = {"value": value, "seconds": seconds}
                for estimator, reading in found.items():
                    rows.append(
                        script.stamped(
                            {
                                "task": task.name,
                                "dims": task.dims[0],
                                "truth": task.truth,
                                "n": n,
                                "seed": seed,
                                "estimator": estimator,
                                **reading,
                            }
                        )
                    )
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
        failed = sum(r["value"] is None for r in rs)
        rs = [r for r in rs if r["value"] is not None]
        if not rs:
            out.append(
                {"task": task, "dims": "", "n": n, "estimator": estimator, "draws": 0, "failed": failed}
            )
            continue
        errors = [r["value"] - r["truth"] for r in rs]
        cell = {
            "failed": failed,
            "task": task,
            "dims": rs[0]["dims"],
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


def _share(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.0f}%"


def _row(c: dict[str, Any]) -> list[str]:
    """A cell's line of the table; a cell where every draw failed says only that."""
    failed = f"{c['failed']} of {c['failed'] + c['draws']}" if c["failed"] else ""
    if not c["draws"]:
        return [c["task"], "", f"{c['n']:,}", c["estimator"], *[""] * 8, failed]
    return [
        c["task"],
        str(c["dims"]),
        f"{c['n']:,}",
        c["estimator"],
        f"{c['truth']:.4f}",
        f"{c['mean_error']:+.4f}",
        f"{c['sd']:.4f}",
        f"{c['rmse']:.4f}",
        f"{c['median_seconds']:.4f}",
        _share(c.get("reliable")),
        _share(c.get("coverage_where_reliable")),
        ", ".join(c.get("chosen", [])),
        failed,
    ]


def table(found: list[dict[str, Any]], provenance: dict[str, Any]) -> str:
    lines = [
        "# Class labels against many columns: error against the exact truth",
        "",
        markdown_table(
            [
                "task",
                "d",
                "N",
                "estimator",
                "truth",
                "mean error",
                "sd",
                "RMSE",
                "median s",
                "reliable",
                "coverage where reliable",
                "chosen",
                "failed",
            ],
            [_row(c) for c in found],
        ),
        "",
        f"_Run at commit {provenance['git_commit']}, {provenance['date']}, on {provenance['machine']}, "
        f"compiled kernel {provenance['kernel_isa']}; one thread; "
        f"frites {provenance.get('frites') or 'absent'}._",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = script.parser(__doc__)
    p.add_argument("--seeds", type=script.positive_int, default=10)
    p.add_argument("--sizes", type=script.positive_int, nargs="+", default=[1000, 5000])
    p.add_argument("--dims", type=script.positive_int, nargs="+", default=[2, 5, 20, 50, 100])
    p.add_argument("--peer-python", default="/tmp/fritesvenv/bin/python")
    p.add_output(OUT)
    args = p.parse_args()
    tasks = [*(diagonal(d) for d in args.dims), *(get_exact_task(name) for name in OFF_MODEL)]
    provenance = script.kernel_provenance()
    with tempfile.TemporaryDirectory() as folder:
        frites = None
        if Path(args.peer_python).exists():
            frites = Frites(args.peer_python, Path(folder))
            provenance["frites"] = subprocess.run(
                [args.peer_python, "-c", "import frites; print(frites.__version__)"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        else:
            print(f"--peer-python: {args.peer_python} not found; frites left out")
        try:
            rows = measure(tasks, args.sizes, args.seeds, frites)
        finally:
            if frites is not None:
                frites.close()
    found = cells(rows)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    script.write_rows(out / "rows.jsonl", rows)
    (out / "sources.json").write_text(
        json.dumps(
            [
                "benchmarks/labels_dims.py",
                "src/iblearn/functional/gaussian_classes.py",
                "src/iblearn/estimation",
            ],
            indent=1,
        )
        + "\n"
    )
    settings = {"seeds": args.seeds, "sizes": args.sizes, "dims": args.dims}
    script.write_folder(
        out, {"cells": found, "settings": settings, "provenance": provenance}, table(found, provenance)
    )


if __name__ == "__main__":
    main()
