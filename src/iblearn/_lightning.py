"""The base class of iblearn's PyTorch Lightning callbacks: Lightning's ``Callback`` when Lightning is
installed (so ``Trainer`` accepts them), otherwise ``object`` (they are then plain objects with the same
hooks, which is how the tests drive them); and how they write what they measure to the trainer's
loggers."""

from collections.abc import Mapping
from typing import Any

CallbackBase: Any
try:
    from lightning.pytorch.callbacks import Callback as CallbackBase  # type: ignore[import-not-found,no-redef]
except ImportError:
    try:
        from pytorch_lightning.callbacks import (  # type: ignore[import-not-found,no-redef]
            Callback as CallbackBase,
        )
    except ImportError:
        CallbackBase = object


def log_metrics(trainer: Any, metrics: Mapping[str, float]) -> None:
    """Write ``metrics`` to every logger of ``trainer`` (TensorBoard, CSV, Weights & Biases, ...) at the
    trainer's global step, from global rank 0 only, as Lightning's own logging does.

    A callback logs through the loggers, not through ``LightningModule.log``: that refuses to log
    in ``on_fit_start`` (where the first measurement is made), and it would mean one value a name and
    epoch where a plane has one a layer. A trainer without loggers (or a plain object standing in for
    one) gets nothing.
    """
    if int(getattr(trainer, "global_rank", 0)) != 0:
        return
    loggers = getattr(trainer, "loggers", None) or []
    step = int(getattr(trainer, "global_step", 0))
    for logger in loggers:
        logger.log_metrics(dict(metrics), step=step)


__all__ = ["CallbackBase", "log_metrics"]
