"""The collectives of ``torch.distributed`` (``torchrun``, DistributedDataParallel) that the neural
estimators, greedy training, the information plane and the reproductions share: one module below them
all, importing none of them.

Inside an initialized process group of more than one rank, each rank passes its own rows, and the
negatives come from every rank's rows: a contrastive bound on 8 ranks of 256 that kept its negatives
at home would be capped at log 256 instead of log 2,048 (InfoNCE, van den Oord et al. 2018). So the
columns of a batch (the y that re-pairs with x) are gathered from all ranks with a gather that carries
gradients (as :func:`torch.distributed.nn.functional.all_gather` does: its backward sums every rank's
gradient w.r.t. a rank's rows and hands it to that rank), and each rank's bound covers its own rows
against all columns:

* InfoNCE, NWJ and JS are means over rows, so the mean over ranks of their per-rank values and
  gradients is the single-process value and gradient on the concatenated batch.
* The Donsker-Varadhan bound (MINE, and JS's and DIM's reported bound) has ``log E_Q[exp T]`` over all
  marginal scores: those are gathered too (:func:`gather`), so that term, and MINE's moving average of
  it, is the same on every rank, and again the mean over ranks is the single-process bound.
* The ranks may hold different numbers of rows (a ``DistributedSampler``'s last batch, or the nodes
  of each rank's graphs): each rank's bound is then weighted by its share of the rows
  (:func:`rank_weight`), so the mean over ranks is again the bound on the concatenated batch.
* Re-pairings are drawn over the global batch from the estimator's generator, which every rank seeds
  alike (``fit(seed=...)``) and advances alike: the same derangements as one process on the
  concatenated batch, each rank scoring its own rows of them.

Averaging over ranks is what DDP does to the gradients of a network wrapped in it; the critic's own
training step averages the critic's gradients the same way (:func:`average_gradients`), so every rank
keeps the same critic. An estimate (``est(x, y)``, and ``fit``'s validation) gathers the rows of every
rank and evaluates them on each, so every rank reports the same number: the single-process estimate on
all rows. Outside a process group (or in a group of one) nothing here acts: :func:`gather` returns its
argument itself.

What each name gives:

* where this process stands: :func:`rank` and :func:`world_size` of the work (0 and 1 inside
  :func:`single_process`); :func:`is_distributed`, whether the work is spread over ranks now, and
  :func:`in_process_group`, whether a group of several ranks exists at all;
* two contexts: :func:`single_process` (rows already gathered, computed as one process) and
  :func:`across_ranks` (spread again, inside it);
* rows: :func:`gather` (every rank's rows), :func:`every_rank_rows` (both arguments of an estimate),
  :func:`offset_and_total` (where this rank's rows start, and how many there are in all),
  :func:`own_row_indices` (their indices in the global batch);
* means and sums over ranks: :func:`rank_weight` (a rank's weight as a float), :func:`share_of_mean`
  (this rank's share of the mean over every rank's values, with gradients), :func:`mean_over_ranks`
  (the detached mean of one value a rank), :func:`sum_over_ranks` (the sum, with gradients),
  :func:`average_gradients` (a module's gradients, as DDP).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from iblearn import _checks as V

# Set while an estimate evaluates rows already gathered from every rank: it is then one process's work.
_single: ContextVar[bool] = ContextVar("iblearn_single_process", default=False)


def _group_size() -> int:
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return 1
    return torch.distributed.get_world_size()


def rank() -> int:
    """This process's rank in the default process group: 0 outside one (or inside
    :func:`single_process`)."""
    return 0 if _single.get() or _group_size() == 1 else torch.distributed.get_rank()


def world_size() -> int:
    """The number of ranks the work is spread over: 1 outside a process group (or inside
    :func:`single_process`)."""
    return 1 if _single.get() else _group_size()


def is_distributed() -> bool:
    """Whether the work is spread over more than one rank (see the module's docstring): False outside a
    process group of more than one rank and inside :func:`single_process`."""
    return world_size() > 1


def in_process_group() -> bool:
    """Whether a process group of more than one rank is initialized, inside :func:`single_process` too."""
    return _group_size() > 1


@contextlib.contextmanager
def single_process() -> Iterator[None]:
    """Within it, the estimators compute as one process on the rows they are given."""
    token = _single.set(True)
    try:
        yield
    finally:
        _single.reset(token)


@contextlib.contextmanager
def across_ranks() -> Iterator[None]:
    """Undoes :func:`single_process` within it: for inputs that are not rows to pool on one rank
    (graphs), an estimate is each rank's share of it, summed over the ranks."""
    token = _single.set(False)
    try:
        yield
    finally:
        _single.reset(token)


# The dtypes told apart between the ranks (any other is "other").
_DTYPES = (
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.complex64,
    torch.complex128,
    torch.int64,
    torch.int32,
    torch.int16,
    torch.int8,
    torch.uint8,
    torch.bool,
)


def _sizes(t: Tensor, what: str = "x") -> list[int]:
    """Every rank's number of rows of ``t``.

    Raises:
        ValueError: ``t`` is 0-d, or the ranks' rows differ in dtype or shape (``what`` names the
            argument).
    """
    size = world_size()
    if t.ndim == 0:
        raise ValueError(f"{what}: expected rows, got a 0-d tensor")
    if t.ndim > 7:
        raise ValueError(f"{what}: at most 7 dimensions under torch.distributed, got {t.ndim}")
    # every rank's dtype and shape, as one fixed-size row
    shape = [_DTYPES.index(t.dtype) if t.dtype in _DTYPES else -1, t.ndim, *t.shape] + [-1] * (7 - t.ndim)
    mine = torch.tensor(shape, dtype=torch.long, device=t.device)
    every = [torch.empty_like(mine) for _ in range(size)]
    torch.distributed.all_gather(every, mine)
    dtypes = [str(_DTYPES[int(row[0])]) if int(row[0]) >= 0 else "other" for row in every]
    if len(set(dtypes)) > 1:  # the gather of rows of different sizes in bytes aborts inside gloo
        raise ValueError(
            f"{what}: every rank's rows must have the same dtype under torch.distributed, got "
            f"{dtypes} on ranks 0..{size - 1}"
        )
    shapes = [tuple(int(d) for d in row[3 : 2 + int(row[1])]) for row in every]
    if len(set(shapes)) > 1:
        raise ValueError(
            f"{what}: every rank's rows must have the same shape under torch.distributed, got "
            f"{shapes} on ranks 0..{size - 1}"
        )
    return [int(row[2]) for row in every]


def gather(t: Tensor, what: str = "x") -> Tensor:
    """The rows of ``t`` from every rank, in rank order, any number on each (padded for the collective,
    then cut), with gradients flowing back to each rank's own rows; ``t`` itself outside a process group.

    Raises:
        ValueError: ``t`` is 0-d, or the ranks' rows differ in dtype or shape (``what`` names the
            argument).
    """
    if not is_distributed():
        return t
    sizes = _sizes(t, what)
    if len(set(sizes)) == 1:
        return cast(Tensor, _Gather.apply(t))  # type: ignore[no-untyped-call]
    pad = t.new_zeros((max(sizes) - len(t), *t.shape[1:]))
    parts = cast(Tensor, _Gather.apply(torch.cat([t, pad]))).split(max(sizes))  # type: ignore[no-untyped-call]
    return torch.cat([part[:n] for part, n in zip(parts, sizes, strict=True)])


class _Gather(torch.autograd.Function):
    """All ranks' rows, concatenated; backward, the sum over ranks of the gradient w.r.t. this rank's
    rows, as :func:`torch.distributed.nn.functional.all_gather` gives (deprecated in torch 2.13, and on
    gloo a scatter from every rank): here one all-reduce, which every backend has."""

    @staticmethod
    def forward(ctx: Any, t: Tensor) -> Tensor:
        t = t.contiguous()
        parts = [torch.empty_like(t) for _ in range(world_size())]
        torch.distributed.all_gather(parts, t)
        ctx.rows = len(t)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        torch.distributed.all_reduce(grad)
        mine = rank()
        return grad[mine * ctx.rows : (mine + 1) * ctx.rows]


def offset_and_total(n_local: int, device: torch.device | None = None) -> tuple[int, int]:
    """``(offset, total)``: where this rank's ``n_local`` rows start in the global batch (every rank's
    rows in rank order, any number on each), and how many rows it has; ``(0, n_local)`` outside a
    process group."""
    if not is_distributed():
        return 0, n_local
    if device is None:  # NCCL's collectives take tensors on the rank's GPU only
        nccl = torch.distributed.get_backend() == "nccl"
        device = torch.device("cuda", torch.cuda.current_device()) if nccl else torch.device("cpu")
    sizes = _sizes(torch.empty(n_local, device=device))
    return sum(sizes[: rank()]), sum(sizes)


def share_of_mean(values: Tensor) -> Tensor:
    """This rank's share of the mean of ``values`` over every rank's (any number on each): their sum
    times the number of ranks over the number of values on all ranks, so that the mean over ranks (what
    DDP does to gradients) is the mean over all values; ``values.mean()`` outside a process group."""
    if not is_distributed():
        return values.mean()
    _, total = offset_and_total(values.numel(), values.device)
    return values.sum() * (world_size() / total)


def sum_over_ranks(value: Tensor) -> Tensor:
    """The sum of the 0-d ``value`` over the ranks, with gradients flowing back to every rank's own
    (each rank's ``value`` is one row of a :func:`gather`); ``value`` outside a process group."""
    if not is_distributed():
        return value
    return gather(value.reshape(1), "value").sum()


def own_row_indices(n_local: int, device: torch.device) -> Tensor:
    """This rank's row indices in the global batch (every rank's rows in rank order)."""
    offset, _ = offset_and_total(n_local, device)
    return torch.arange(offset, offset + n_local, device=device)


def rank_weight(n_local: int, device: torch.device | None = None) -> float:
    """The weight of this rank's bound when the ranks hold ``n_local`` rows each, any number on each:
    the number of ranks times this rank's share of the rows (1.0 outside a process group, and for
    equal batches).

    A rank's bound is a mean over its own rows plus terms every rank computes alike from the gathered
    rows (DV's log E_Q[exp T], InfoNCE's log M). Weighted so, the mean over ranks (what DDP does to
    gradients) is the mean over all rows: the single-process bound on the concatenated batch, and its
    gradient, however unequal the batches."""
    if not is_distributed():
        return 1.0
    _, total = offset_and_total(n_local, device)
    return world_size() * n_local / total


def mean_over_ranks(value: Tensor) -> Tensor:
    """``value`` (detached) averaged over the ranks: the single-process value of a bound whose per-rank
    values are its means over each rank's rows."""
    if not is_distributed():
        return value
    out = value.detach().clone()
    torch.distributed.all_reduce(out)
    return out / world_size()


def average_gradients(module: nn.Module) -> None:
    """Average the gradients of ``module``'s parameters over the ranks, as DDP does, in one collective.

    The critic's training step calls it after its backward pass; a critic trained through ``loss`` with
    your own optimizer needs it too (between ``backward`` and ``step``), unless you wrap the critic's
    parameters in DDP yourself. Parameters without a gradient are left alone (every rank runs the same
    code, so they are the same on every rank). No-op outside a process group.
    """
    if not is_distributed():
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    flat /= world_size()
    start = 0
    for g in grads:
        g.copy_(flat[start : start + g.numel()].view_as(g))
        start += g.numel()


def every_rank_rows(x: Any, y: Any) -> tuple[Any, Any]:
    """Under ``torch.distributed``, the rows of every rank (in rank order, any number on each), so that
    an estimate is the single-process one on all of them, the same on every rank; else, or for inputs
    that are not rows (``y`` None, a torch-geometric graph), ``x`` and ``y`` as given.

    Rows are tensors, numpy arrays, and lists or tuples of rows (read as one array each). Which inputs
    are gathered depends on their types alone, the same on every rank, so no rank waits on a collective
    that another skips.

    Raises:
        ValueError: a list or tuple cannot be read as an array of rows, or the ranks' rows differ in
            dtype or shape (naming ``x`` or ``y``).
    """
    rows = (Tensor, np.ndarray, list, tuple)
    if not (is_distributed() and isinstance(x, rows) and isinstance(y, rows)):
        return x, y
    return gather(V.as_tensor(x, "x"), "x"), gather(V.as_tensor(y, "y"), "y")
