"""Many critics trained at once: one neural estimator's settings fitted to many ``(x, y)`` pairs in one
stacked training loop (:func:`estimate_many`), for a call that asks for many estimates (the information
plane's layers, pairwise neural MI, a sweep).

The K critics' parameters are stacked along a new first dimension (:func:`torch.func.stack_module_state`)
and a training step is the estimator's own ``batch_loss`` mapped over them (:func:`torch.func.vmap` of
:func:`torch.func.functional_call`): one call of small batched matrix products instead of K calls of
small ones. Nothing couples the critics: the loss summed over them has each critic's own gradient, and
one Adam over the stacked tensors is K Adams (Adam is elementwise; the estimators clip no gradient
norm). Pairs of different widths are padded with zero columns to the widest, and each critic's first
layer with zero weights for them: a zero input gives its weight a zero gradient, Adam moves a weight
with zero gradients nowhere, so the padded critic computes what the unpadded one does throughout.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from iblearn import _checks as V
from iblearn import distributed
from iblearn._settings import check_settings
from iblearn.estimators.base import Estimator, MIEstimate
from iblearn.estimators.critics import ConcatCritic, SeparableCritic
from iblearn.estimators.neural import captured, fitting
from iblearn.estimators.neural.base import NeuralEstimator
from iblearn.estimators.neural.inputs import param_dtype, refuse_constant
from iblearn.estimators.neural.trainer import History, adam

__all__ = ["estimate_many", "fresh_copy", "unstackable"]

_ROWS = (Tensor, np.ndarray)


def _width(t: Any, name: str) -> int:
    """Features per row of a sample (``(N,)`` is one)."""
    return int(V.as_tensor(t, name).shape[1:].numel())


def fresh_copy(estimator: NeuralEstimator, x: Any, y: Any) -> NeuralEstimator:
    """A copy of ``estimator`` for the pair ``(x, y)``: built again from its settings, its critic for
    the pair's widths (y's classes where ``y_classes`` is set), on the estimator's device and in its
    dtype; with a critic module of the caller's (no setting), a deep copy of the estimator as it stands."""
    if estimator.critic_kind is None:
        return copy.deepcopy(estimator)
    widths = {"x_dim": _width(x, "x"), "y_dim": estimator.y_classes or _width(y, "y")}
    built = type(estimator)(**{**estimator.settings(), **widths})
    return built.to(device=estimator.steps_done.device, dtype=param_dtype(estimator.critic))


def _checked(estimator: Any, pairs: Any, steps: Any, batch_size: Any, seed: Any) -> list[tuple[Any, Any]]:
    """``pairs`` as a list of pairs, the arguments checked, each fault named."""
    if not isinstance(estimator, NeuralEstimator):
        kind = estimator.name if isinstance(estimator, Estimator) else type(estimator).__name__
        raise ValueError(f"estimator: expected a neural estimator (a critic to train), got {kind}")
    check_settings({"steps": steps, "batch_size": batch_size, "seed": seed})
    if isinstance(pairs, Tensor | np.ndarray | str) or not isinstance(pairs, Sequence):
        raise ValueError(f"pairs: expected a sequence of (x, y) pairs, got {type(pairs).__name__}")
    if len(pairs) == 0:
        raise ValueError("pairs: expected at least one (x, y) pair, got none")
    rows = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise ValueError(f"pairs: item {i} is not an (x, y) pair")
        x, y = pair
        rows.append(_rows(x))
        if rows[-1] is not None and _rows(y) not in (None, rows[-1]):
            raise ValueError(f"pairs: item {i} has {rows[-1]} rows of x and {_rows(y)} of y")
        if rows[-1] == 0:
            raise ValueError(f"pairs: item {i} has no rows")
    if len(set(rows)) > 1:
        raise ValueError(f"pairs: every pair needs the same number of rows, got {sorted(set(rows), key=str)}")
    return [(x, y) for x, y in pairs]


def _rows(t: Any) -> int | None:
    """The number of rows of a sample given as rows (a tensor, an array or a list of rows), else None."""
    if isinstance(t, _ROWS):
        return len(t) if t.ndim else None
    return len(t) if isinstance(t, list | tuple) else None


@contextlib.contextmanager
def _pair(i: int) -> Iterator[None]:
    """A bad sample's error, named by the pair it is in."""
    try:
        yield
    except ValueError as err:
        raise ValueError(f"pairs: item {i}: {err}") from err


