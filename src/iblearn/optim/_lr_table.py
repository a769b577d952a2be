"""The bounds of the LR range test read from its table D (:func:`select_range`), and its plot.

Completed runs go into the summary table D. Then, for an attribute (training accuracy by default;
I(T; Y) of a layer for layer-wise ranges), averaged over the trials an LR completed:

    d1n = final - initial value;  dnn = MAXVAL - final value;  LR_top = argmax final value
    Thresh = MAXVAL / C1
    LR_min = the first LR with d1n >= Thresh
    LR_max = the first LR from which dnn >= Thresh for it and every larger LR (crashed LRs count)
    epsilon = C2 * median of all recorded min(d_s)

``lr_max_rule`` reads LR_max one of two ways. ``"algorithm"`` (default) is Algorithm 2's line: "the
first LR from which dnn >= Thresh for all successive LRs", an LR where training has already degraded
(on MNIST / LeNet-5 here, 1.0, the LR that crashed). ``"prose"`` is the sentence describing the test:
"the first LR beyond which performance relative to maximum performance drops below this threshold",
the LR before that one, the largest that still trains well (0.3 there); the paper's own ranges (MNIST
[1e-4, 0.2]) are operating ranges of that kind. docs/results/mi-lr.md reads both.

Algorithm 2 records only completed runs in D and does not say how trials combine. Here an LR that does
not count (the restart rules of ``iblearn.optim.lr_range``) is crashed: it is never LR_top or
LR_min, and its dnn is infinite, so LR_max lies at or below it. (Averaging only the trials that
completed, crashes or not, would let an LR that crashed in two trials of three become LR_top on the
strength of the third.)

See ``iblearn.optim.lr_range`` for the test that records the table.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from iblearn import _plotting

#: Where a trial starts after a crash (see ``iblearn.optim.lr_range``).
RESTARTS = ("candidate", "smallest")
#: Which LR is LR_max (see above).
LR_MAX_RULES = ("algorithm", "prose")


#: A metric that falls below this fraction of its previous epoch's value has collapsed.
CRASH_DROP = 0.5

AGAIN = "the state of a test with other lrs, trials, epochs or restart?"


def ds(history: list[float]) -> float:
    return (history[-1] - history[-2]) / history[-1] if len(history) > 1 and history[-1] > 0 else 1.0


def crashed(row: dict[str, Any], previous: dict[str, Any] | None, metrics: Sequence[str]) -> bool:
    if not (math.isfinite(row["train_loss"]) and math.isfinite(row.get("ity", 0.0))):
        return True
    if previous is None:
        return False
    judged = [m for m in metrics if previous[m] > 0]  # every metric at 0: nothing to fall from
    return bool(judged) and all(row[m] < CRASH_DROP * previous[m] for m in judged)


def ity_columns(values: list[float]) -> dict[str, float]:
    """A record's I(T; Y): ``ity`` (the first watched layer's) and ``ity_<k>`` for each layer k."""
    return {"ity": values[0], **{f"ity_{k}": v for k, v in enumerate(values)}}


def ity_of(record: Mapping[str, Any]) -> list[float]:
    return [
        record[f"ity_{k}"] for k in itertools.takewhile(lambda k: f"ity_{k}" in record, itertools.count())
    ]


def key_of(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return record.get("trial"), record.get("lr"), record.get("epoch")


def where(record: Any) -> str:
    if not isinstance(record, Mapping):
        return f"a {type(record).__name__}, not a record"
    return ", ".join(f"{k} {record.get(k)!r}" for k in ("trial", "lr", "epoch"))


def measured(values: Any, layers: int | None) -> list[float]:
    """What ``measure`` returned, checked: I(T; Y) for each watched layer, as many as at first."""
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError) as err:
        raise ValueError(f"measure: must return a list of I(T; Y) values, got {values!r}") from err
    if not out:
        raise ValueError("measure: returned no values; it must return I(T; Y) for each watched layer")
    if layers is not None and len(out) != layers:
        raise ValueError(f"measure: returned {len(out)} values after {layers} before")
    return out


def trained(metrics: Any) -> dict[str, Any]:
    """What ``train_epoch`` returned, checked: a dict with the epoch's ``train_loss`` at least."""
    if not isinstance(metrics, dict) or "train_loss" not in metrics:
        raise ValueError(f"train_epoch: must return a dict with at least 'train_loss', got {metrics!r}")
    return metrics


def sgd(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)  # Vasudevan (2020)


def check_record(n: int, record: Any, expected: tuple[int, float, int], layers: int | None) -> None:
    """Record ``n`` of a saved state, as the test would make it next: of ``expected`` (trial, lr,
    epoch), with a number for each watched layer's I(T; Y) (``layers``; None at epoch 0) and, for an
    epoch's row, the training loss (its crash is judged again)."""
    if not isinstance(record, Mapping) or key_of(record) != expected:
        raise ValueError(
            f"state: record {n} is {where(record)}, where this test makes trial {expected[0]}, "
            f"lr {expected[1]!r}, epoch {expected[2]}: {AGAIN}"
        )
    count = layers if layers is not None else max(len(ity_of(record)), 1)
    needed = [f"ity_{k}" for k in range(count)] + (["train_loss"] if layers is not None else [])
    bad = [k for k in needed if type(record.get(k)) not in (int, float)]
    if bad:
        raise ValueError(
            f"state: record {n} ({where(record)}) has no number for {', '.join(bad)}; hand back the "
            "records as the test made them"
        )


