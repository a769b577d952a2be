"""The rows a network trains and is evaluated on: the batches ``fit`` draws (:func:`sample_batches`),
the rows it holds out (:func:`hold_out`), and the evaluation batches an estimate is pooled over
(:func:`eval_parts`). The loop that uses them is :class:`.trainer.Trainer`'s."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V


def passes(batches: Iterable[Any]) -> Iterator[Any]:
    """One pass over ``batches`` after another: a DataLoader reshuffles and re-augments on each pass
    (``itertools.cycle`` would replay the first pass, and hold all of it in memory). It ends where a
    pass yields nothing: an iterator (a generator) is read once, and waiting for its next pass would
    never end. A first pass that yields nothing raises ValueError naming ``x``."""
    first = True
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            if first:
                raise ValueError("x: yields no batches; pass a DataLoader or iterable of (x, y) batches")
            return
        first = False


def pair(batch: Any) -> tuple[Any, Any]:
    """A batch of a DataLoader as ``(x, y)``, refusing one that is not a pair (a dict's keys would be
    read as the samples)."""
    if (what := V.not_a_pair(batch)) is not None:
        raise ValueError(
            f"x: its batches are {what}; yield (x, y) pairs, e.g. a DataLoader over TensorDataset(x, y)"
        )
    return batch[0], batch[1]


def sample_batches(x: Any, y: Any, batch_size: int, seed: int) -> Iterator[tuple[Any, Any]]:
    """Endless training batches: from tensors, ``batch_size`` rows drawn without replacement in a fresh
    random order on each pass (seeded); or ``x`` an iterable of ``(x, y)`` batches (a DataLoader), and
    ``y`` None, cycled (:func:`passes`, which ends with an iterator read out)."""
    if y is None and isinstance(x, Iterable) and not isinstance(x, Tensor | np.ndarray):
        return (pair(batch) for batch in passes(x))  # a DataLoader of (x, y) batches
    if y is None:
        raise ValueError("y: needed unless x is an iterable of (x, y) batches")
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    n = V.same_length(("x", xt), ("y", yt))
    if n < 2:  # an empty x drew batches of 0 rows (range() with step 0)
        raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
    if batch_size < 2:  # else refused at the first step as x of 1 sample
        raise ValueError(
            f"batch_size: a batch needs at least 2 rows to form negative pairs, got {batch_size}"
        )
    orders = batch_orders(n, batch_size, seed, xt.device)
    return ((xt[idx], yt[idx]) for idx in orders)


def batch_orders(n: int, batch_size: int, seed: int, device: torch.device | None = None) -> Iterator[Tensor]:
    """The row indices of :func:`sample_batches`' batches, endless: ``min(batch_size, n)`` rows drawn
    without replacement in a fresh random order on each pass (seeded), on ``device`` (the CPU if None).

    Without replacement, since a row drawn twice into a batch would be its own copy's negative, a joint
    pair scored as a marginal one (see derangements). The last partial batch of a pass is dropped; the
    next pass is a new permutation."""
    gen = torch.Generator().manual_seed(seed)
    size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=gen).to(device)
        for start in range(0, n - size + 1, size):
            yield order[start : start + size]


def eval_parts(n: int, eval_batch_size: int, device: torch.device) -> tuple[Tensor, ...]:
    """Row indices of the evaluation batches of ``n`` rows: the rows in a fixed random order, since
    negatives are drawn within a batch (rows grouped by class or in time would make the marginal a
    conditional: MINE gave -0.18 nats for 0.41 on rows sorted by y), cut into the fewest batches of at
    most ``eval_batch_size``, even in size; a lone last row (batches of 2, N odd) joins the one before."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0)).to(device)
    parts = list(order.tensor_split(-(-n // eval_batch_size)))
    if len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]
    return tuple(parts)


def hold_out(x: Any, y: Any, share: float, seed: int) -> tuple[Any, Any, tuple[Tensor, Tensor] | None]:
    """``(x, y)`` split into training rows and held-out ``(x, y)`` for validation, a random ``share`` of
    the rows (seeded). Only row tensors (or arrays) are split; anything else (a DataLoader, a graph,
    ``y`` None) and ``share`` 0 come back whole, with None held out.

    Raises:
        ValueError: ``share`` of the rows leaves fewer than 2 on one side (naming ``validation``).
    """
    rows = (Tensor, np.ndarray)
    if share == 0 or not (isinstance(x, rows) and isinstance(y, rows)):
        return x, y, None
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    n = V.same_length(("x", xt), ("y", yt))
    # Before the rows are shuffled, so that a bad row is named by its place in the caller's rows.
    V.finite_rows(xt, "x")
    V.finite_rows(yt, "y")
    if n < 2:
        raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
    n_held = round(n * share)
    if min(n_held, n - n_held) < 2:
        raise ValueError(
            f"validation: {share:g} of {n} rows leaves fewer than 2 on one side; "
            "build the estimator with validation=0 to train on every row"
        )
    # Its own stream: the batches' generator starts from ``seed`` too.
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 0x5EED)).to(xt.device)
    train, held = order[n_held:], order[:n_held]
    return xt[train], yt[train], (xt[held], yt[held])
