"""Training a critic: the loop ``fit`` runs (:func:`train`), its optimizer and that optimizer's
lifecycle, the batches it draws, the rows it holds out and the :class:`History` of the bound it watches
on them, the evaluation batches an estimate is pooled over, and what a state dict saved by an earlier
version lacks."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.neural import distributed
from iblearn.estimators.neural.averaging import frozen
from iblearn.estimators.neural.inputs import detached, refuse_constant
from iblearn.estimators.reliability import CriticDivergedError

if TYPE_CHECKING:
    from iblearn.estimators.neural.base import NeuralEstimator


def adam(params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam, fused into one kernel where torch has one for these parameters' device and dtype.

    A critic step is many small tensors: fusing the update made a MINE step about 9% faster on one CPU
    thread (1.52 against 1.68 ms for a 1-d critic, 7.6 against 8.2 ms for a 784-d one), the same numbers
    to rounding.
    """
    # torch checks fused support at the first step, not here: decide from the parameters themselves.
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, fused=fused or None)


class CriticOptimizer:
    """The critic's Adam, owned by the estimator, with the lifecycle a module's optimizer needs.

    It is created at the first step, not with the estimator: a lazy critic has no parameters before its
    first call. When the estimator moves (``.to()``, ``.double()``) it keeps only its state dict, and
    the next step creates it again over the parameters as they stand then, loading that state (which
    casts Adam's moments to the parameters' dtype and device). A state dict loaded before the first
    step waits the same way.

    Args:
        critic: the module whose parameters it trains.
    """

    def __init__(self, critic: nn.Module) -> None:
        self.critic = critic
        self._adam: torch.optim.Optimizer | None = None
        self._pending: dict[str, Any] | None = None  # state waiting for the optimizer to exist

    def step(self, loss: Tensor, lr: float) -> None:
        """One Adam step on ``loss``'s gradient w.r.t. the critic's parameters (``lr`` is read when the
        optimizer is created)."""
        if self._adam is None:
            self._adam = adam(list(self.critic.parameters()), lr)
            if self._pending is not None:
                self._adam.load_state_dict(self._pending)
                self._pending = None
        self._adam.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.critic)  # as DDP would: the same step on every rank
        self._adam.step()

    def release(self) -> None:
        """Keep the state only, for an optimizer created again over moved parameters (see above)."""
        if self._adam is not None:
            self._pending, self._adam = self._adam.state_dict(), None

    def state_dict(self) -> dict[str, Any] | None:
        """Adam's state (None before the first step, when nothing was loaded)."""
        return self._adam.state_dict() if self._adam is not None else self._pending

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Adam's state, kept until the next step creates the optimizer (as the parameters stand then)."""
        self._adam = None
        self._pending = copy.deepcopy(state)


def passes(batches: Iterable[Any]) -> Iterator[Any]:
    """One pass over ``batches`` after another: a DataLoader reshuffles and re-augments on each pass
    (``itertools.cycle`` would replay the first pass, and hold all of it in memory)."""
    while True:
        yield from batches


def sample_batches(x: Any, y: Any, batch_size: int, seed: int) -> Iterator[tuple[Any, Any]]:
    """Endless training batches: from tensors, ``batch_size`` rows drawn without replacement in a fresh
    random order on each pass (seeded); or ``x`` an iterable of ``(x, y)`` batches (a DataLoader), and
    ``y`` None, cycled (:func:`passes`)."""
    if y is None and isinstance(x, Iterable) and not isinstance(x, Tensor | np.ndarray):
        return passes(x)  # a DataLoader of (x, y) batches
    if y is None:
        raise ValueError("y: needed unless x is an iterable of (x, y) batches")
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    n = V.same_length(("x", xt), ("y", yt))
    if n < 2:  # an empty x drew batches of 0 rows (range() with step 0)
        raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
    gen = torch.Generator().manual_seed(seed)

    size = min(batch_size, n)

    def draws() -> Iterator[tuple[Tensor, Tensor]]:
        # Without replacement: a row drawn twice into a batch would be its own copy's negative, a
        # joint pair scored as a marginal one (see derangements). The last partial batch of a pass
        # is dropped; the next pass is a new permutation.
        while True:
            order = torch.randperm(n, generator=gen).to(xt.device)
            for start in range(0, n - size + 1, size):
                idx = order[start : start + size]
                yield xt[idx], yt[idx]

    return draws()


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
    if n < 2:
        raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
    n_held = round(n * share)
    if min(n_held, n - n_held) < 2:
        raise ValueError(
            f"validation: {share:g} of {n} rows leaves fewer than 2 on one side; "
            "pass validation=0 to train on every row"
        )
    # Its own stream: the batches' generator starts from ``seed`` too.
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 0x5EED)).to(xt.device)
    train, held = order[n_held:], order[:n_held]
    return xt[train], yt[train], (xt[held], yt[held])


@dataclass
class History:
    """What ``fit`` saw of the bound, evaluated every ``eval_every`` steps with the critic that reports
    (the weight average where there is one), for plotting: ``plt.plot(h.steps, h.validation)``.

    Attributes:
        steps: the training steps done at each evaluation.
        train: the bound on as many training rows as are held out (the same rows each time), in nats.
        validation: the bound on the held-out rows, in nats.
        best_step: the step whose critic ``fit`` kept (the best validation bound).
        stopped_early: whether ``fit`` stopped before its ``steps`` for want of improvement.
    """

    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    best_step: int | None = None
    stopped_early: bool = False

    @property
    def best(self) -> tuple[float, float] | None:
        """The (train, validation) bounds at ``best_step``, or None before any evaluation."""
        if self.best_step is None:
            return None
        i = self.steps.index(self.best_step)
        return self.train[i], self.validation[i]


