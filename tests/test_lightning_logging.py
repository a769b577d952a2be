"""The Lightning callbacks write what they measure to the trainer's loggers: a real
``pytorch_lightning.Trainer`` on CPU with a TensorBoard and a CSV logger, both files read back."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from torch import nn

pl = pytest.importorskip("pytorch_lightning")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

from iblearn.analysis import InformationPlane, InformationPlaneCallback  # noqa: E402
from iblearn.optim import MIDecayLR, MIProbe  # noqa: E402
from iblearn.optim.lightning import MIDecayCallback  # noqa: E402


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _events(folder: Path) -> dict[str, list[tuple[int, float]]]:
    (file,) = folder.rglob("events.out.tfevents.*")
    acc = event_accumulator.EventAccumulator(str(file))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_the_callbacks_log_to_tensorboard_and_csv(tmp_path):
    torch.manual_seed(0)
    x, y = torch.randn(256, 6), torch.randint(0, 3, (256,))
    x[:, :3] += 2 * nn.functional.one_hot(y, 3)
    model = Net()
    plane = InformationPlane(model, ["net.1"], x[:200], y[:200], ixt="noisy", ity="noisy")
    probe = MIProbe(x, y, n=200)
    decay = MIDecayCallback(
        probe,
        lambda opt, ixy, ity0: MIDecayLR(
            opt, lr_min=1e-3, lr_max=0.1, epsilon=5e-4, epochs=2, ixy=ixy, ity0=ity0, lr_top=0.05
        ),
    )
    loggers = [
        pl.loggers.TensorBoardLogger(tmp_path, name="tb"),
        pl.loggers.CSVLogger(tmp_path, name="csv"),
    ]
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        devices=1,
        logger=loggers,
        callbacks=[InformationPlaneCallback(plane), decay],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)
    trainer.fit(model, loader)

    points = plane.result().points
    assert [p.epoch for p in points] == [0, 1, 2]
    steps = [0, 4, 8]  # the trainer's global step at fit start and after each epoch of 4 batches
    events = _events(tmp_path / "tb")
    for tag, field in (("information_plane/net.1/ixt", "ixt"), ("information_plane/net.1/ity", "ity")):
        assert [s for s, _ in events[tag]] == steps, tag
        assert [v for _, v in events[tag]] == pytest.approx([getattr(p, field) for p in points], rel=1e-6)
    assert [s for s, _ in events["mi_decay/ity"]] == steps
    assert [s for s, _ in events["mi_decay/ixy"]] == [0]
    assert events["mi_decay/ixy"][0][1] == pytest.approx(probe.ixy(), rel=1e-6)
    lrs = [v for _, v in events["mi_decay/lr"]]
    assert lrs[-1] == pytest.approx(decay.scheduler.get_last_lr()[0], rel=1e-6)
    assert all(0 < lr <= 0.1 for lr in lrs)

    (metrics,) = (tmp_path / "csv").rglob("metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    logged = [
        (int(r["step"]), float(r["information_plane/net.1/ity"]))
        for r in rows
        if r.get("information_plane/net.1/ity")
    ]
    assert logged == [(s, pytest.approx(p.ity, rel=1e-6)) for s, p in zip(steps, points, strict=True)]
    assert sum(1 for r in rows if r.get("mi_decay/ity")) == 3
    assert all(math.isfinite(float(r["mi_decay/ity"])) for r in rows if r.get("mi_decay/ity"))