@dataclass(frozen=True)
class LRRange:
    """The outcome of the range test: ``(lr_min, lr_max, lr_top, epsilon)``, and what it came from."""

    lr_min: float
    lr_max: float
    lr_top: float
    epsilon: float
    attribute: str = "train_acc"
    restart: str = "candidate"
    summary: list[dict[str, Any]] = field(default_factory=list, repr=False)  # the table D
    curves: list[dict[str, Any]] = field(default_factory=list, repr=False)  # every recorded epoch


def select_range(
    summary: list[dict[str, Any]],
    curves: list[dict[str, Any]],
    *,
    attribute: str = "train_acc",
    c1: float = 10.0,
    c2: float = 1.0,
    restart: str = "candidate",
    lr_max_rule: str = "algorithm",
) -> LRRange:
    """The bounds of Algorithm 2 from a recorded table D (see ``iblearn.optim.lr_range``); ``restart`` is
    the one the table was recorded with, which says which LRs count; ``lr_max_rule`` which reading of
    LR_max (the module docstring)."""
    if c1 <= 0 or c2 <= 0:
        raise ValueError(f"c1, c2: must be positive, got {c1}, {c2}")
    if lr_max_rule not in LR_MAX_RULES:
        raise ValueError(f"lr_max_rule: expected one of {', '.join(LR_MAX_RULES)}, got {lr_max_rule!r}")
    if restart not in RESTARTS:
        raise ValueError(f"restart: expected one of {', '.join(RESTARTS)}, got {restart!r}")
    sign = -1.0 if attribute == "train_loss" else 1.0
    lrs = sorted({row["lr"] for row in summary})
    done = [row for row in summary if not row["crashed"]]
    if not done:
        raise ValueError("lrs: every candidate crashed; try smaller learning rates")
    if f"final_{attribute}" not in done[0]:
        raise ValueError(
            f"attribute: not recorded; recorded: {sorted(k[6:] for k in done[0] if k.startswith('final_'))}"
        )
    # Which candidates count (the module docstring); the rest crashed.
    trials = {row["trial"] for row in summary}
    crashed = {row["lr"] for row in summary if row["crashed"]}

    def counts(lr: float) -> bool:
        completed = {r["trial"] for r in done if r["lr"] == lr}
        return completed == trials if restart == "smallest" else bool(completed) and lr not in crashed

    final = {
        lr: statistics.fmean(sign * r[f"final_{attribute}"] for r in done if r["lr"] == lr)
        for lr in lrs
        if counts(lr)
    }
    if not final:
        every = "completed every trial" if restart == "smallest" else "completed without a crash"
        raise ValueError(f"lrs: no candidate {every}; try smaller learning rates")
    growth = {
        lr: statistics.fmean(
            sign * (r[f"final_{attribute}"] - r[f"initial_{attribute}"]) for r in done if r["lr"] == lr
        )
        for lr in final
    }
    lr_top = max(final, key=final.__getitem__)
    maxval = final[lr_top]
    thresh = abs(maxval) / c1
    lr_min = next((lr for lr in lrs if lr in growth and growth[lr] >= thresh), lrs[0])
    drop = {lr: (maxval - final[lr]) if lr in final else math.inf for lr in lrs}  # crashed: the worst
    lr_max = lrs[-1]
    for i, lr in enumerate(lrs):
        if lr > lr_top and all(drop[later] >= thresh for later in lrs[i:]):
            lr_max = lrs[i - 1] if lr_max_rule == "prose" else lr  # lrs[i - 1] >= lr_top: it is no lower
            break
    key = "min_d_s" if not attribute.startswith("ity_") else f"min_d_s_{attribute[4:]}"
    ds = [r[key] for r in done if math.isfinite(r.get(key, math.inf))]
    epsilon = c2 * statistics.median(ds) if ds else 0.0
    return LRRange(
        lr_min=lr_min,
        lr_max=max(lr_max, lr_min),
        lr_top=lr_top,
        epsilon=max(epsilon, 0.0),
        attribute=attribute,
        restart=restart,
        summary=summary,
        curves=curves,
    )


def plot_range(result: LRRange, path: str | os.PathLike[str] | None = None) -> Any:
    """Final attribute against LR (log axis) with the chosen bounds, and the per-epoch curves.

    Returns the matplotlib ``Figure`` (shown inline in a notebook; the backend is left as it was) and
    writes it to ``path`` if given. Needs matplotlib (``iblearn[plot]``).
    """
    fig, ((left, right),) = _plotting.figure(1, 2, figsize=(10, 4))
    done = [r for r in result.summary if not r["crashed"]]
    for trial in sorted({r["trial"] for r in done}):
        pts = sorted((r["lr"], r[f"final_{result.attribute}"]) for r in done if r["trial"] == trial)
        left.plot(*zip(*pts, strict=True), marker="o", label=f"trial {trial}")
    for lr, style in ((result.lr_min, ":"), (result.lr_max, "--"), (result.lr_top, "-")):
        left.axvline(lr, color="k", ls=style, lw=1)
    left.set_xscale("log")
    left.set_xlabel("learning rate (lines: lr_min, lr_top, lr_max)")
    left.set_ylabel(f"final {result.attribute}")
    left.legend(fontsize=7)
    for lr in sorted({r["lr"] for r in result.curves}):
        pts = [(r["epoch"], r[result.attribute]) for r in result.curves if r["lr"] == lr and r["trial"] == 0]
        if pts:
            right.plot(*zip(*pts, strict=True), label=f"{lr:g}")
    right.set_xlabel("epoch (trial 0)")
    _plotting.integer_ticks(right)
    right.set_ylabel(result.attribute)
    right.legend(fontsize=6, title="lr")
    return _plotting.finish(fig, path)
