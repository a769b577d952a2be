"""ProximalSplit under a real Lightning Trainer: the README's manual-optimization recipe trains, and
automatic optimization is refused with an error that names the recipe."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from iblearn.optim import ProximalSplit

pl = pytest.importorskip("pytorch_lightning")


class Split(pl.LightningModule):
    def __init__(self, manual: bool = True) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.f = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
        self.g = nn.Linear(8, 2)
        self.automatic_optimization = not manual
        self.losses: list[float] = []

    def configure_optimizers(self):
        return ProximalSplit(
            self.f.parameters(), self.g.parameters(), torch.optim.Adam, lr_forward=1e-2, lr_backward=1e-2
        )

    def training_step(self, batch, batch_idx):
        x, y = batch

        def closure():
            z = self.f(x)
            return nn.functional.cross_entropy(self.g(z), y), z

        if not self.automatic_optimization:
            loss = self.optimizers().step(closure)
            self.losses.append(float(loss))
            return loss
        return closure()[0]


def _data() -> torch.utils.data.DataLoader:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)


def _trainer() -> pl.Trainer:
    return pl.Trainer(
        max_epochs=5,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def test_manual_optimization_trains():
    model = Split(manual=True)
    _trainer().fit(model, _data())
    assert len(model.losses) == 20 and model.losses[-1] < 0.6 * model.losses[0]


def test_automatic_optimization_is_refused_with_the_recipe():
    with pytest.raises(ValueError, match="automatic_optimization = False"):
        _trainer().fit(Split(manual=False), _data())
