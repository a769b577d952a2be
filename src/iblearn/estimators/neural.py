"""Trainable (neural) MI estimators: a critic fitted by gradient ascent on a variational bound.

Three things are kept apart (the lesson of torch-mist): ``loss(x, y)``, the critic's training loss on a
batch (for MINE its gradient is the bias-corrected one, and its value is not an estimate);
``batch_mi(x, y)``, the bound on a batch, differentiable, for use as a training signal for a network; and
``est(x, y)``, the reported estimate on data, pooled over all of it, with the critic's weights averaged
over training (MINE, NWJ, JS, InfoNCE and AA-MINE; ``average``). ``fit`` trains the critic from
tensors or from a DataLoader. A critic whose loss or estimate becomes NaN or Inf raises
:class:`CriticDivergedError` with the step, never returns NaN.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn.estimators.base import Bound, Estimator, MIEstimate
from iblearn.estimators.critics import (
    DEFAULT_HIDDEN,
    Hidden,
    critic_method,
    hidden_widths,
    make_critic,
    seeded,
)
from iblearn.functional import _validate as V
from iblearn.functional.bounds import (
    dv_bound,
    infonce_bound,
    infonce_bound_chunked,
    js_bound,
    log_mean_exp,
    nwj_bound,
)


class CriticDivergedError(RuntimeError):
    """The critic's loss or estimate became NaN or Inf, or too large to be anything but divergence."""


#: A loss or estimate beyond this many times the nats that one sample can hold (the smaller of x's and
#: y's: each float is one of 2^bits values; labels, log of the classes; at least 1 nat) is divergence.
#: No bound on a sample can exceed that information; a critic can push a lower bound far below 0, but
#: not 100 times beyond it without having diverged (MINE at lr=1e6 printed -1.8e24 nats, InfoNCE at
#: lr=1e8 -7.7e33).
IMPLAUSIBLE = 100


