"""Accuracy against known truth: every method on every task it accepts, at several N and seeds.

The grid behind ``iblearn reproduce estimators`` (iblearn's own estimators, :func:`ours`) and the
accuracy benchmark of a source checkout (benchmarks/runners, which adds the peers as more methods).

Each call is one row of the run's ``metrics.csv`` (task, method, n, seed, truth, estimate, seconds,
note), written atomically as it completes, so a killed run resumes where it stopped. A (task, method)
pair whose call exceeds the time budget is not run at larger N (the row says so).
"""

from __future__ import annotations

import importlib
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from iblearn import _plotting
from iblearn.data import Task, get_task, standard_tasks
from iblearn.estimators import KSG, Binning, GaussianMI, MixedKSG
from iblearn.experiments.options import check_names
from iblearn.records import RunFolder, markdown_table


@dataclass(frozen=True)
class Method:
    """An estimator under test: ``estimate(x, y)`` in nats for the tasks it ``accepts``."""

    name: str
    accepts: Callable[[Task], bool]
    estimate: Callable[[Tensor, Tensor], float]
    requires: str | None = None  # the module a peer needs

    def unavailable(self) -> str | None:
        """Why the method cannot run here, or None."""
        if self.requires is None:
            return None
        try:
            importlib.import_module(self.requires)
        except Exception as err:  # a peer's import can fail in many ways (jax versions, ...)
            return f"{type(err).__name__}: {err}"
        return None


def continuous(task: Task) -> bool:
    return not task.y_discrete


def one_dimensional(task: Task) -> bool:
    """Scalar x and scalar y (labels count as scalar)."""
    return task.dim_x == 1 and task.dim_y == 1


def ours() -> list[Method]:
    return [
        Method("iblearn KSG", continuous, lambda x, y: float(KSG(k=3)(x, y))),
        Method("iblearn MixedKSG", lambda t: t.y_discrete, lambda x, y: float(MixedKSG(k=3)(x, y))),
        Method("iblearn GaussianMI", continuous, lambda x, y: float(GaussianMI()(x, y))),
        # 30 equal-width bins per unit; meaningful in one dimension only (in d dims every sample is
        # soon its own bin, and the estimate is log N whatever the truth).
        Method("iblearn Binning", one_dimensional, lambda x, y: float(Binning(30)(x, y))),
    ]


def describe(method: Method) -> dict[str, Any]:
    return {"name": method.name, "requires": method.requires, "unavailable": method.unavailable()}


@dataclass(frozen=True)
class AccuracyConfig:
    """What an accuracy run covers."""

    tasks: tuple[str, ...] = field(default_factory=lambda: tuple(t.name for t in standard_tasks()))
    sizes: tuple[int, ...] = (1000, 5000, 10000)  # small, moderate and large for the kNN estimators
    seeds: int = 5
    time_budget: float = 300.0  # seconds for one call; slower pairs are skipped at larger N
    first_seed: int = 0

    def __post_init__(self) -> None:
        check_names("tasks", self.tasks, (t.name for t in standard_tasks()))
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes: expected at least one size, each at least 1, got {list(self.sizes)}")


Progress = Callable[[str], None]


def grid_size(config: AccuracyConfig, methods: Sequence[Method]) -> int:
    """How many estimates a run of ``config`` makes (for progress bars)."""
    tasks = [get_task(name) for name in config.tasks]
    return sum(config.seeds * len(config.sizes) for t in tasks for m in methods if m.accepts(t))


def _key(row: dict[str, Any]) -> tuple[str, str, int, int]:
    return row["task"], row["method"], int(row["n"]), int(row["seed"])


def run_accuracy(
    config: AccuracyConfig,
    methods: Sequence[Method],
    run: RunFolder,
    *,
    progress: Progress | None = None,
    device: torch.device | None = None,
) -> list[dict[str, Any]]:
    """Run (or finish) the grid; returns every row, old and new. Samples go to ``device`` (peers copy
    them back to the CPU themselves)."""
    tasks = [get_task(name) for name in config.tasks]
    rows = run.metrics()
    done = {_key(r) for r in rows}
    slow: dict[tuple[str, str], float] = {}
    for r in rows:
        if r["seconds"]:
            pair = (r["task"], r["method"])
            slow[pair] = max(slow.get(pair, 0.0), float(r["seconds"]))
    unavailable = {m.name: m.unavailable() for m in methods}
    for task in tasks:
        for n in config.sizes:
            for method in methods:
                if not method.accepts(task):
                    continue
                for seed in range(config.first_seed, config.first_seed + config.seeds):
                    if (task.name, method.name, n, seed) in done:
                        continue
                    row = _one(
                        task,
                        method,
                        n,
                        seed,
                        unavailable[method.name],
                        slow.get((task.name, method.name), 0.0),
                        config.time_budget,
                        device,
                    )
                    if row["seconds"] != "":
                        pair = (task.name, method.name)
                        slow[pair] = max(slow.get(pair, 0.0), float(row["seconds"]))
                    run.append_metrics(row)
                    rows.append({k: str(v) for k, v in row.items()})
                    if progress:
                        progress(f"{task.name} {method.name} N={n} seed={seed}")
    return rows


