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
    """PyTorch Lightning adapter: records the plane as training starts and after every ``every``-th
    training epoch, each point under the trainer's epoch count (so a fit resumed from a checkpoint at
    epoch 5 records 5, 6, ...; a fit that goes on from an epoch the plane holds does not record it
    again), and writes each point to the trainer's loggers (TensorBoard, CSV, ...) at the trainer's
    global step, as ``information_plane/<layer>/ixt`` and ``information_plane/<layer>/ity`` (and
    ``.../ixt_given_y`` where the recorder measures it), in the recorder's unit. The plane watches the
    LightningModule or one of its modules. Without Lightning installed it is a plain object with the
    same hooks."""

    def __init__(self, plane: InformationPlane, every: int = 1) -> None:
        super().__init__()
        if not isinstance(plane, InformationPlane):
            raise ValueError(f"plane: expected an InformationPlane, got {type(plane).__name__}")
        V.positive_int(every, "every")
        self.plane, self.every = plane, every

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        modules = pl_module.modules() if pl_module is not None else [self.plane.model]
        if not any(m is self.plane.model for m in modules):
            raise ValueError(
                "plane: it watches a model that is not the LightningModule being fitted nor one of its "
                "modules; build the InformationPlane on the module the trainer fits"
            )

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        # Here, not in on_fit_start: Lightning restores a checkpoint's epoch count between the two.
        epoch = int(getattr(trainer, "current_epoch", 0))
        held = [p.epoch for p in self.plane.points]
        if held and max(held) > epoch:
            raise ValueError(
                f"plane: it holds epochs up to {max(held)} already, and this fit starts at epoch {epoch}; "
                "give it a fresh InformationPlane"
            )
        if epoch not in held:
            self._record(trainer, epoch)

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
