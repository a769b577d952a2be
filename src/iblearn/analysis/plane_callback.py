"""The information plane under PyTorch Lightning: :class:`InformationPlaneCallback`.

A module of its own, so that Lightning (seconds to import) is imported by the callback, not by
``import iblearn.analysis``.
"""

from __future__ import annotations

from typing import Any

from iblearn import _checks as V
from iblearn._lightning import CallbackBase, log_metrics
from iblearn.analysis.information_plane import InformationPlane

__all__ = ["InformationPlaneCallback"]


class InformationPlaneCallback(CallbackBase):  # type: ignore[misc]
    """PyTorch Lightning adapter: records the plane after every ``every``-th training epoch (and before
    the first), and writes each point to the trainer's loggers (TensorBoard, CSV, ...) at the trainer's
    global step, as ``information_plane/<layer>/ixt`` and ``information_plane/<layer>/ity`` (and
    ``.../ixt_given_y`` where the recorder measures it), in the recorder's unit. Without Lightning
    installed it is a plain object with the same hooks."""

    def __init__(self, plane: InformationPlane, every: int = 1) -> None:
        super().__init__()
        V.positive_int(every, "every")
        self.plane, self.every = plane, every

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._record(trainer, 0)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        epoch = int(trainer.current_epoch) + 1
        if epoch % self.every == 0:
            self._record(trainer, epoch)

    def _record(self, trainer: Any, epoch: int) -> None:
        before = len(self.plane.points)
        self.plane.record(epoch)
        metrics: dict[str, float] = {}
        for p in self.plane.points[before:]:
            metrics[f"information_plane/{p.layer}/ixt"] = p.ixt
            metrics[f"information_plane/{p.layer}/ity"] = p.ity
            if p.ixt_given_y is not None:
                metrics[f"information_plane/{p.layer}/ixt_given_y"] = p.ixt_given_y
        log_metrics(trainer, metrics)