def _one(
    task: Task,
    method: Method,
    n: int,
    seed: int,
    unavailable: str | None,
    slowest: float,
    budget: float,
    device: torch.device | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "task": task.name,
        "method": method.name,
        "n": n,
        "seed": seed,
        "truth": task.mutual_information,
        "estimate": "",
        "seconds": "",
        "note": "",
    }
    if unavailable:
        row["note"] = f"unavailable: {unavailable}"
        return row
    if slowest > budget:
        row["note"] = f"skipped: an earlier call took {slowest:.0f} s > budget {budget:.0f} s"
        return row
    x, y = task.sample(n, seed)
    if device is not None:
        x, y = x.to(device), y.to(device)
    torch.manual_seed(seed)
    start = time.perf_counter()
    try:
        value = method.estimate(x, y)
    except Exception as err:  # a peer failing on one task is a result, not a crash of the run
        row["note"] = f"failed: {type(err).__name__}: {str(err)[:120]}"
        return row
    row["seconds"] = round(time.perf_counter() - start, 4)
    row["estimate"] = value
    return row


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, sd, bias and mean time per (task, method, n), in first-seen order."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["method"], int(r["n"])), []).append(r)
    out = []
    for (task, method, n), rs in groups.items():
        values = [float(r["estimate"]) for r in rs if r["estimate"] not in ("", None)]
        finite = [v for v in values if math.isfinite(v)]
        truth = float(rs[0]["truth"])
        notes = sorted({r["note"] for r in rs if r.get("note")})
        if len(values) > len(finite):  # a peer that returned NaN or Inf (bmi's CCA on rank-deficient data)
            notes.insert(0, f"non-finite estimate on {len(values) - len(finite)} of {len(values)} runs")
        summary: dict[str, Any] = {
            "task": task,
            "method": method,
            "n": n,
            "truth": truth,
            "runs": len(finite),
        }
        if finite:
            mean = statistics.fmean(finite)
            summary.update(
                mean=mean,
                sd=statistics.stdev(finite) if len(finite) > 1 else 0.0,
                bias=mean - truth,
                seconds=statistics.fmean(float(r["seconds"]) for r in rs if r["seconds"] != ""),
            )
        summary["note"] = "; ".join(notes)[:160]
        out.append(summary)
    return out


def accuracy_table(summary: Sequence[dict[str, Any]]) -> str:
    header = ["task", "truth", "method", "N", "mean", "sd", "bias", "time (s)", "note"]
    rows = [
        [
            s["task"],
            f"{s['truth']:.4f}",
            s["method"],
            s["n"],
            f"{s['mean']:.4f}" if "mean" in s else "-",
            f"{s['sd']:.4f}" if "sd" in s else "-",
            f"{s['bias']:+.4f}" if "bias" in s else "-",
            f"{s['seconds']:.3f}" if "seconds" in s else "-",
            s["note"],
        ]
        for s in summary
    ]
    return markdown_table(header, rows)


def plot_accuracy(summary: Sequence[dict[str, Any]], path: str | os.PathLike[str] | None = None) -> Any:
    """Estimate (mean +- sd) against N per task, truth dashed: the figure, also written to ``path`` if
    given (None without matplotlib)."""
    if not _plotting.available():
        return None
    tasks = list(dict.fromkeys(s["task"] for s in summary))
    # One colour and marker per method across every panel (the default cycle restarts in each panel);
    # estimators that agree to 1e-6 draw on top of each other, the markers tell them apart.
    methods = list(dict.fromkeys(s["method"] for s in summary))
    style = {m: (f"C{i % 10}", "osv^D<>px*"[i % 10]) for i, m in enumerate(methods)}
    cols = 4
    rows_n = math.ceil(len(tasks) / cols)
    fig, axes = _plotting.figure(rows_n, cols, figsize=(4 * cols, 3 * rows_n))
    for ax, task in zip(axes.flat, tasks, strict=False):
        items = [s for s in summary if s["task"] == task and "mean" in s]
        for method in dict.fromkeys(s["method"] for s in items):
            pts = sorted((s["n"], s["mean"], s["sd"]) for s in items if s["method"] == method)
            color, marker = style[method]
            ax.errorbar(
                [p[0] for p in pts],
                [p[1] for p in pts],
                yerr=[p[2] for p in pts],
                color=color,
                marker=marker,
                ms=4,
                mfc="none",
                capsize=2,
                label=method,
            )
        truth = next(s["truth"] for s in summary if s["task"] == task)
        ax.axhline(truth, color="k", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("N")
        ax.set_ylabel("nats")
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=min(len(legend), 5), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
