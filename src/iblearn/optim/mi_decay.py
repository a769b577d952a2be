"""MIDecayLR: learning-rate decay driven by mutual information (Vasudevan 2020, Algorithm 1),
and :class:`MIProbe`, which measures the MI it needs.

With ITY_j the MI I(T; Y) measured after epoch j on a fixed sample (ITY_0 before training) and IXY the
MI I(X; Y) of that sample (the data-processing upper bound), the LR of epoch e = 1..E is

* e = 1: ``lr_top``, or ``max(min(ITY_0 / IXY, 1) * lr_max, lr_min)`` when ``lr_top`` is None (ITY_0 at
  most IXY by the data-processing inequality: an estimate above it counts as IXY);
* e = 2: ``max(d_p * lr_max, lr_min)``;
* e > 2: if ``d_s < epsilon``: ``max(d_p * (1 - e / E) * lr_max, lr_min)``, otherwise unchanged;

with ``d_p = 1 - max(ITY_0..ITY_{e-1}) / IXY`` (distance from the best MI to its bound) and
``d_s = (ITY_{e-1} - ITY_{e-2}) / ITY_{e-1}`` (the relative change of the last epoch; 0 when ITY_{e-1}
is 0). The extracted text prints the time-decay factor as (1 - epsilon / E); the paper's prose calls it
"a simple time-decay component" that "ensures LR reduction even in the face of the performance
stagnating" and that "can even be removed" for models known to fit well. Only (1 - e / E) does that
(with epsilon ~ 1e-3, (1 - epsilon / E) is 0.99998, no decay at all), so that is implemented, and
``time_decay=False`` removes it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any, NoReturn

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LRScheduler

from iblearn import _checks as V
from iblearn.estimators import get_estimator
from iblearn.functional import discrete_entropy


def _per_group(value: float | Sequence[float] | Tensor, groups: int, name: str) -> list[float]:
    if isinstance(value, Tensor):  # a measured MI: one value, or one per group
        value = V.materialized(value, name).detach().cpu()
        value = float(value) if value.numel() == 1 else value.flatten().tolist()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    items = (
        list(value)
        if isinstance(value, Sequence) and not isinstance(value, str | bytes)
        else [value] * groups
    )
    if any(isinstance(v, bool) or not isinstance(v, Real) for v in items):
        raise ValueError(f"{name}: expected a number, or one per parameter group, got {value!r}")
    values = [float(v) for v in items]
    if len(values) != groups:
        raise ValueError(f"{name}: expected one value per parameter group ({groups}), got {len(values)}")
    return values


class MIDecayLR(LRScheduler):
    """Algorithm 1 of Vasudevan (2020) as a scheduler that, like ``ReduceLROnPlateau``, takes the value
    measured.

    Call ``sched.step(mi)`` once per epoch with I(T; Y) measured after that epoch; the optimizer's LR is
    then the LR of the next epoch. Layer-wise mode (Vasudevan 2020, Fig. 4 and 6): give one ``ixy``/``ity0``
    per parameter group (or a single value shared by all) and step with one MI per group,
    ``step([mi_0, mi_1, ...])``; each group's LR follows its own MI history.

    ``epoch`` is Algorithm 1's e, the 1-based epoch whose LR is set; ``last_epoch`` (= e - 1) and
    ``_step_count`` count steps as in torch's schedulers, for code that reads them.

    Args:
        optimizer: the wrapped optimizer (SGD with momentum in the paper).
        lr_min, lr_max: the LR bounds from the range test (Algorithm 2).
        epsilon: the significance threshold of the MI's relative change.
        epochs: E, the planned number of epochs.
        ixy: I(X; Y) of the MI sample, the upper bound; one value or one per group.
        ity0: I(T; Y) before training; one value or one per group.
        lr_top: the first epoch's LR (the range test's best); None starts from the MI instead.
        time_decay: keep the (1 - e / E) factor.

    Example:
        >>> opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = MIDecayLR(opt, lr_min=0.001, lr_max=0.1, epsilon=0.01, epochs=10, ixy=2.0, ity0=0.5)
        >>> sched.get_last_lr()  # epoch 1: max(0.5 / 2.0 * 0.1, 0.001)
        [0.025]
        >>> sched.step(1.0)  # I(T; Y) after epoch 1
        >>> sched.get_last_lr()  # epoch 2: (1 - 1.0 / 2.0) * 0.1
        [0.05]
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,  # seven numbers: by name, so that two swapped ones fail instead of training quietly
        lr_min: float,
        lr_max: float,
        epsilon: float,
        epochs: int,
        ixy: float | Sequence[float] | Tensor,
        ity0: float | Sequence[float] | Tensor,
        lr_top: float | None = None,
        time_decay: bool = True,
    ) -> None:
        groups = len(optimizer.param_groups)
        for value, name in ((lr_min, "lr_min"), (lr_max, "lr_max"), (epsilon, "epsilon")):
            if isinstance(value, bool) or not (
                isinstance(value, int | float) and math.isfinite(value) and value >= 0
            ):
                raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
        if lr_min > lr_max:
            raise ValueError(f"lr_min, lr_max: lr_min={lr_min} exceeds lr_max={lr_max}")
        V.positive_int(epochs, "epochs")
        if lr_top is not None and not (
            isinstance(lr_top, int | float)
            and not isinstance(lr_top, bool)
            and math.isfinite(lr_top)
            and lr_top > 0
        ):
            raise ValueError(f"lr_top: must be a positive number or None, got {lr_top!r}")
        if not isinstance(time_decay, bool):  # "no" is truthy: it turned time decay on
            raise ValueError(f"time_decay: expected True or False, got {time_decay!r}")
        self.ixy = _per_group(ixy, groups, "ixy")
        if not all(math.isfinite(v) and v > 0 for v in self.ixy):
            raise ValueError(f"ixy: the MI upper bound must be positive, got {self.ixy}")
        self.lr_min, self.lr_max, self.epsilon, self.epochs = (
            float(lr_min),
            float(lr_max),
            float(epsilon),
            epochs,
        )
        self.lr_top, self.time_decay = lr_top, time_decay
        self.history: list[list[float]] = [[v] for v in self._check(ity0, groups, "ity0")]
        self.epoch = 0  # the epoch whose LR is set; base __init__ calls step() once to set epoch 1's
        super().__init__(optimizer)

    @staticmethod
    def _check(mi: float | Sequence[float] | Tensor, groups: int, name: str) -> list[float]:
        values = _per_group(mi, groups, name)
        for v in values:
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: MI values must be finite and >= 0, got {values}")
        return values

    def step(self, mi: float | Sequence[float] | Tensor | None = None) -> None:  # type: ignore[override]
        """Record the MI measured after the epoch just trained, and set the next epoch's LR."""
        groups = self.optimizer.param_groups
        # Check everything before touching the history, so that a failed step changes nothing.
        if len(groups) != len(self.history):
            raise ValueError(
                f"optimizer: has {len(groups)} parameter groups, but the scheduler was built for "
                f"{len(self.history)}; build MIDecayLR after the last add_param_group"
            )
        if mi is None:
            if self.epoch > 0:
                raise ValueError("mi: MIDecayLR.step needs the MI measured after the epoch (step(mi))")
            self.epoch = 1
            lrs = [self._first(h[0], ixy) for h, ixy in zip(self.history, self.ixy, strict=True)]
        else:
            values = self._check(mi, len(groups), "mi")
            for hist, value in zip(self.history, values, strict=True):
                hist.append(value)
            self.epoch += 1
            lrs = [
                self._next(h, ixy, g["lr"]) for h, ixy, g in zip(self.history, self.ixy, groups, strict=True)
            ]
        for group, lr in zip(groups, lrs, strict=True):
            group["lr"] = lr
        # torch's protocol: last_epoch 0 and _step_count 1 after construction, both + 1 per step.
        self.last_epoch = self.epoch - 1
        self._step_count += 1
        self._last_lr = list(lrs)  # type: ignore[assignment]

    def get_lr(self) -> NoReturn:
        """Refused: torch's schedulers that drive others (``SequentialLR``, ``ChainedScheduler``) call
        it, or ``step()``, without the MI each LR is computed from. The LRs set: ``get_last_lr()``."""
        raise ValueError(
            "MIDecayLR: sets the LR from the MI measured after an epoch (step(mi)), which a scheduler "
            "that drives it (SequentialLR, ChainedScheduler) does not pass; call step(mi) yourself, after "
            "any warmup, and read the LRs with get_last_lr()"
        )

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state, copied: a kept snapshot does not follow later steps."""
        return copy.deepcopy(super().state_dict())

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a copy of ``state_dict``, so that two schedulers loaded from it share no history. One
        that lacks any of the scheduler's entries is refused: {} silently loaded nothing."""
        if not isinstance(state_dict, dict):
            raise ValueError(f"state_dict: expected a dict, got {type(state_dict).__name__}")
        own = ("history", "epoch", "ixy", "lr_min", "lr_max", "epsilon", "epochs", "lr_top", "time_decay")
        missing = [key for key in own if key not in state_dict]
        if missing:
            raise ValueError(f"state_dict: is not a MIDecayLR state; it lacks {', '.join(missing)}")
        super().load_state_dict(copy.deepcopy(state_dict))

    def _first(self, ity0: float, ixy: float) -> float:
        # I(T; Y) <= I(X; Y) (data processing): an estimate above the bound counts as the bound, so that the
        # first LR stays within the range test's [lr_min, lr_max].
        if self.lr_top is not None:
            return self.lr_top
        return max(min(ity0 / ixy, 1.0) * self.lr_max, self.lr_min)

    def _next(self, hist: list[float], ixy: float, current: float) -> float:
        e = self.epoch  # hist holds ITY_0..ITY_{e-1}
        d_p = 1 - max(hist) / ixy
        if e == 2:
            return max(d_p * self.lr_max, self.lr_min)
        d_s = (hist[-1] - hist[-2]) / hist[-1] if hist[-1] > 0 else 0.0
        if d_s < self.epsilon:
            decay = 1 - e / self.epochs if self.time_decay else 1.0
            return max(d_p * decay * self.lr_max, self.lr_min)
        return current

    def metrics(self) -> list[dict[str, float]]:
        """d_p and d_s per group for the current epoch (what Algorithm 1 computed last)."""
        out = []
        for hist, ixy in zip(self.history, self.ixy, strict=True):
            d_s = (
                (hist[-1] - hist[-2]) / hist[-1]
                if len(hist) > 1 and hist[-1] > 0
                else (1.0 if len(hist) == 1 else 0.0)
            )
            out.append({"d_p": 1 - max(hist) / ixy, "d_s": d_s})
        return out


