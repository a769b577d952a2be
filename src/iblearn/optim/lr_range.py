"""The LR range test of paper 004 (Algorithm 2): the bounds, the best LR and the threshold MIDecayLR needs.

For each of several trials the model is initialized afresh and saved; every candidate LR, in increasing
order, trains that same initial model for a few epochs, recording per epoch d_p, d_s, the LR, I(T; Y),
the training loss and accuracy. A run that crashes (a non-finite loss, or a sudden collapse of every
metric) ends the trial, and a new trial begins with new weights (the paper: "each LR is tested from
the same initial model state ... until training crashes and a new trial (model weights reset)
begins"). Where the new trial starts is ``restart``:

* ``"candidate"`` (default, Algorithm 2: "If training has crashed break and start a new trial from
  (current) candidate LR_i"): the new trial tests the LR that crashed again, with the new weights, and
  goes on upward from it; a trial that completes every candidate is followed by one from the smallest.
  An LR counts if it completed in at least one trial and crashed in none.
* ``"smallest"`` (iblearn's reading before issue 25): every trial starts from the smallest LR, and an
  LR counts only if it completed in every trial; one that crashed in a trial, or was not reached there
  because a smaller one crashed ("larger LRs would crash as well"), is out. Every candidate below a
  crash is tested in every trial (more trials per LR, more training), but nothing above a crash is
  tested again, however well it might do with other weights.

A collapse is judged against the epoch before; at the first epoch, against the first epoch of the
nearest smaller LR that completed: an LR whose every metric (accuracy, I(T; Y)) ends epoch 1 below
half of that LR's has collapsed too (paper 004's "sudden or dramatic drop in all performance
attributes"; LR 1.0 at chance on MNIST counted as completed before issue 25).

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
[1e-4, 0.2]) are operating ranges of that kind. Issue 20 runs both (docs/results/mi-lr.md).

Algorithm 2 records only completed runs in D and does not say how trials combine. Here an LR that does
not count (above) is crashed: it is never LR_top or LR_min, and its dnn is infinite, so LR_max lies at
or below it. (Averaging only the trials that completed, crashes or not, would let an LR that crashed
in two trials of three become LR_top on the strength of the third.)

"Initial" follows what Algorithm 2 measures: it computes ITY "the initial pre-training (epoch 0) MI"
before the first epoch, so ``initial_ity`` (and ``initial_ity_<k>``) is that ITY_0; the training loss
and accuracy are computed only "after training-epoch", so their initial values are epoch 1's. With a
single epoch per candidate, loss and accuracy would not change between initial and final, and the only
recorded d_s is epoch 1's 1.0 (epsilon = C2), so at least 2 epochs are required.

Resuming. The test takes hours (paper 004's protocol on MNIST: 135 LeNet-5 epochs), so it can be
killed. ``on_epoch(record, state)`` is handed every record the test makes: each candidate's epoch-0
record (``trial``, ``lr``, ``epoch`` 0 and I(T; Y) before training, ITY_0) and each epoch's row (as in
``curves``), with the state the test would go on from: the candidate's model and optimizer, the trial's
initial weights and torch's global RNG (dropout draws from it). Handed back as ``completed`` and
``state``, a new call replays the records without training (their crashes are judged again from their
rows) and trains on from the state, so that its summary, curves and range are those of a test never
stopped, and a kill loses at most the epoch in flight. Random numbers ``train_epoch`` draws from a
generator of its own (its batches) are the caller's to save in ``on_epoch`` and restore; the CUDA RNG
is not restored.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from iblearn import _checks as V
from iblearn import _plotting
from iblearn.optim._lr_replay import Replay, ity_columns, report

#: A metric that falls below this fraction of its previous epoch's value has collapsed.
CRASH_DROP = 0.5
#: Where a trial starts after a crash (see the module docstring).
RESTARTS = ("candidate", "smallest")
#: Which LR is LR_max (see the module docstring).
LR_MAX_RULES = ("algorithm", "prose")


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


def _ds(history: list[float]) -> float:
    return (history[-1] - history[-2]) / history[-1] if len(history) > 1 and history[-1] > 0 else 1.0


def _measured(values: Any, layers: int | None) -> list[float]:
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


def _trained(metrics: Any) -> dict[str, Any]:
    """What ``train_epoch`` returned, checked: a dict with the epoch's ``train_loss`` at least."""
    if not isinstance(metrics, dict) or "train_loss" not in metrics:
        raise ValueError(f"train_epoch: must return a dict with at least 'train_loss', got {metrics!r}")
    return metrics


def _crashed(row: dict[str, Any], previous: dict[str, Any] | None, metrics: Sequence[str]) -> bool:
    if not (math.isfinite(row["train_loss"]) and math.isfinite(row.get("ity", 0.0))):
        return True
    if previous is None:
        return False
    judged = [m for m in metrics if previous[m] > 0]  # every metric at 0: nothing to fall from
    return bool(judged) and all(row[m] < CRASH_DROP * previous[m] for m in judged)