def unstackable(estimator: NeuralEstimator, pairs: Sequence[tuple[Any, Any]]) -> str | None:
    """Why :func:`estimate_many` trains these pairs' critics one by one, or None where it stacks them."""
    # A step that may be captured in a CUDA graph (:mod:`.captured`) is one that maps over critics: it
    # reads nothing to the host, and draws only the negatives, once a step from the trainer's generator
    # (the same draws for every critic: they share the fit's seed and the batch size).
    if not type(estimator).capturable_step:
        return f"{estimator.name}'s training step is not one that maps over stacked critics"
    if estimator.critic_kind is None:
        return "a critic module of the caller's cannot be rebuilt for each pair's widths"
    if type(estimator.critic) not in (ConcatCritic, SeparableCritic):
        return f"{estimator.name}'s critic is not a default critic, whose first layers are padded"
    others = [n for n, _ in estimator.named_parameters() if n.split(".")[0] not in ("critic", "averaged")]
    if others:
        return f"{estimator.name} trains networks beside its critic ({others[0]})"
    if getattr(estimator, "chunk", None) is not None:
        return "a chunked InfoNCE step is not mapped over critics"
    if distributed.is_distributed():
        return "under torch.distributed each rank's step gathers from the others"
    if len(pairs) < 2:
        return "one pair"
    for x, y in pairs:
        if not (isinstance(x, _ROWS) and isinstance(y, _ROWS) and 1 <= x.ndim <= 2 and 1 <= y.ndim <= 2):
            return "only row tensors (N,) or (N, d) are padded and stacked"
    return None


def _each(
    estimator: NeuralEstimator, pairs: list[tuple[Any, Any]], fit: tuple[int, int, int]
) -> list[MIEstimate]:
    """The critics one at a time: for each pair a :func:`fresh_copy` of ``estimator``, fitted to it
    (``fit``: steps, batch size, seed) and called on it."""
    steps, batch_size, seed = fit
    found = []
    for i, (x, y) in enumerate(pairs):
        with _pair(i):
            est = fresh_copy(estimator, x, y)
            est.fit(x, y, steps=steps, batch_size=batch_size, seed=seed)
            found.append(est(x, y))
    return found


def estimate_many(
    estimator: NeuralEstimator,
    pairs: Sequence[tuple[Any, Any]],
    *,
    steps: int = 2000,
    batch_size: int = 256,
    seed: int = 0,
    stack: bool = True,
) -> list[MIEstimate]:
    """One estimate per ``(x, y)`` pair from a copy of ``estimator`` fitted to it, all the critics
    trained at once: what one fit after another gives (``stack=False``: for each pair a
    :func:`fresh_copy`, ``copy.fit(x, y, steps=..., batch_size=..., seed=...)``, then ``copy(x, y)``),
    to float rounding (the padded and batched matrix products sum in another order), from the same
    critics, batches and negatives.

    Each pair's critic is :func:`fresh_copy`'s (the estimator's settings and ``seed``, the pair's
    widths); the fit is :meth:`~iblearn.estimators.neural.NeuralEstimator.fit`'s: ``steps`` Adam steps
    on batches of ``batch_size`` rows in the order ``seed`` draws, the share ``validation`` held out and
    watched every ``eval_every`` steps, the weight average, each critic stopping early on its own
    ``patience`` (a stopped critic's further steps are discarded: it is restored to its best, as alone),
    and the estimate ``copy(x, y)`` with its figures. Trained one by one instead, with the same
    results (:func:`unstackable` says why): a family whose step cannot be captured (:mod:`.captured`), a
    critic other than the default ones (a module of the caller's among them), a chunked InfoNCE, inputs
    that are not row tensors, under ``torch.distributed``, a single pair, and any training in which a
    critic diverges (the one-by-one fits then raise what they raise). On a CUDA device the one-by-one
    fit replays a captured step, and so do the stacked steps (:class:`~.captured.StepGraph`).

    Args:
        estimator: a neural estimator, whose settings each copy takes (it is not trained itself).
        pairs: ``(x, y)`` samples as rows, the same number of rows in every pair; widths may differ.
        steps, batch_size, seed: as for ``fit``.
        stack: False fits the critics one after another.

    Returns:
        The pairs' estimates, in order.

    Raises:
        ValueError: a bad argument, named (``estimator`` not neural, ``pairs`` empty or of unequal row
            counts), or a bad sample (as ``fit`` names it).

    Example:
        >>> from iblearn.estimators.neural import InfoNCE
        >>> gen = torch.Generator().manual_seed(0)
        >>> x = torch.randn(256, 2, generator=gen); y = x[:, :1] + 0.3 * torch.randn(256, 1, generator=gen)
        >>> found = estimate_many(InfoNCE(hidden=(16,)), [(x, y), (y, x)], steps=60, batch_size=64)
        >>> [e.value > 0 for e in found]
        [tensor(True), tensor(True)]
    """
    stack = V.flag(stack, "stack")
    pairs = _checked(estimator, pairs, steps, batch_size, seed)
    # samples are data here, not a graph to train through: a tensor that requires grad is read as values
    pairs = [tuple(v.detach() if isinstance(v, Tensor) else v for v in p) for p in pairs]  # type: ignore[misc]
    fit = (steps, batch_size, seed)
    if not stack or unstackable(estimator, pairs) is not None:
        return _each(estimator, pairs, fit)
    copies = []
    for i, (x, y) in enumerate(pairs):
        with _pair(i):
            copies.append(fresh_copy(estimator, x, y))
    if not _StackedFit(estimator, copies, pairs, seed).run(steps, batch_size):
        return _each(estimator, pairs, fit)  # a critic diverged: the fits alone raise what they raise
    return [est(x, y) for est, (x, y) in zip(copies, pairs, strict=True)]