class NeuralEstimator(Estimator):
    """Shared machinery: input checks, negatives, the training step, ``fit`` and pooled estimates.

    Subclasses define :meth:`objective` (maximized to train the critic) and :meth:`_pooled` (the reported
    bound from all joint and marginal scores).
    """

    accepts = frozenset({"vector", "grid", "graph"})  # graphs: node representations

    trainable = True
    differentiable = True
    bound: ClassVar[Bound] = "lower"
    # A bootstrap resample repeats rows, and a repeated row re-paired with its own copy is a joint pair
    # among the negatives: the spread over resamples would measure that, not the estimate's noise.
    resampling = "half"
    critic: nn.Module
    steps_done: Tensor
    #: Whether the marginal term sums over the classes of integer labels y (:meth:`_class_scores`):
    #: only for bounds that see the marginal scores through exp(T) alone, where weights are log offsets.
    class_sums: ClassVar[bool] = False
    #: Input widths (flattened) the critic was built for, checked on every call; None: not declared.
    x_dim: int | None = None
    y_dim: int | None = None

    def __init__(
        self,
        critic: nn.Module,
        *,
        y_classes: int | None = None,
        lr: float = 5e-4,
        n_negatives: int = 8,
        eval_batch_size: int = 1024,
        average: float | None = None,
        base: float = math.e,
    ) -> None:
        super().__init__(base=base)
        if not isinstance(critic, nn.Module):
            raise ValueError(f"critic: expected an nn.Module, got {type(critic).__name__}")
        self.critic = critic
        if average is not None and not (
            isinstance(average, int | float) and not isinstance(average, bool) and 0 < average <= 1
        ):
            raise ValueError(f"average: the averaging rate must be None or lie in (0, 1], got {average!r}")
        self.average = average
        # The reported estimate's critic: an exponential moving average of the weights train_step gives.
        self.averaged = None if average is None else _frozen(copy.deepcopy(critic))
        self._averaging: tuple[list[Tensor], list[Tensor], list[tuple[Tensor, Tensor]]] | None = None
        self.y_classes = None if y_classes is None else V.positive_int(y_classes, "y_classes")
        self.lr = V.positive(lr, "lr")
        self.n_negatives = V.positive_int(n_negatives, "n_negatives")
        self.eval_batch_size = V.positive_int(eval_batch_size, "eval_batch_size")
        if self.eval_batch_size < 2:
            raise ValueError("eval_batch_size: an evaluation batch needs 2 samples to re-pair, got 1")
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self._optimizer: torch.optim.Optimizer | None = None
        self._pending_optimizer: dict[str, Any] | None = None  # loaded before the optimizer exists
        self._shuffles = torch.Generator().manual_seed(0)  # negatives while training; reseeded by fit
        self.register_load_state_dict_pre_hook(_older_checkpoint)  # type: ignore[no-untyped-call]
        self.register_load_state_dict_post_hook(_refreeze)  # type: ignore[no-untyped-call]

    # ---------------------------------------------------------------------------------- inputs
    def _device(self) -> torch.device:
        for p in self.critic.parameters():
            return p.device
        return self.steps_done.device

    def _inputs(self, x: Any, y: Any) -> tuple[Tensor, Tensor]:
        dtype = _param_dtype(self.critic)
        xt = V.continuous(_cast(x, "x", dtype), "x", allow_grid=True)
        yt = _cast(y, "y", dtype)
        if not yt.is_floating_point():
            if self.y_classes is None:
                raise ValueError(
                    "y: integer labels need y_classes (the number of classes) to be one-hot encoded"
                )
            lab = V.labels(yt, "y")
            if int(lab.min()) < 0 or int(lab.max()) >= self.y_classes:
                raise ValueError(
                    f"y: labels must lie in [0, {self.y_classes}), got {int(lab.min())}..{int(lab.max())}"
                )
            yt = F.one_hot(lab, self.y_classes).to(xt.dtype)
        elif self.y_classes is not None:
            raise ValueError(
                f"y: with y_classes set, y must hold integer class labels, got {yt.dtype} values"
            )
        else:
            yt = V.continuous(yt, "y", allow_grid=True)
        n = V.same_length(("x", xt), ("y", yt))
        if n < 2:
            raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
        for name, t, dim in (("x", xt, self.x_dim), ("y", yt, self.y_dim)):
            if dim is not None and t[0].numel() != dim:
                raise ValueError(
                    f"{name}: the critic takes {dim} features per sample ({name}_dim), "
                    f"got shape {tuple(t.shape)}"
                )
        device = self._device()
        for name, t in (("x", xt), ("y", yt)):
            if t.device != device:
                raise ValueError(f"{name}: is on {t.device} but the critic is on {device}; move one of them")
        return xt, yt

    # ------------------------------------------------------------------------------- scores
    def _scores(
        self, x: Tensor, y: Tensor, n_shuffles: int, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """Joint scores (N,) and marginal scores (flat): every off-diagonal pair for a separable critic,
        else ``n_shuffles`` random re-pairings of y that never pair a sample with itself (see
        :func:`derangements`)."""
        if getattr(self.critic, "separable", False):
            pairwise = cast(Callable[[Tensor, Tensor], Tensor], self.critic.pairwise)
            matrix = pairwise(x, y)
            off = ~torch.eye(len(x), dtype=torch.bool, device=x.device)
            return self.critic(x, y), matrix[off]
        if self.class_sums and self.y_classes is not None:
            return self._class_scores(x, y)
        perms = [perm.to(x.device) for perm in derangements(len(x), n_shuffles, gen)]
        repaired = critic_method(self.critic, "repaired")  # a critic that re-pairs cheaply
        if repaired is not None:
            return cast(tuple[Tensor, Tensor], repaired(x, y, perms))
        return self.critic(x, y), torch.cat([self.critic(x, y[perm]) for perm in perms])

    def _class_scores(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Joint scores (N,), and log-weighted marginal scores (N * k,) for one-hot labels y (N, k).

        With k classes, the product of the batch's marginals is summed rather than sampled: for sample
        i, the mean of exp T(x_i, y_j) over all j != i is sum_c w_ic exp T(x_i, e_c), with w_ic the
        share of class c among the other samples. Stored as scores + log(k w_ic), the plain log-mean-exp
        over the N k entries is that exact mean (a class absent from the others gets -inf: weight 0).
        The same bound as every off-diagonal pairing, as the separable path computes it, for k critic
        calls a sample, and none of a sampled negative's variance (Rao-Blackwellization): a label drawn
        at random is the sample's own class one time in k. The joint scores are the own-class column.
        """
        k = y.shape[1]
        pairs = all_pair_scores(self.critic, x, torch.eye(k, dtype=y.dtype, device=y.device))  # (N, k)
        # The weights in float32 at least: in bfloat16 they alone moved the bound by 0.01 nats (N = 1,000).
        wide = torch.promote_types(pairs.dtype, torch.float32)
        counts = y.to(wide)
        others = (counts.sum(0, keepdim=True) - counts) / (len(y) - 1)  # rows sum to 1
        return (pairs * y).sum(1), (pairs.to(wide) + torch.log(others * k)).flatten()

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        """The quantity the critic maximizes on a batch (inputs already checked)."""
        raise NotImplementedError

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        """The reported bound from joint and marginal scores pooled over the data."""
        raise NotImplementedError

    # ---------------------------------------------------------------------------- training
    def loss(self, x: Any, y: Any) -> Tensor:
        """The critic's training loss on a batch (minimize it over the critic's parameters). It moves
        what a training step moves (the negatives' generator, MINE's running denominator): to watch a
        critic without changing its training, call ``est``."""
        xt, yt = self._inputs(x, y)
        loss = self._finite(-self.objective(xt, yt), "loss")
        self._finite(self._training_bound(loss), "batch's bound", (xt, yt))
        return loss

    def _training_bound(self, loss: Tensor) -> Tensor:
        """The bound on the batch that a training loss stands for: minus the loss, where the critic is
        trained on the bound itself (MINE's loss is a gradient surrogate, and says otherwise)."""
        return -loss.detach()

    def train_step(self, x: Any, y: Any) -> float:
        """One optimizer step of the critic on a batch (inputs are detached); returns the loss."""
        xt, yt = self._inputs(x, y)
        loss = -self.objective(_detached(xt), _detached(yt))
        step = int(self.steps_done) + 1
        bound = self._training_bound(loss)
        if not (bool(torch.isfinite(loss)) and abs(float(bound)) <= self._plausible(xt, yt)):
            beyond = f" (the batch's bound {float(bound):.6g} nats, beyond {self._plausible(xt, yt):.6g})"
            raise CriticDivergedError(
                f"{self.name}: the critic's loss became {float(loss.detach()):.6g}"
                f"{beyond if bool(torch.isfinite(loss)) else ''} at training step {step}; "
                "lower the learning rate, or standardize the inputs"
            )
        if self._optimizer is None:
            # Created here, not in __init__: a lazy critic has no parameters before its first call.
            self._optimizer = _adam(list(self.critic.parameters()), self.lr)
            if self._pending_optimizer is not None:
                self._optimizer.load_state_dict(self._pending_optimizer)
                self._pending_optimizer = None
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._optimizer.step()
        self.steps_done += 1
        self._update_average()
        return float(loss.detach())

    @torch.no_grad()
    def _update_average(self) -> None:
        """Polyak-Ruppert averaging (Polyak & Juditsky 1992), exponentially weighted: after each step,
        ``averaged <- averaged + average * (critic - averaged)``, starting from the first step's weights.

        The last iterate of a stochastic-gradient critic jitters around its optimum, and every jitter
        lowers a variational bound; the average sits closer to the optimum. On the neural benchmark's
        tasks (2,000 steps, the critic of the benchmark, 6 seeds) a rate of 0.01 lowered InfoNCE's RMSE
        from 0.0073 to 0.0051 nats on the bivariate normal and from 0.0258 to 0.0215 on the 2-pair 5x5
        Gaussian, MINE's from 0.286 to 0.248 at 4 nats in 100 dimensions (4 seeds); 0.001 averages over
        too much of the trajectory and was worse than the last iterate.
        """
        if self.averaged is None or self.average is None:
            return
        if int(self.steps_done) == 1:  # also materializes a lazy critic's copy
            self.averaged.load_state_dict(self.critic.state_dict())
            _frozen(self.averaged)
            return
        if self._averaging is None:  # the tensors as they stand now, as the optimizer holds them
            self._averaging = (
                list(self.averaged.parameters()),
                list(self.critic.parameters()),
                list(zip(self.averaged.buffers(), self.critic.buffers(), strict=True)),
            )
        averaged, live, buffers = self._averaging
        torch._foreach_lerp_(averaged, live, self.average)
        for avg, current in buffers:
            avg.copy_(current)  # buffers (BatchNorm statistics) are copied, not averaged

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        self._averaging = None  # .to() and its kin put new tensors in place of the buffers
        if self._optimizer is not None:
            # Adam's moments would keep the old dtype and device; loading its state into the optimizer
            # the next step creates casts them to the parameters'.
            self._pending_optimizer, self._optimizer = self._optimizer.state_dict(), None
        return super()._apply(fn, recurse)  # type: ignore[no-untyped-call]

    @contextmanager
    def _reporting(self) -> Iterator[None]:
        """The averaged critic in place of the live one, once ``train_step`` has updated it."""
        if self.averaged is None or int(self.steps_done) == 0:
            yield
            return
        live = self.critic
        self._modules["critic"] = self.averaged
        try:
            yield
        finally:
            self._modules["critic"] = live

    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        steps: int = 2000,
        batch_size: int = 256,
        seed: int = 0,
        progress: Callable[[int, float], None] | None = None,
    ) -> NeuralEstimator:
        """Train the critic for ``steps`` batches and return ``self``.

        Args:
            x, y: tensors of samples (batches drawn without replacement, in a fresh random order on
                each pass over the data), or ``x`` an iterable of ``(x, y)`` batches such as a
                DataLoader (cycled as long as needed) and ``y`` None.
            steps: optimizer steps.
            batch_size: samples per step (tensors only).
            seed: seeds the batch draws and the negatives. Every call starts again from ``seed``: two
                calls with the same seed train on the same batches and negatives; pass a different seed
                to continue with fresh ones.
            progress: called as ``progress(step, loss)`` after every step.
        """
        steps = V.positive_int(steps, "steps")
        batches = self._batches(x, y, V.positive_int(batch_size, "batch_size"), V.seed(seed))
        self._shuffles.manual_seed(seed)
        self.train()
        for _ in range(steps):
            xb, yb = next(batches)
            value = self.train_step(xb, yb)
            if progress:
                progress(int(self.steps_done), value)
        self.eval()
        return self

    def _batches(self, x: Any, y: Any, batch_size: int, seed: int) -> Iterator[tuple[Any, Any]]:
        if y is None and isinstance(x, Iterable) and not isinstance(x, Tensor | np.ndarray):
            return _passes(x)  # a DataLoader of (x, y) batches
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

    # ---------------------------------------------------------------------------- estimates
    def batch_mi(self, x: Any, y: Any) -> Tensor:
        """The reported bound on one batch, differentiable w.r.t. the inputs (a training signal)."""
        xt, yt = self._inputs(x, y)
        bound = self._pooled(*self._scores(xt, yt, self.n_negatives, self._shuffles))
        return self._finite(bound, "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        """The bound on all the data, scores pooled across the evaluation batches (:meth:`_eval_parts`).

        Shuffles use a fixed generator, so the estimate is reproducible.
        """
        xt, yt = self._inputs(x, y)
        gen = torch.Generator().manual_seed(0)
        scores = [self._scores(xt[idx], yt[idx], self.n_negatives, gen) for idx in self._eval_parts(xt)]
        joint, marginal = (torch.cat(part) for part in zip(*scores, strict=True))
        return self._finite(self._pooled(joint, marginal), "estimate", (xt, yt))

    def _eval_parts(self, x: Tensor) -> tuple[Tensor, ...]:
        """Row indices of the evaluation batches: the rows in a fixed random order, since negatives are
        drawn within a batch (rows grouped by class or in time would make the marginal a conditional:
        MINE gave -0.18 nats for 0.41 on rows sorted by y), cut into the fewest batches of at most
        ``eval_batch_size``, even in size; a lone last row (batches of 2, N odd) joins the one before."""
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).to(x.device)
        parts = list(order.tensor_split(-(-len(x) // self.eval_batch_size)))
        if len(parts[-1]) == 1:
            parts[-2:] = [torch.cat(parts[-2:])]
        return tuple(parts)

    def _batch_mean(self, x: Tensor, y: Tensor, bound: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        """``bound`` on each evaluation batch, weighted by its rows: for bounds that do not pool scores
        (InfoNCE's log-softmax is per batch)."""
        terms = [bound(x[idx], y[idx]) * len(idx) for idx in self._eval_parts(x)]
        return self._finite(torch.stack(terms).sum() / len(x), "estimate", (x, y))

    def _batch_limit(self, result: MIEstimate) -> MIEstimate:
        """``result`` with its ceiling: InfoNCE on a batch of B never exceeds log B."""
        largest = max(len(idx) for idx in self._eval_parts(torch.empty(result.n_samples)))
        return replace(result, limit=math.log(largest) / math.log(self.base))

    def _finite(self, value: Tensor, what: str, inputs: tuple[Any, Any] | None = None) -> Tensor:
        """``value``, unless it is NaN or Inf, or (given the ``inputs`` it came from) beyond what is
        plausible for them (:meth:`_plausible`): then the critic has diverged, and a number would hide it."""
        limit = math.inf if inputs is None else self._plausible(*inputs)
        finite = bool(torch.isfinite(value).all())
        if not (finite and float(value.detach().abs().max()) <= limit):
            beyond = f" (beyond {limit:.6g} nats)" if finite else ""
            raise CriticDivergedError(
                f"{self.name}: the {what} is {float(value.detach()):.6g}{beyond} after "
                f"{int(self.steps_done)} training steps; the critic has diverged"
            )
        return value

    def _plausible(self, x: Any, y: Any) -> float:
        """:data:`IMPLAUSIBLE` times the nats one sample of x or y can hold, the smaller: its floats'
        bits (log 2 each), or log of the classes for labels; at least 1 nat."""
        caps = [math.log(self.y_classes)] if self.y_classes else []
        for t in (x,) if self.y_classes else (x, y):
            if isinstance(t, Tensor) and t.is_floating_point() and t.ndim:
                caps.append(t[0].numel() * torch.finfo(t.dtype).bits * math.log(2))
        return IMPLAUSIBLE * max(min(caps, default=math.inf), 1.0)

    def forward(self, x: Any, y: Any, **request: Any) -> MIEstimate:
        """The reported estimate (see :meth:`Estimator.forward`). Autograd follows it only where x or y
        require gradients: an estimate pooled over a test set otherwise holds no graph through the critic
        (for a conv critic over thousands of images, gigabytes), and ``loss`` is what trains the critic."""
        with self._reporting(), torch.set_grad_enabled(torch.is_grad_enabled() and self._needs_graph(x, y)):
            return super().forward(x, y, **request)

    def _needs_graph(self, x: Any, y: Any) -> bool:
        return _wants_grad(x, y)

    def get_extra_state(self) -> dict[str, Any]:
        """The critic's Adam state and the negatives' generator, saved with ``state_dict``: without them
        a reloaded estimator restarts Adam's moments and draws other negatives, and trains differently
        from one never saved."""
        optimizer = self._optimizer.state_dict() if self._optimizer is not None else self._pending_optimizer
        return {"optimizer": optimizer, "shuffles": self._shuffles.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self._shuffles.set_state(state["shuffles"].cpu())
        self._averaging = None
        # Kept until the first train_step creates the optimizer (as the critic's parameters stand then).
        self._optimizer = None
        self._pending_optimizer = copy.deepcopy(state["optimizer"])

    def settings(self) -> dict[str, Any]:
        return {
            "y_classes": self.y_classes,
            "lr": self.lr,
            "n_negatives": self.n_negatives,
            "eval_batch_size": self.eval_batch_size,
            **super().settings(),
        }


def all_pair_scores(critic: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Scores ``(N, M)`` of every pair (x_i, y_j): one matrix product for a separable critic, the
    critic's own ``all_pairs`` where it has one (:class:`~iblearn.estimators.critics.ConcatCritic`),
    else the critic called on all N M pairings."""
    if getattr(critic, "separable", False):
        return cast(Callable[[Tensor, Tensor], Tensor], critic.pairwise)(x, y)
    each = critic_method(critic, "all_pairs")
    if each is not None:
        return cast(Tensor, each(x, y))
    n, m = len(x), len(y)
    return critic(x.repeat_interleave(m, dim=0), y.repeat(n, *([1] * (y.ndim - 1)))).reshape(n, m)


def derangements(n: int, count: int, gen: torch.Generator | None) -> list[Tensor]:
    """Up to ``count`` random permutations of ``range(n)`` without fixed points, no two alike anywhere.

    A negative pair (x_i, y_perm[i]) with perm[i] = i is a joint sample: its score is that of a positive,
    about MI larger than a negative's, and one such pair among B negatives adds about
    E_P[p/q] / B >= e^MI / B to the mean of exp(T) in the DV, NWJ and JS terms. A plain ``randperm`` has one
    fixed point per batch on average: at 8 nats and B = 1,024 that lowers the DV estimate by over a nat.
    Here the samples are put in a random order and paired with the one ``s`` places further on,
    cyclically, for distinct shifts ``s`` in [1, n - 1]: no fixed point, and no pair used twice
    (at most n - 1 permutations exist with this property).
    """
    if n < 2:
        raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
    order = torch.randperm(n, generator=gen)
    shifts = 1 + torch.randperm(n - 1, generator=gen)[:count]
    perms = []
    for s in shifts.tolist():
        perm = torch.empty_like(order)
        perm[order] = order.roll(-s)
        perms.append(perm)
    return perms


def _older_checkpoint(est: NeuralEstimator, state: dict[str, Any], prefix: str, *_: Any) -> None:
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


def _refreeze(est: NeuralEstimator, _: Any) -> None:
    """After loading: a lazy critic's average is materialized then, with parameters requiring grad."""
    if est.averaged is not None:
        _frozen(est.averaged)


def _passes(batches: Iterable[Any]) -> Iterator[Any]:
    """One pass over ``batches`` after another: a DataLoader reshuffles and re-augments on each pass
    (``itertools.cycle`` would replay the first pass, and hold all of it in memory)."""
    while True:
        yield from batches


def _frozen(module: nn.Module) -> nn.Module:
    """``module`` with its parameters out of autograd (a lazy one's once it is materialized)."""
    for p in module.parameters():
        if not isinstance(p, nn.parameter.UninitializedParameter):
            p.requires_grad_(False)
    return module


def _adam(params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam, fused into one kernel where torch has one for these parameters' device and dtype.

    A critic step is many small tensors: fusing the update made a MINE step about 9% faster on one CPU
    thread (1.52 against 1.68 ms for a 1-d critic, 7.6 against 8.2 ms for a 784-d one), the same numbers
    to rounding.
    """
    # torch checks fused support at the first step, not here: decide from the parameters themselves.
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, fused=fused or None)


def _wants_grad(*values: Any) -> bool:
    """Whether any tensor among ``values`` (or in a tuple of them, or a graph's ``.x``) requires grad."""
    for v in values:
        if isinstance(v, tuple | list) and _wants_grad(*v):
            return True
        t = v.x if isinstance(getattr(v, "x", None), Tensor) else v
        if isinstance(t, Tensor) and t.requires_grad:
            return True
    return False


def _detached(value: Any) -> Any:
    """Tensors (or tuples of them, as graphs are) cut from autograd: a critic step trains the critic only."""
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, tuple):
        return tuple(_detached(v) for v in value)
    return value


def _param_dtype(module: Any) -> torch.dtype:
    """The dtype of ``module``'s first floating-point parameter (the default dtype if it has none)."""
    if isinstance(module, nn.Module):
        for p in module.parameters():
            if p.is_floating_point():
                return p.dtype
    return torch.get_default_dtype()


def _cast(value: Any, name: str, dtype: torch.dtype) -> Tensor:
    """``value`` as a tensor, cast to ``dtype`` if floating-point: users pass numpy's float64 (or
    float16 activations) to a float32 critic. Cast before the checks, so that a value too large for
    ``dtype`` is reported as an Inf in the argument."""
    t = V.as_tensor(value, name)
    return t.to(dtype) if t.is_floating_point() else t


def _critic(
    critic: nn.Module | str, x_dim: int | None, y_dim: int | None, hidden: Hidden, seed: int
) -> nn.Module:
    V.seed(seed)
    if isinstance(critic, nn.Module):
        return critic
    return seeded(lambda: make_critic(critic, x_dim, y_dim, hidden), seed)


def _critic_settings(est: MINE | NWJ) -> dict[str, Any]:
    """The settings that built the critic and its average; no ``critic`` for a user's nn.Module, which
    settings cannot rebuild (pass it again)."""
    kind = {} if est.critic_kind is None else {"critic": est.critic_kind}
    return {
        "x_dim": est.x_dim,
        "y_dim": est.y_dim,
        **kind,
        "hidden": est.hidden,
        "average": est.average,
        "seed": est.seed,
    }


class MINE(NeuralEstimator):
    """Mutual Information Neural Estimation (Belghazi et al. 2018): the Donsker-Varadhan bound.

    Training follows Algorithm 1 of MINE with the bias-corrected gradient: the denominator
    E_Q[exp T] of the DV gradient is replaced by its exponential moving average (``rate``, default
    0.01: MINE Sec. 3.2). ``objective="f"`` trains on the f-divergence (NWJ) bound instead: MINE-f,
    unbiased gradients without a moving average. The reported estimate is the plain DV bound, on
    whatever data ``est(x, y)`` is given (pass held-out data for an honest number).

    Args:
        x_dim, y_dim: input sizes (flattened); None infers them at the first call. For integer labels
            y, pass ``y_classes`` instead: they are one-hot encoded, and the marginal term sums over the
            classes instead of re-pairing (exact and lower-variance: :meth:`_class_scores`).
        critic: ``"concat"`` (default, T(x, y) = MLP([x, y])), ``"separable"``, or an ``nn.Module``.
        hidden: hidden widths of the default critics.
        rate: moving-average rate of the bias correction.
        lr: Adam learning rate of the critic.
        n_negatives: re-pairings per sample for the marginal term of ``est`` and ``batch_mi`` (concat
            critics; none with ``y_classes``); a training step uses one, as MINE's Algorithm 1 does.
        average: rate of the exponential moving average of the critic's weights over the ``train_step``
            calls (so ``fit``) that ``est(x, y)`` reports with (see :meth:`_update_average`; it keeps one
            more copy of the critic's weights). None reports with the last weights, as a critic trained
            through ``loss`` with your own optimizer must (the average follows ``train_step`` only).
            ``loss``, ``train_step`` and ``batch_mi`` always use the live critic.
        seed: initializes the critic (lazy layers too, when x_dim or y_dim is None).

    Example:
        >>> from iblearn.data.synthetic import bivariate_normal
        >>> x, y = bivariate_normal().sample(4000, seed=0)
        >>> est = MINE(1, 1, hidden=(64,), lr=2e-3).fit(x.float(), y.float(), steps=400)
        >>> 0.2 < float(est(x.float(), y.float())) < 0.5  # truth 0.4133
        True
    """

    name = "mine"
    class_sums = True
    log_ema: Tensor

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "concat",
        hidden: Hidden = DEFAULT_HIDDEN,
        objective: str = "dv",
        rate: float = 0.01,
        y_classes: int | None = None,
        lr: float = 5e-4,
        n_negatives: int = 8,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        if y_classes is not None:  # checked before it sizes the critic
            V.positive_int(y_classes, "y_classes")
        y_dim = y_classes if y_dim is None and y_classes else y_dim
        super().__init__(
            _critic(critic, x_dim, y_dim, hidden, seed),
            y_classes=y_classes,
            lr=lr,
            n_negatives=n_negatives,
            eval_batch_size=eval_batch_size,
            average=average,
            base=base,
        )
        self.x_dim, self.y_dim, self.hidden, self.seed = x_dim, y_dim, hidden_widths(hidden), seed
        self.critic_kind = critic if isinstance(critic, str) else None
        self.objective_kind = V.choice(objective, "objective", ("dv", "f"))
        if not 0 < rate <= 1:
            raise ValueError(f"rate: the moving-average rate must lie in (0, 1], got {rate!r}")
        self.rate = rate
        self.register_buffer("log_ema", torch.tensor(float("nan"), dtype=torch.float64))
        self._batch_dv = torch.zeros(())  # the DV bound of the last training batch (objective)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        joint, marginal = self._scores(x, y, 1, self._shuffles)
        if self.objective_kind == "f":
            return nwj_bound(joint, marginal)
        lme = log_mean_exp(marginal)
        with torch.no_grad():
            batch = lme.detach().double()
            if torch.isnan(self.log_ema):
                self.log_ema.copy_(batch)
            else:
                self.log_ema.copy_(
                    torch.logaddexp(math.log1p(-self.rate) + self.log_ema, math.log(self.rate) + batch)
                )
        self._batch_dv = (joint.mean() - lme).detach()
        # d/dtheta exp(lme - log_ema) = E_Q[grad T e^T] / EMA: the bias-corrected gradient of log E_Q e^T.
        return joint.mean() - torch.exp(lme - self.log_ema.to(lme.dtype))

    def _training_bound(self, loss: Tensor) -> Tensor:
        # The surrogate's exp(lme - EMA) is large whenever the EMA lags, in healthy training too.
        return self._batch_dv if self.objective_kind == "dv" else super()._training_bound(loss)

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        ema = self.log_ema
        result = super()._apply(fn, recurse)
        # Only the device follows: at rate 0.01 a bfloat16 running mean stops moving (steps round away).
        self.log_ema = ema.to(self.log_ema.device)
        return result

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return dv_bound(joint, marginal)

    def settings(self) -> dict[str, Any]:
        return {
            **_critic_settings(self),
            "objective": self.objective_kind,
            "rate": self.rate,
            **super().settings(),
        }


class MINEf(MINE):
    """MINE-f (Belghazi et al. 2018): MINE trained on the f-divergence bound; reports the DV bound."""

    name = "mine_f"

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "concat",
        hidden: Hidden = DEFAULT_HIDDEN,
        rate: float = 0.01,
        y_classes: int | None = None,
        lr: float = 5e-4,
        n_negatives: int = 8,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        super().__init__(
            x_dim,
            y_dim,
            critic=critic,
            hidden=hidden,
            objective="f",
            rate=rate,
            y_classes=y_classes,
            lr=lr,
            n_negatives=n_negatives,
            eval_batch_size=eval_batch_size,
            average=average,
            seed=seed,
            base=base,
        )

    def settings(self) -> dict[str, Any]:
        return {k: v for k, v in super().settings().items() if k != "objective"}


class NWJ(NeuralEstimator):
    """The NWJ bound ``E_P[T] - E_Q[exp(T - 1)]`` (Nguyen et al. 2010), trained and reported.

    Unbiased in the batch size but high-variance when the MI is large (Poole et al. 2019). Settings as
    for :class:`MINE`, less ``objective`` and ``rate``.
    """

    name = "nwj"
    class_sums = True

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "concat",
        hidden: Hidden = DEFAULT_HIDDEN,
        y_classes: int | None = None,
        lr: float = 5e-4,
        n_negatives: int = 8,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        if y_classes is not None:  # checked before it sizes the critic
            V.positive_int(y_classes, "y_classes")
        y_dim = y_classes if y_dim is None and y_classes else y_dim
        super().__init__(
            _critic(critic, x_dim, y_dim, hidden, seed),
            y_classes=y_classes,
            lr=lr,
            n_negatives=n_negatives,
            eval_batch_size=eval_batch_size,
            average=average,
            base=base,
        )
        self.x_dim, self.y_dim, self.hidden, self.seed = x_dim, y_dim, hidden_widths(hidden), seed
        self.critic_kind = critic if isinstance(critic, str) else None

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return nwj_bound(*self._scores(x, y, 1, self._shuffles))

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return nwj_bound(joint, marginal)

    def settings(self) -> dict[str, Any]:
        return {**_critic_settings(self), **super().settings()}


class JS(NWJ):
    """Critic trained on the Jensen-Shannon objective (as in DIM), whose optimum is the log density
    ratio; MI reported as the DV bound of that critic.

    Poole et al. (2019, Sec. 2.4) plug the JS critic into NWJ as ``T + 1``; DV of the same critic is
    never lower (log z <= z - 1) and depends on the negatives only through a logarithm, so a few
    overconfident negative scores early in training cannot drive it to large negative values as they
    drive NWJ (measured: -24.9 nats for NWJ against a positive DV on the same DIM critic).
    """

    name = "js"
    class_sums = False  # js_bound takes softplus of the marginal scores: a log weight is no weight there

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return js_bound(*self._scores(x, y, 1, self._shuffles))

    def _pooled(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return dv_bound(joint, marginal)


class InfoNCE(NWJ):
    """InfoNCE (van den Oord et al. 2018): every other sample of a batch is a negative.

    The estimate on B samples can never exceed log B; ``est(...)`` reports that ceiling in
    ``MIEstimate.limit`` (B = ``eval_batch_size``, or N if smaller). The default critic is separable, so
    a batch's B x B scores cost one matrix product; ``chunk`` switches training and evaluation to the
    memory-linear form of :func:`iblearn.functional.bounds.infonce_bound_chunked` for large batches.
    """

    name = "infonce"
    class_sums = False

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "separable",
        hidden: Hidden = DEFAULT_HIDDEN,
        chunk: int | None = None,
        y_classes: int | None = None,
        lr: float = 5e-4,
        n_negatives: int = 8,
        eval_batch_size: int = 1024,
        average: float | None = 0.01,
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        super().__init__(
            x_dim,
            y_dim,
            critic=critic,
            hidden=hidden,
            y_classes=y_classes,
            lr=lr,
            n_negatives=n_negatives,
            eval_batch_size=eval_batch_size,
            average=average,
            seed=seed,
            base=base,
        )
        self.chunk = None if chunk is None else V.positive_int(chunk, "chunk")

    def _matrix_bound(self, x: Tensor, y: Tensor) -> Tensor:
        """InfoNCE on one batch, all pairs (chunked when asked)."""

        def rows(idx: Tensor) -> Tensor:
            return self._pairs(x[idx.to(x.device)], y)

        if self.chunk is not None and len(x) > self.chunk:
            return infonce_bound_chunked(rows, len(x), self.chunk)
        return infonce_bound(self._pairs(x, y))

    def _pairs(self, x: Tensor, y: Tensor) -> Tensor:
        return all_pair_scores(self.critic, x, y)

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        return self._matrix_bound(x, y)

    def batch_mi(self, x: Any, y: Any) -> Tensor:
        xt, yt = self._inputs(x, y)
        return self._finite(self._matrix_bound(xt, yt), "bound", (xt, yt))

    def mi(self, x: Any, y: Any) -> Tensor:
        return self._batch_mean(*self._inputs(x, y), self._matrix_bound)

    def forward(self, x: Any, y: Any, **request: Any) -> MIEstimate:
        return self._batch_limit(super().forward(x, y, **request))

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "chunk": self.chunk}