def step(est: NeuralEstimator, x: Any, y: Any) -> float:
    """:meth:`NeuralEstimator.train_step`: one optimizer step of the critic on a batch, judged for
    divergence first (the loss, and the batch's bound against what is plausible for it), then the
    weight average updated; under ``torch.distributed`` the same step on every rank."""
    xt, yt = est._inputs(x, y)
    loss = -est._weighed(est.objective(detached(xt), detached(yt)), xt)
    number = int(est.steps_done) + 1
    bound = est._training_bound(loss)
    if distributed.active():  # every rank judges, and reports, the same numbers
        bound = distributed.mean_over_ranks(bound)
        reported = distributed.mean_over_ranks(loss)
        loss = loss + (reported - loss.detach())  # the same gradient
    if not (bool(torch.isfinite(loss)) and abs(float(bound)) <= est._plausible(xt, yt)):
        beyond = f" (the batch's bound {float(bound):.6g} nats, beyond {est._plausible(xt, yt):.6g})"
        raise CriticDivergedError(
            f"{est.name}: the critic's loss became {float(loss.detach()):.6g}"
            f"{beyond if bool(torch.isfinite(loss)) else ''} at training step {number}; "
            "lower the learning rate, or standardize the inputs"
        )
    est._optimizer.step(loss, est.lr)
    est.steps_done += 1
    if est._average is not None:
        est._average.update(int(est.steps_done))
    return float(loss.detach())


@contextmanager
def watching(est: NeuralEstimator) -> Iterator[None]:
    """``fit`` reading a bound as an estimate would: :meth:`NeuralEstimator.reporting`, in eval mode (no
    dropout), without gradients; in training mode again after."""
    with est.reporting():
        est.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            est.train()


def train(
    est: NeuralEstimator,
    x: Any,
    y: Any,
    steps: int,
    batch_size: int,
    seed: int,
    progress: Callable[[int, float], None] | None,
    share: float,
    patience: int,
) -> History | None:
    """:meth:`NeuralEstimator.fit`'s loop, its arguments checked: ``steps`` training steps on batches
    of ``batch_size``, the bound on the held-out ``share`` of the rows watched every ``eval_every``
    steps and after the last, a stop after ``patience`` evaluations without improvement, and the
    estimator left as it stood at its best evaluation. Returns what it watched (None with nothing held
    out)."""
    given = (x, y)
    x, y, held = hold_out(x, y, share, seed)
    batches = est._batches(x, y, batch_size, seed)
    refuse_constant(*given)
    est._shuffles.manual_seed(seed)
    history = History() if held is not None else None
    best: dict[str, Any] | None = None
    est.train()
    for i in range(steps):
        xb, yb = next(batches)
        value = est.train_step(xb, yb)
        if progress:
            progress(int(est.steps_done), value)
        if held is None or history is None or not ((i + 1) % est.eval_every == 0 or i + 1 == steps):
            continue
        # The training rows watched: as many as are held out, the same each time.
        bounds = est._watched(held, (x[: len(held[0])], y[: len(held[0])]))
        history.steps.append(int(est.steps_done))
        history.validation.append(bounds[0])
        history.train.append(bounds[1])
        if best is None or bounds[0] > max(history.validation[:-1]):
            best, history.best_step = copy.deepcopy(est.state_dict()), int(est.steps_done)
        elif len(history.steps) - history.steps.index(history.best_step) > patience:  # type: ignore[arg-type]
            history.stopped_early = True
            break
    if best is not None:
        est.load_state_dict(best)
    return history


def older_checkpoint(est: NeuralEstimator, state: dict[str, Any], prefix: str, *_: Any) -> None:
    """Completes, before loading, a checkpoint written before the estimator saved all it saves now.

    Without the weight average the average starts from the checkpoint's critic, so ``est`` reports what
    it reported when saved; without ``_extra_state`` (the Adam state and the negatives' generator)
    training goes on with fresh Adam moments, as a reloaded critic did then.
    """
    if est.averaged is not None and not any(k.startswith(prefix + "averaged.") for k in state):
        critic = prefix + "critic."
        for key in [k for k in state if k.startswith(critic)]:
            state[prefix + "averaged." + key.removeprefix(critic)] = state[key]
    state.setdefault(prefix + "_extra_state", {"optimizer": None, "shuffles": est._shuffles.get_state()})


def refreeze(est: NeuralEstimator, _: Any) -> None:
    """After loading: a lazy critic's average is materialized then, with parameters requiring grad."""
    if est.averaged is not None:
        frozen(est.averaged)


def extra_state(est: NeuralEstimator) -> dict[str, Any]:
    """The critic's Adam state and the negatives' generator, saved with ``state_dict``: without them a
    reloaded estimator restarts Adam's moments and draws other negatives, and trains differently from
    one never saved."""
    return {"optimizer": est._optimizer.state_dict(), "shuffles": est._shuffles.get_state()}


def load_extra_state(est: NeuralEstimator, state: dict[str, Any]) -> None:
    est._shuffles.set_state(state["shuffles"].cpu())
    if est._average is not None:
        est._average.forget()
    est._optimizer.load_state_dict(state["optimizer"])