def _first(out: Any) -> Tensor:
    """A layer's output, or the first member of one that returns a tuple (a recurrent layer's
    ``(output, hidden)``), as :class:`~iblearn.analysis.InformationPlane` reads it."""
    return out[0] if isinstance(out, tuple) else out


class MIProbe:
    """Measures I(T; Y) on a fixed, seeded subset of the training data, for the output or named layers.

    Args:
        x: training inputs ``(N, ...)``.
        y: integer labels ``(N,)``.
        n: size of the MI sample (Vasudevan 2020: 1,000).
        layers: module names whose outputs to measure (``model.named_modules()`` names), or None for the
            network's output.
        estimator: a registered estimator name (MixedKSG by default, the estimator for I(T; Y) with
            class labels), or an estimator object.
        seed: seeds the subset.
        batch_size: forward passes over the subset in batches of this size.

    Measurements run in eval mode without gradients and restore the model's mode. Estimates are
    clipped at 0 (MI cannot be negative; kNN estimates can be, by their bias). Under
    ``torch.distributed``, rank 0 measures and broadcasts, so every rank sets the same LR; a
    ``DistributedDataParallel`` model is measured through its inner module, which runs without the others.
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        n: int = 1000,
        *,
        layers: Sequence[str] | None = None,
        estimator: str | Any = "mixed_ksg",
        seed: int = 0,
        batch_size: int = 500,
    ) -> None:
        if len(x) != len(y):
            raise ValueError(f"x, y: sample counts differ ({len(x)} and {len(y)})")
        if isinstance(n, bool) or not isinstance(n, int) or n < 10:
            raise ValueError(f"n: expected an integer of at least 10, got {n!r}")
        if isinstance(layers, str):  # "10" would watch modules "1" and "0"
            raise ValueError(f"layers: expected a list of module names, got the string {layers!r}")
        V.positive_int(batch_size, "batch_size")
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[: min(n, len(x))]
        self.x, self.y = x[idx], y[idx]
        self.layers = list(layers) if layers is not None else None
        self.estimator = get_estimator(estimator) if isinstance(estimator, str) else estimator
        self.batch_size = batch_size

    def watching(self, layers: Sequence[str] | None) -> MIProbe:
        """A probe on the very same sample that watches other layers."""
        probe = copy.copy(self)
        probe.layers = list(layers) if layers is not None else None
        return probe

    def ixy(self, *, estimate: bool = False) -> float:
        """I(X; Y) of the sample, the data-processing bound of every I(T; Y); broadcast from rank 0.

        By default the plug-in entropy H(Y) of the sample's labels: for labels that are a function of
        the input, I(X; Y) = H(Y) exactly, the "theoretical upper bound" Algorithm 1 asks for.
        ``estimate=True`` estimates I(X; Y) from the raw inputs with the probe's estimator instead (the
        paper's KSG route); in high dimension that is biased low (MNIST, MixedKSG on pixels: 1.66,
        1.83, 1.93 nats at n = 500, 1000, 2000, against H(Y) = 2.27 - 2.30: the results page of the
        MIDecayLR reproduction), and the network's own I(T; Y) then passes it after an epoch or two,
        which pins the LR to lr_min.
        """

        def compute() -> list[float]:
            if not estimate:
                return [float(discrete_entropy(self.y))]
            return [max(0.0, float(self.estimator(self.x.flatten(1).float(), self.y)))]

        return float(self._from_rank0(compute)[0])

    @staticmethod
    def _from_rank0(compute: Callable[[], list[float]]) -> list[float]:
        dist = torch.distributed
        distributed = dist.is_available() and dist.is_initialized()
        if not distributed:
            return list(compute())
        values: list[Any] = [None]
        failure: Exception | None = None
        if dist.get_rank() == 0:
            try:
                values = [("values", compute())]
            except Exception as err:  # told to the other ranks, which would otherwise wait for values
                failure, values = err, [("error", f"{type(err).__name__}: {err}")]
        dist.broadcast_object_list(values, src=0)
        if failure is not None:
            raise failure
        what, found = values[0]
        if what == "error":
            raise RuntimeError(f"MIProbe: rank 0 failed to measure: {found}")
        return list(found)

    @torch.no_grad()
    def representations(self, model: nn.Module) -> list[Tensor]:
        """The watched layers' outputs (or the model's, its first member where it returns a tuple) on the
        sample, flattened to ``(n, d)``.

        A ``DistributedDataParallel`` model runs its inner module: under ``measure`` only rank 0 runs
        this forward, and the wrapper's forward would wait on the other ranks (it broadcasts buffers such
        as BatchNorm's). Layer names may be the wrapper's (``"module.1"``) or the inner module's (``"1"``).
        """
        device = next(iter([*model.parameters(), *model.buffers(), self.x])).device
        names = self.layers or []
        net = model.module if isinstance(model, DistributedDataParallel) else model
        modules = {**dict(model.named_modules()), **dict(net.named_modules())}
        missing = [name for name in names if name not in modules]
        if missing:
            raise ValueError(f"layers: no module named {missing}; modules are {list(modules)[1:12]}...")
        captured: dict[str, list[Tensor]] = {name: [] for name in names}
        hooks = [
            modules[name].register_forward_hook(
                lambda _m, _i, out, name=name: captured[name].append(_first(out).detach().flatten(1).cpu())
            )
            for name in names
        ]
        was_training = model.training
        model.eval()
        outputs = []
        try:
            for start in range(0, len(self.x), self.batch_size):
                out = _first(net(self.x[start : start + self.batch_size].to(device)))
                outputs.append(out.detach().flatten(1).cpu())
        except (RuntimeError, TypeError) as err:
            raise ValueError(
                f"x: the model cannot run on the probe's sample, shape {tuple(self.x.shape)} ({err})"
            ) from err
        finally:
            for h in hooks:
                h.remove()
            model.train(was_training)
        if not names:
            return [torch.cat(outputs)]
        return [torch.cat(captured[name]) for name in names]

    def measure(self, model: nn.Module) -> list[float]:
        """I(T; Y) for each watched layer (one value for the output), clipped at 0; broadcast from rank 0."""
        return self._from_rank0(lambda: [self._ity(t) for t in self.representations(model)])

    def _ity(self, t: Tensor) -> float:
        # A layer whose outputs are all equal (a network collapsed by too large an LR) carries no
        # information: 0, which no kNN estimator can compute. Non-finite outputs (a diverged network)
        # give NaN: the LR range test reads it as a crash, and MIDecayLR.step refuses it by name.
        if not bool(torch.isfinite(t).all()):
            return math.nan
        if bool((t == t[:1]).all()):
            return 0.0
        return max(0.0, float(self.estimator(t.float(), self.y)))
