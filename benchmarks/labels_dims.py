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

import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

import iblearn
from benchmarks.runners import draws, script
from iblearn.data.tasks import Task, class_means, get_exact_task
from iblearn.functional import gaussian_classes_mi, mixed_ksg_mi, quadratic_classes_mi

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


class Frites(draws.LineWorker):
    """frites' worker process, started once; each draw passed through ``folder``."""

    def __init__(self, python: str, folder: Path) -> None:
        super().__init__(python, FRITES_WORKER)
        self.folder = folder

    def __call__(self, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[float | None, float]]:
        path = self.folder / "draw.npz"
        np.savez(path, x=x, y=y)
        return {
            name: (None if value is None else value * math.log(2), seconds)
            for name, (value, seconds) in self.ask(str(path)).items()
        }


def ours(x: torch.Tensor, y: torch.Tensor) -> dict[str, dict[str, Any]]:
    """iblearn's three readings of one draw: value, seconds, and for the automatic estimate its
    interval, verdict and choice."""
    out: dict[str, dict[str, Any]] = {}
    value, seconds = draws.thread_timed(lambda: float(gaussian_classes_mi(x, y)))
    out["iblearn gaussian_classes"] = {"value": value, "seconds": seconds}
    value, seconds = draws.thread_timed(lambda: float(quadratic_classes_mi(x, y)))
    out["iblearn quadratic_classes"] = {"value": value, "seconds": seconds}
    value, seconds = draws.thread_timed(lambda: float(mixed_ksg_mi(x, y)))
    out["iblearn mixed_ksg"] = {"value": value, "seconds": seconds}
    out["iblearn auto"] = draws.auto_reading(lambda: iblearn.estimate("mi", x, y))
    return out


def measure(tasks: list[Task], sizes: list[int], seeds: int, frites: Frites | None) -> list[dict[str, Any]]:
    rows = []
    for task in tasks:
        for n in sizes:
            for seed in range(seeds):
                x, y = (np.asarray(a) for a in task.sample(n, seed))
                xt, yt = torch.from_numpy(x), torch.from_numpy(y)
                peer = None if frites is None else partial(frites, x, y)
                found = draws.interleaved(partial(ours, xt, yt), peer, seed, PEER_NAMES)
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
        cell = {
            "failed": failed,
            "task": task,
            "dims": rs[0]["dims"] if rs else "",
            "n": n,
            "estimator": estimator,
        }
        out.append(cell | (draws.error_cell(rs) if rs else {"draws": 0}))
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
        *draws.error_columns(c),
        _share(c.get("reliable")),
        _share(c.get("coverage_where_reliable")),
        ", ".join(c.get("chosen", [])),
        failed,
    ]


def table(found: list[dict[str, Any]], provenance: dict[str, Any]) -> str:
    header = ["task", "d", "N", "estimator", "truth", "mean error", "sd", "RMSE", "median s"]
    header += ["reliable", "coverage where reliable", "chosen", "failed"]
    title = "Class labels against many columns: error against the exact truth"
    return draws.markdown(title, header, [_row(c) for c in found], provenance, "frites", "frites")


def main() -> None:
    p = draws.parser(__doc__, "/tmp/fritesvenv/bin/python", OUT)
    p.add_argument("--dims", type=script.positive_int, nargs="+", default=[2, 5, 20, 50, 100])
    args = p.parse_args()
    tasks = [*(diagonal(d) for d in args.dims), *(get_exact_task(name) for name in OFF_MODEL)]
    provenance = script.kernel_provenance()
    rows = draws.with_peer(
        args.peer_python,
        Frites,
        "import frites; print(frites.__version__)",
        "frites",
        provenance,
        lambda frites: measure(tasks, args.sizes, args.seeds, frites),
    )
    found = cells(rows)
    sources = [
        "benchmarks/labels_dims.py",
        "src/iblearn/functional/gaussian_classes.py",
        "src/iblearn/estimation",
    ]
    settings = {"seeds": args.seeds, "sizes": args.sizes, "dims": args.dims}
    record = {"cells": found, "settings": settings, "provenance": provenance}
    draws.write_draws(args.out, rows, sources, record, table(found, provenance))


if __name__ == "__main__":
    main()
