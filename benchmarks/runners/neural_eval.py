"""How each library's *reported* figure relates to what its trained critic's bound is worth.

The neural benchmark (:mod:`benchmarks.runners.neural`) compares reported estimates, and each library reports
in its own way: iblearn pools every score of the test set (8 negatives a sample), torch-mist averages
the bound over chunks of 1,024 test samples with one negative a sample. Here both critics, trained as in
that benchmark, are evaluated both ways and against a reference: the bound pooled over the whole test
set with 64 negatives a sample (:func:`iblearn.estimators.neural.derangements`), whose negatives' noise
is small. "chunked - reference" is what the chunked figure adds to a critic's value: for DV, the log of
a 1,024-term mean of exp(T) is biased low, and where exp(T) is heavy-tailed under the product of
marginals its typical value lies below its mean, so the figure lands above the critic's bound.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from benchmarks.runners.neural import theirs_reported, train_pair
from iblearn.data import get_task
from iblearn.estimators.neural import derangements
from iblearn.functional.bounds import dv_bound, nwj_bound
from iblearn.records import markdown_table

Score = Callable[[Tensor, Tensor], Tensor]
Bound = Callable[[Tensor, Tensor], Tensor]
LOW_MI_TASKS = ("bivariate-normal-0.75", "dense-gaussian-5x5", "2-pair-gaussian-5x5", "additive-uniform-0.1")


def _torch_mist_js(joint: Tensor, marginal: Tensor) -> Tensor:
    # torch-mist's JS estimator reports E_P[f] - E_Q[exp f] + 1: the NWJ bound of the critic f + 1
    return nwj_bound(joint + 1.0, marginal + 1.0)


# The bound each library reports for each estimator (iblearn's JS reports the DV bound of its critic).
BOUNDS: dict[str, dict[str, Bound]] = {
    "iblearn": {"mine": dv_bound, "nwj": nwj_bound, "js": dv_bound},
    "torch-mist": {"mine": dv_bound, "nwj": nwj_bound, "js": _torch_mist_js},
}


def chunked(score: Score, bound: Bound, x: Tensor, y: Tensor, chunk: int = 1024) -> float:
    """The bound on each chunk with one negative a sample (the next sample's y), chunks averaged: how
    torch-mist reports (its ``select_k_others`` with k = 1)."""
    values = []
    for i in range(0, len(x), chunk):
        xc, yc = x[i : i + chunk], y[i : i + chunk]
        values.append(float(bound(score(xc, yc), score(xc, yc.roll(-1, 0)))))  # sample j with j + 1
    return statistics.fmean(values)


def pooled(score: Score, bound: Bound, x: Tensor, y: Tensor, negatives: int = 64) -> float:
    """The bound on all of ``x, y``, ``negatives`` derangements of the whole sample pooled."""
    perms = derangements(len(x), negatives, torch.Generator().manual_seed(0))
    return float(bound(score(x, y), torch.cat([score(x, y[p]) for p in perms])))


def evaluation_row(task_name: str, kind: str, seed: int, steps: int = 2000) -> dict[str, Any]:
    task = get_task(task_name)
    a, b, xt, yt, _ = train_pair(task, kind, seed, steps, n_train=20_000, n_test=10_000)
    row: dict[str, Any] = {"task": task_name, "estimator": kind, "seed": seed}
    row["truth"] = task.mutual_information
    with torch.no_grad():
        row["iblearn_reported"] = float(a(xt, yt))
        row["torch-mist_reported"] = theirs_reported(b, xt, yt)
        for lib, score in (("iblearn", a.averaged), ("torch-mist", b.critic)):  # what each reports with
            bound = BOUNDS[lib][kind]
            row[f"{lib}_chunked"] = chunked(score, bound, xt, yt)
            row[f"{lib}_reference"] = pooled(score, bound, xt, yt)
    return row


def evaluation_table(rows: list[dict[str, Any]]) -> str:
    """Means over seeds per (task, estimator), and the totals line."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["estimator"]), []).append(r)

    def mean(rs: list[dict[str, Any]], key: str) -> float:
        return statistics.fmean(r[key] for r in rs)

    table = []
    for (task, kind), rs in groups.items():
        line = [task, kind, f"{rs[0]['truth']:.3f}"]
        for lib in ("iblearn", "torch-mist"):
            line += [
                f"{mean(rs, f'{lib}_reported'):.3f}",
                f"{mean(rs, f'{lib}_reference'):.3f}",
                f"{mean(rs, f'{lib}_chunked') - mean(rs, f'{lib}_reference'):+.4f}",
            ]
        table.append(line)
    lifts = {
        lib: [r[f"{lib}_chunked"] - r[f"{lib}_reference"] for r in rows] for lib in ("iblearn", "torch-mist")
    }
    gap = [r["iblearn_reference"] - r["torch-mist_reference"] for r in rows]
    text = markdown_table(
        [
            "task",
            "estimator",
            "truth",
            "iblearn reported",
            "iblearn critic (reference)",
            "chunked - reference",
            "torch-mist reported",
            "torch-mist critic (reference)",
            "chunked - reference",
        ],
        table,
    )
    return (
        text
        + "".join(
            f"\n{lib}'s critics: the chunked figure lies above the reference in {sum(v > 0 for v in vs)} of "
            f"{len(vs)} runs, by {statistics.fmean(vs):+.4f} nats on average."
            for lib, vs in lifts.items()
        )
        + (
            f"\nThe two critics' reference values: iblearn's minus torch-mist's {statistics.fmean(gap):+.4f} "
            f"nats on average (iblearn higher in {sum(g > 0 for g in gap)} of {len(gap)} runs).\n"
        )
    )