def _padding(kind: str, name: str, x_dim: int, y_dim: int, wide_x: int) -> Tensor | None:
    """The input columns of the widest critic's first-layer weight ``name`` that a critic of these
    widths fills (None: the parameter is the same size for every critic)."""
    if kind == "concat" and name == "net.0.weight":  # the input is [x, y]: x's columns, then y's
        return torch.cat([torch.arange(x_dim), wide_x + torch.arange(y_dim)])
    if kind == "separable" and name in ("g.0.weight", "h.0.weight"):
        return torch.arange(x_dim if name[0] == "g" else y_dim)
    return None


class _Batched(nn.Module):
    """The estimator's batch loss as a module, for :func:`functional_call` to run with one critic's
    parameters (and the estimator's own buffers) swapped in."""

    def __init__(self, est: NeuralEstimator) -> None:
        super().__init__()
        self.est = est

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        batch = self.est.batch_loss(x, y)
        return batch.loss, -batch.loss.detach() if batch.bound is None else batch.bound


@dataclass
class _Kept:
    """One critic's state: its parameters and weight average (unpadded), its estimator's own buffers,
    and its step count."""

    live: dict[str, Tensor]
    averaged: dict[str, Tensor] | None
    own: dict[str, Tensor]
    steps: int


class _StackedFit:
    """:meth:`Trainer.fit`'s loop over K copies at once (:func:`estimate_many`)."""

    def __init__(
        self,
        estimator: NeuralEstimator,
        copies: list[NeuralEstimator],
        pairs: list[tuple[Any, Any]],
        seed: int,
    ) -> None:
        self.copies, self.seed = copies, seed
        self.settings = copies[0]
        checked = []
        for i, (est, (x, y)) in enumerate(zip(copies, pairs, strict=True)):
            with _pair(i):
                checked.append(est.checked_inputs(x, y))
                refuse_constant(x, y)
        self.widths = [(x[0].numel(), y[0].numel()) for x, y in checked]
        wide = (max(w[0] for w in self.widths), max(w[1] for w in self.widths))
        self.template = fresh_copy(estimator, torch.empty(1, wide[0]), torch.empty(1, wide[1]))
        kind = str(estimator.critic_kind)
        self.columns = [
            {
                n: c
                for n, _ in est.critic.named_parameters()
                if (c := _padding(kind, n, *w, wide[0])) is not None
            }
            for est, w in zip(copies, self.widths, strict=True)
        ]
        # Each pair's split, as its own fit draws it (the same rows for every pair: same N and seed).
        self.split = [fitting.hold_out(x, y, estimator.validation, seed) for x, y in pairs]
        train = [est.checked_inputs(x, y) for est, (x, y, _) in zip(copies, self.split, strict=True)]
        self.x = torch.stack([self._padded_rows(t[0], wide[0]) for t in train])  # (K, N, widest x)
        self.y = torch.stack([self._padded_rows(t[1], wide[1]) for t in train])
        limits = [est.plausible_limit(x, y) for est, (x, y) in zip(copies, checked, strict=True)]
        self.limits = torch.tensor(limits, dtype=torch.float64, device=self.x.device)
        padded = [self._padded_critic(i) for i in range(len(copies))]
        self.live, self.buffers = stack_module_state(padded)  # type: ignore[arg-type]
        self.averaged: dict[str, Tensor] | None = None
        own = {n: b for n, b in self.template.named_buffers() if "." not in n and n != "steps_done"}
        self.own = {n: torch.stack([b.clone() for _ in copies]) for n, b in own.items()}
        self.adam = adam(list(self.live.values()), self.settings.lr)
        self.loss = _Batched(self.template)

    @staticmethod
    def _padded_rows(t: Tensor, wide: int) -> Tensor:
        flat = t.reshape(len(t), -1)
        return torch.nn.functional.pad(flat, (0, wide - flat.shape[1]))

    def _padded_critic(self, i: int) -> nn.Module:
        """Copy ``i``'s critic in the widest critic's shape, zero weights for the padded columns."""
        module = copy.deepcopy(self.template.critic)
        state = dict(self.copies[i].critic.state_dict())
        widest = module.state_dict()
        for name, cols in self.columns[i].items():
            weight = state[name].new_zeros(widest[name].shape)
            weight[:, cols.to(weight.device)] = state[name]
            state[name] = weight
        module.load_state_dict(state)
        return module

    def _unpadded(self, stacked: dict[str, Tensor], i: int) -> dict[str, Tensor]:
        cols = self.columns[i]
        return {
            n: (t[i][:, cols[n].to(t.device)] if n in cols else t[i]).detach().clone()
            for n, t in stacked.items()
        }

    def kept(self, i: int, steps: int) -> _Kept:
        averaged = None if self.averaged is None else self._unpadded(self.averaged, i)
        own = {n: t[i].clone() for n, t in self.own.items()}
        return _Kept(
            {**self._unpadded(self.live, i), **self._unpadded(self.buffers, i)}, averaged, own, steps
        )

    def load(self, i: int, kept: _Kept) -> None:
        """Copy ``i`` as ``kept`` says, for its watched bounds and its estimate."""
        est = self.copies[i]
        est.critic.load_state_dict(kept.live)
        if est.averaged is not None and kept.averaged is not None:
            est.averaged.load_state_dict({**kept.live, **kept.averaged})
        for name, value in kept.own.items():
            getattr(est, name).copy_(value)
        est.steps_done.fill_(kept.steps)

    def step(self, idx: Tensor) -> Tensor:
        """One training step of every critic on the rows ``idx``; the critics whose loss or bound is not
        finite or beyond what their inputs allow (:meth:`Trainer.step`'s judgement), as a mask."""
        names = list(self.live)

        def one(
            live: dict[str, Tensor], own: dict[str, Tensor], x: Tensor, y: Tensor
        ) -> tuple[Tensor, Tensor]:
            swapped = {f"est.critic.{n}": live[n] for n in names} | {f"est.{n}": v for n, v in own.items()}
            return functional_call(self.loss, swapped, (x, y))  # type: ignore[no-any-return]

        # "same": a draw (the negatives) is made once for all critics, as each critic alone draws it.
        x, y = self.x.index_select(1, idx), self.y.index_select(1, idx)
        loss, bound = vmap(one, randomness="same")(self.live, self.own, x, y)
        diverged = ~torch.isfinite(loss.detach()) | ~(bound.detach().double().abs() <= self.limits)
        self.adam.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.adam.step()
        with torch.no_grad():
            live = [t.detach() for t in self.live.values()]
            if self.averaged is None and self.settings.averaged is not None:
                self.averaged = {n: t.clone() for n, t in zip(self.live, live, strict=True)}
            elif self.averaged is not None:
                torch._foreach_lerp_(list(self.averaged.values()), live, float(self.settings.average or 1.0))
        return diverged

    def run(self, steps: int, batch_size: int) -> bool:
        """``fit``'s loop for every critic (:meth:`Trainer.fit`); False where a critic diverged."""
        est, k = self.settings, len(self.copies)
        held = [h for _, _, h in self.split]
        histories = [History() if h is not None else None for h in held]
        best: list[_Kept | None] = [None] * k
        active = torch.ones(k, dtype=torch.bool, device=self.x.device)
        # Read on the host only before a decision that uses the critics (an evaluation, the end): a read
        # every step would wait on the device every step. A critic that diverges changes no other one.
        diverged = torch.zeros_like(active)
        batches = fitting.batch_orders(self.x.shape[1], batch_size, self.seed, self.x.device)
        self.template.train()
        self.template.trainer.shuffles.manual_seed(self.seed)
        replayed = _Replayed(self, batches, min(batch_size, self.x.shape[1]), steps, (active, diverged))
        done = 0
        while done < steps:
            until = steps if held[0] is None else min(steps, (done // est.eval_every + 1) * est.eval_every)
            if replayed.on:
                done += replayed.steps(until - done)
            else:
                diverged |= self.step(next(batches)) & active
                done += 1
            if held[0] is None or done < until:
                continue
            if bool(diverged.any()):
                return False
            for i in map(int, active.nonzero().flatten()):
                if self._watched(i, done, histories[i], best, held[i]):
                    active[i] = False
            if not bool(active.any()):
                break
        if bool(diverged.any()):
            return False
        for i, copy_i in enumerate(self.copies):
            kept = best[i]
            self.load(i, kept if kept is not None else self.kept(i, done))
            copy_i.trainer.history = histories[i]
            copy_i.eval()
        return True

    def _watched(
        self, i: int, done: int, history: History | None, best: list[_Kept | None], held: Any
    ) -> bool:
        """Critic ``i``'s evaluation after ``done`` steps (:meth:`Trainer.fit`'s): its history, its best
        kept; True where it stops early."""
        est = self.copies[i]
        if history is None:  # nothing held out: never watched (the loop does not call it then)
            return False
        now = self.kept(i, done)
        self.load(i, now)
        x, y, _ = self.split[i]
        bounds = est.watched_bounds(held, (x[: len(held[0])], y[: len(held[0])]))
        history.steps.append(done)
        history.validation.append(bounds[0])
        history.train.append(bounds[1])
        if best[i] is None or bounds[0] > max(history.validation[:-1]):
            best[i], history.best_step = now, done
            return False
        if len(history.steps) - history.steps.index(history.best_step) > est.patience:  # type: ignore[arg-type]
            history.stopped_early = True
            return True
        return False


class _Replayed:
    """The stacked step on a CUDA device, captured once in a CUDA graph and replayed in chunks
    (:class:`~.captured.StepGraph`), as one critic's ``fit`` replays its own: the same batches and
    negatives, each critic's divergence gathered on the device into ``diverged`` (of ``active``'s
    critics), read at the loop's evaluations as the eager steps' is.

    Attributes:
        on: whether the steps are replayed: on a CUDA device, with capture enabled, for more steps than
            the warm-up, until a warm-up that draws otherwise each step or a capture that fails.
    """

    def __init__(
        self, fit: _StackedFit, batches: Iterator[Tensor], size: int, steps: int, masks: tuple[Tensor, Tensor]
    ) -> None:
        self.fit, self.batches = fit, batches
        self.active, self.diverged = masks
        self.on = captured.ENABLED and fit.x.is_cuda and steps > captured.WARMUP
        self.size = size
        self.graphed: captured.StepGraph | None = None  # made at the first step (it needs CUDA)
        self.graph: torch.cuda.CUDAGraph | None = None

    def steps(self, count: int) -> int:
        """Up to ``count`` training steps of every critic (at least one): the warm-up's eager steps, then
        chunks replayed; how many were taken."""
        if self.graphed is None:
            self.graphed = captured.StepGraph(self.size, self.fit.x.device)
        graphed = self.graphed
        if graphed.warm < captured.WARMUP:
            graphed.warm_up(lambda: self._step(next(self.batches)))
            self.on = graphed.steady
            return 1
        if self.graph is None:
            try:
                self.graph = graphed.capture(self.fit.adam, self._step)
            except Exception as error:  # a step that cannot be captured trains eagerly
                captured.warn_eager(self.fit.settings.name, error)
                self.on = False
                self._step(next(self.batches))
                return 1
        orders = [next(self.batches) for _ in range(min(count, captured.CHUNK))]
        graphed.replay(self.graph, orders, self.fit.template.trainer.shuffles)
        return len(orders)

    def _step(self, idx: Tensor) -> None:
        self.diverged |= self.fit.step(idx) & self.active