def lr_range_test(
    make_model: Callable[[int], nn.Module],
    train_epoch: Callable[[nn.Module, torch.optim.Optimizer], dict[str, float]],
    measure: Callable[[nn.Module], list[float]],
    *,
    ixy: float | Sequence[float],
    lrs: Sequence[float],
    make_optimizer: Callable[[nn.Module, float], torch.optim.Optimizer] | None = None,
    trials: int = 3,
    epochs: int = 5,
    attribute: str = "train_acc",
    c1: float = 10.0,
    c2: float = 1.0,
    restart: str = "candidate",
    lr_max_rule: str = "algorithm",
    progress: Callable[[str], None] | None = None,
    on_epoch: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    completed: Sequence[Mapping[str, Any]] = (),
    state: Mapping[str, Any] | None = None,
) -> LRRange:
    """Algorithm 2 of paper 004.

    The three callables are positional; every number after them is a keyword, as in
    :class:`~iblearn.optim.MIDecayLR` (``ixy`` and ``lrs`` given in each other's place would go unnoticed
    where ``ixy`` is a list).

    Args:
        make_model: ``make_model(trial) -> model``, a freshly initialized model per trial.
        train_epoch: trains one epoch; returns at least ``{"train_loss": ..., "train_acc": ...}``.
        measure: I(T; Y) per watched layer after the epoch (e.g. :meth:`MIProbe.measure`).
        ixy: I(X; Y) of the MI sample, one value or one per watched layer.
        lrs: candidate LRs (tested in increasing order).
        make_optimizer: ``(model, lr) -> optimizer``; default SGD, momentum 0.9, Nesterov (paper 004).
        trials, epochs: trials, and epochs per candidate per trial (the paper suggests 3 and 5-6;
            at least 2 epochs, see the module docstring).
        attribute: the column the bounds come from: ``"train_acc"``, ``"train_loss"`` (lower is better,
            it is negated), or ``"ity"`` / ``"ity_<k>"`` for I(T; Y) of watched layer k (layer-wise).
        c1, c2: the constants of Algorithm 2 (defaults 10 and 1).
        restart: where a new trial starts after a crash: ``"candidate"`` (Algorithm 2), the LR that
            crashed, or ``"smallest"``, the first candidate (see the module docstring).
        lr_max_rule: ``"algorithm"`` (Algorithm 2's line) or ``"prose"`` (the LR before it, the largest
            that trains well): see the module docstring.
        progress: called with a message after every candidate run (not after those replayed from
            ``completed``).
        on_epoch: ``on_epoch(record, state)``, called after every record the test makes, to save its
            progress (see "Resuming" in the module docstring): a candidate's epoch-0 record (I(T; Y)
            before training) and then each of its epochs' rows (those of ``curves``). ``state`` holds
            live tensors: save or copy it before returning.
        completed: the records ``on_epoch`` was given by an interrupted test with the same arguments, in
            order: replayed without training.
        state: the ``state`` handed to ``on_epoch`` with the last of ``completed``; needed if the test
            goes on after them (it restores torch's global RNG, and within a trial the trial's initial
            weights and the model and optimizer of a candidate in flight).

    Returns:
        :class:`LRRange`, with the table D (``summary``) and every epoch's record (``curves``);
        :func:`select_range` recomputes it for another attribute or constants without training again.

    Raises:
        ValueError: naming the argument, for bad ``lrs``, ``trials``, ``epochs``, ``ixy``, ``c1`` or
            ``c2``, checked before any training; for ``completed`` that this test would not have
            recorded (another ``lrs``, ``trials``, ``epochs`` or ``restart``, a missing value) and a
            ``state`` missing or not of the last record, found before any training.
    """
    if not lrs or any(not (math.isfinite(lr) and lr > 0) for lr in lrs):
        raise ValueError(f"lrs: expected positive candidate learning rates, got {list(lrs)!r}")
    for value, name in ((trials, "trials"), (epochs, "epochs")):
        V.positive_int(value, name)
    if epochs < 2:
        # One epoch records d_s = 1.0 only (epsilon = C2) and the same first and final accuracy.
        raise ValueError(f"epochs: Algorithm 2 needs at least 2 epochs per candidate, got {epochs}")
    bounds = [float(v) for v in ixy] if isinstance(ixy, Sequence) else [float(ixy)]
    if not bounds or not all(math.isfinite(v) and v > 0 for v in bounds):
        raise ValueError(f"ixy: the MI upper bound must be positive and finite, got {ixy!r}")
    # Checked here too, not only in select_range, so that bad constants fail before hours of training.
    if not all(isinstance(c, int | float) and math.isfinite(c) and c > 0 for c in (c1, c2)):
        raise ValueError(f"c1, c2: must be positive, got {c1}, {c2}")
    if restart not in RESTARTS:
        raise ValueError(f"restart: expected one of {', '.join(RESTARTS)}, got {restart!r}")
    if lr_max_rule not in LR_MAX_RULES:
        raise ValueError(f"lr_max_rule: expected one of {', '.join(LR_MAX_RULES)}, got {lr_max_rule!r}")
    optimizer_for = make_optimizer or (
        lambda model, lr: torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    )
    summary: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    first_epochs: dict[float, dict[str, Any]] = {}  # epoch 1 of each LR that completed: collapse references
    candidates = sorted(lrs)
    replay = Replay(completed, state)
    begin = 0  # the candidate the trial starts from
    for trial in range(trials):
        initial: nn.Module | None = None  # made when the trial first trains (not while it is replayed)
        saved: dict[str, Any] = {}
        for i in range(begin, len(candidates)):
            lr = candidates[i]
            smaller = [first_epochs[c] for c in candidates[:i] if c in first_epochs]
            model: nn.Module | None = None  # None while the candidate is replayed
            optimizer: torch.optim.Optimizer | None = None
            zero = replay.take(trial, lr, 0)
            if zero is not None:
                ity = [replay.ity(zero, None)]
            else:
                if initial is None:
                    initial, saved = replay.trial_model(trial, make_model)
                model = initial
                model.load_state_dict(saved)
                optimizer = optimizer_for(model, lr)
                ity = [_measured(measure(model), None)]  # ITY_0, before training at this LR
                zero = {"trial": trial, "lr": lr, "epoch": 0, **ity_columns(ity[0])}
                report(on_epoch, zero, model, optimizer, saved)
            first: dict[str, Any] | None = None
            previous: dict[str, Any] | None = smaller[-1] if smaller else None
            min_ds = [math.inf] * len(ity[0])
            crashed = False
            for epoch in range(1, epochs + 1):
                d_s = [_ds([h[k] for h in ity]) for k in range(len(ity[0]))]
                min_ds = [min(a, b) for a, b in zip(min_ds, d_s, strict=True)]
                d_p = [
                    1 - max(h[k] for h in ity) / bounds[min(k, len(bounds) - 1)] for k in range(len(ity[0]))
                ]
                row = replay.take(trial, lr, epoch) if model is None else None
                if row is not None:
                    ity.append(replay.ity(row, len(ity[0])))
                else:
                    if model is None or optimizer is None:  # the records end inside this candidate
                        model, optimizer, saved = replay.candidate(trial, lr, make_model, optimizer_for)
                        initial = model
                    metrics = _trained(train_epoch(model, optimizer))
                    ity.append(_measured(measure(model), len(ity[0])))
                    row = {
                        "trial": trial,
                        "lr": lr,
                        "epoch": epoch,
                        "d_p": d_p[0],
                        "d_s": d_s[0],
                        **metrics,
                        **ity_columns(ity[-1]),
                        **{f"d_s_{k}": v for k, v in enumerate(d_s)},
                    }
                    report(on_epoch, row, model, optimizer, saved)
                curves.append(row)
                if _crashed(row, previous, [m for m in ("train_acc", "ity") if m in row]):
                    crashed = True
                    break
                first = first or row
                previous = row
            if crashed or first is None or previous is None:
                summary.append({"trial": trial, "lr": lr, "crashed": True})
                if progress and model is not None:
                    progress(f"trial {trial}: lr {lr:g} crashed; next trial")
                begin = i if restart == "candidate" else 0
                break
            first_epochs[lr] = first
            entry: dict[str, Any] = {
                "trial": trial,
                "lr": lr,
                "crashed": False,
                "min_d_s": min_ds[0],
                **{f"min_d_s_{k}": v for k, v in enumerate(min_ds)},
            }
            # Algorithm 2 measures ITY before training (epoch 0), loss and accuracy only after epochs.
            start = {**first, **ity_columns(ity[0])}
            for key in previous:
                if key not in ("trial", "lr", "epoch", "d_p", "d_s") and not key.startswith("d_s_"):
                    entry[f"initial_{key}"], entry[f"final_{key}"] = start[key], previous[key]
            summary.append(entry)
            if progress and model is not None:
                progress(f"trial {trial}: lr {lr:g}")
        else:
            begin = 0  # a trial that completed every candidate: the next one starts from the smallest
    replay.finish()
    return select_range(
        summary, curves, attribute=attribute, c1=c1, c2=c2, restart=restart, lr_max_rule=lr_max_rule
    )


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
    """The bounds of Algorithm 2 from a recorded table D (see :func:`lr_range_test`); ``restart`` is
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
    # Which candidates count (see the module docstring); the rest crashed.
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
