"""MIDecayLR under PyTorch Lightning.

Lightning steps the schedulers it owns once per interval with no argument, except for
``ReduceLROnPlateau``, which receives the ``monitor`` value. MIDecayLR needs the MI measured after each
epoch, so this callback owns it instead: return only the optimizer from ``configure_optimizers``, and
pass a factory that builds the scheduler once the optimizer exists::

    probe = MIProbe(x_train, y_train, n=1000)
    callback = MIDecayCallback(probe, lambda opt, ixy, ity0: MIDecayLR(
        opt, lr_min=1e-4, lr_max=0.2, epsilon=5e-4, epochs=50, ixy=ixy, ity0=ity0, lr_top=0.05))
    trainer = lightning.Trainer(max_epochs=50, callbacks=[callback])

At fit start it measures I(X; Y) and I(T; Y) and builds the scheduler; after every training epoch it
measures I(T; Y) and steps the scheduler. Each measurement goes to the trainer's loggers (TensorBoard,
CSV, ...) at the trainer's global step: ``mi_decay/ixy`` once, then ``mi_decay/ity`` (the last probed
layer; ``mi_decay/ity/<layer>`` for each where ``layers=`` probes several) and ``mi_decay/lr`` (the first
parameter group's; ``mi_decay/lr/<group>`` for each where there are several); ``mi_ty`` and ``lr`` are
also logged through the module, for the progress bar and for callbacks that monitor them. The
scheduler's state (epoch, MI history) goes into Lightning's checkpoints through the callback's
``state_dict``, so a resumed fit goes on from the saved epoch. Without Lightning installed the class
is a plain object with the same hooks (and is tested that way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from iblearn._lightning import CallbackBase, log_metrics
from iblearn.optim.mi_decay import MIDecayLR, MIProbe

SchedulerFactory = Callable[
    [torch.optim.Optimizer, float | Sequence[float], float | Sequence[float]], MIDecayLR
]


class MIDecayCallback(CallbackBase):  # type: ignore[misc]
    """Measures I(T; Y) each epoch with ``probe`` and steps the MIDecayLR built by ``make_scheduler``."""

    def __init__(self, probe: MIProbe, make_scheduler: SchedulerFactory) -> None:
        super().__init__()
        if not isinstance(probe, MIProbe):
            raise ValueError(f"probe: expected an MIProbe, got {type(probe).__name__}")
        if not callable(make_scheduler):
            raise ValueError(
                "make_scheduler: expected a callable (optimizer, ixy, ity0) -> MIDecayLR, "
                f"got {type(make_scheduler).__name__}"
            )
        self.probe = probe
        self.make_scheduler = make_scheduler
        self.scheduler: MIDecayLR | None = None
        self._loaded: dict[str, Any] | None = None  # a checkpoint's scheduler state, until it is built

    @staticmethod
    def _value(values: list[float]) -> float | list[float]:
        return values[0] if len(values) == 1 else values

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        """Build the scheduler for the trainer's one optimizer. A fit that goes on from a later epoch
        (``trainer.fit`` again) goes on with the scheduler's state; a checkpoint's is applied as it
        is loaded."""
        optimizer = self._optimizer(trainer)
        if self.scheduler is not None and self._loaded is None and int(getattr(trainer, "current_epoch", 0)):
            self._loaded = self.scheduler.state_dict()
        ixy = self.probe.ixy()
        values = self.probe.measure(pl_module)
        groups = len(optimizer.param_groups)
        if len(values) > 1 and len(values) != groups:
            raise ValueError(
                f"layers: the probe watches {len(values)} layers, one for each parameter group, and the "
                f"optimizer has {groups} group(s)"
            )
        scheduler = self.make_scheduler(
            optimizer, ixy if groups == 1 else [ixy] * groups, self._value(values)
        )
        if not (isinstance(scheduler, MIDecayLR) and scheduler.optimizer is optimizer):
            got = "another optimizer" if isinstance(scheduler, MIDecayLR) else type(scheduler).__name__
            raise ValueError(f"make_scheduler: expected a MIDecayLR of the optimizer it is given, got {got}")
        self.scheduler = scheduler
        if self._loaded is not None:
            self._restore(self.scheduler, self._loaded)
        log_metrics(trainer, {"mi_decay/ixy": float(ixy), **self._metrics(self.scheduler, values)})

    @staticmethod
    def _optimizer(trainer: Any) -> torch.optim.Optimizer:
        """The trainer's one optimizer, which no scheduler of Lightning's steps."""
        # Lightning stands an optimizer of no parameter groups in for configure_optimizers' None.
        optimizers = [opt for opt in getattr(trainer, "optimizers", []) if opt.param_groups]
        if len(optimizers) != 1:
            raise ValueError(
                "configure_optimizers: MIDecayCallback schedules one optimizer, got "
                f"{len(optimizers)}; return the one optimizer the scheduler drives"
            )
        if getattr(trainer, "lr_scheduler_configs", None):
            raise ValueError(
                "configure_optimizers: Lightning steps a scheduler of its own as well as MIDecayLR; "
                "return only the optimizer"
            )
        return optimizers[0]  # type: ignore[no-any-return]

    def _metrics(self, scheduler: Any, values: list[float]) -> dict[str, float]:
        """I(T; Y) of the probed layers and ``scheduler``'s learning rates, as the loggers get them."""
        lrs = [float(lr) for lr in scheduler.get_last_lr()]
        out = {"mi_decay/ity": float(values[-1]), "mi_decay/lr": lrs[0]}
        if len(values) > 1:
            names = list(getattr(self.probe, "layers", None) or range(len(values)))
            out |= {f"mi_decay/ity/{name}": float(v) for name, v in zip(names, values, strict=False)}
        if len(lrs) > 1:
            out |= {f"mi_decay/lr/{i}": lr for i, lr in enumerate(lrs)}
        return out

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's epoch and MI history, which Lightning saves in its checkpoints."""
        return {"scheduler": self.scheduler.state_dict()} if self.scheduler is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the scheduler from a checkpoint.

        Lightning usually calls this before ``on_fit_start`` builds the scheduler, so the state is
        kept and applied there; if the scheduler exists already it is applied at once.
        """
        if not isinstance(state_dict, dict):
            raise ValueError(f"state_dict: expected a dict, got {type(state_dict).__name__}")
        self._loaded = state_dict.get("scheduler")
        if self._loaded is not None and self.scheduler is not None:
            self._restore(self.scheduler, self._loaded)

    def _restore(self, scheduler: MIDecayLR, state: dict[str, Any]) -> None:
        scheduler.load_state_dict(state)
        self._loaded = None
        # The fresh scheduler set epoch 1's LR; the resumed epoch's LR is the loaded one.
        for group, lr in zip(scheduler.optimizer.param_groups, scheduler.get_last_lr(), strict=True):
            group["lr"] = lr

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.scheduler is None:
            raise ValueError("make_scheduler: the scheduler was not built; did on_fit_start run?")
        values = self.probe.measure(pl_module)
        self.scheduler.step(self._value(values))
        log_metrics(trainer, self._metrics(self.scheduler, values))
        if hasattr(pl_module, "log"):
            pl_module.log("mi_ty", float(values[-1]))
            pl_module.log("lr", float(self.scheduler.get_last_lr()[0]))
