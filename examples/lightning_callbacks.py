"""A LightningModule trained by a real pytorch_lightning.Trainer with iblearn's two callbacks:

* ``MIDecayCallback`` (paper 004, Algorithm 1): after every epoch it measures I(T; Y) of the network's
  output on a fixed sample with MixedKSG and sets the next epoch's learning rate from it;
* ``InformationPlaneCallback`` (paper 003): records I(X; T) and I(T; Y) of the hidden layers before
  the first epoch and after every epoch, without touching the model.

    python examples/lightning_callbacks.py            # 30 epochs on 6,000 samples, about ten seconds
    python examples/lightning_callbacks.py --quick    # 4 epochs on 1,500 samples, a few seconds

Needs pytorch-lightning (`pip install 'iblearn[lightning]'`). Writes the information plane to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import nn

from iblearn.analysis import InformationPlane, InformationPlaneCallback
from iblearn.optim import MIDecayLR, MIProbe
from iblearn.optim.lightning import MIDecayCallback


def make_data(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Five overlapping Gaussian classes in 20 dimensions: I(X; Y) is below H(Y) = log 5."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 5, (n,), generator=gen)
    centres = torch.randn(5, 20, generator=gen)
    return centres[y] + 1.5 * torch.randn(n, 20, generator=gen), y


class Classifier(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # MIProbe measures the output of this
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        # Only the optimizer: MIDecayCallback owns the scheduler (Lightning would step it without the MI).
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9, nesterov=True)  # paper 004's SGD


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 epochs on 1,500 samples")
    parser.add_argument("--out", type=Path, default=Path("runs/example-lightning"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # many small operations: one thread is fastest, above all on shared cores
    pl.seed_everything(args.seed, verbose=False)

    n, epochs = (1500, 4) if args.quick else (6000, 30)
    x, y = make_data(n, args.seed)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=100, shuffle=True)
    model = Classifier()

    # I(T; Y) on a fixed sample of the training data (paper 004: 1,000 points); the LR bounds would come
    # from iblearn.optim.lr_range_test (Algorithm 2); here they are set by hand.
    probe = MIProbe(x, y, n=500 if args.quick else 1000, seed=args.seed)
    mi_decay = MIDecayCallback(
        probe,
        lambda opt, ixy, ity0: MIDecayLR(
            opt, lr_min=1e-3, lr_max=0.1, epsilon=5e-4, epochs=epochs, ixy=ixy, ity0=ity0, lr_top=0.05
        ),
    )
    # The plane of the two hidden layers ("net.1" and "net.3" are the Tanh modules), on 500 samples.
    # Inputs are continuous, so the well-defined noisy I(X; T + eta) of paper 003 Sec. 5.3 is recorded, with
    # eta as large as the layer's spread: with less, every sample stays distinguishable (I(X; T) = log 500).
    plane = InformationPlane(
        model, ["net.1", "net.3"], x[:500], y[:500], ixt="noisy", ity="noisy", noise_scale=1.0
    )
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        callbacks=[mi_decay, InformationPlaneCallback(plane)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=not args.quick,
        enable_model_summary=False,
        default_root_dir=args.out,
    )
    trainer.fit(model, loader)

    assert mi_decay.scheduler is not None
    history = mi_decay.scheduler.history[0]  # I(T; Y) before training, then after every epoch
    print(f"I(X; Y) bound of the probe: H(Y) = {probe.ixy():.3f} nats")
    print("I(T; Y) per epoch [nats]: " + ", ".join(f"{v:.3f}" for v in history))
    print(f"learning rate of the next epoch: {mi_decay.scheduler.get_last_lr()[0]:.4g}")
    print(f"last epoch's training loss: {float(trainer.callback_metrics['train_loss']):.4f}")
    args.out.mkdir(parents=True, exist_ok=True)
    plane.result().plot(args.out / "information_plane.png", title="Lightning, MIDecayLR")
    print(f"wrote {args.out / 'information_plane.png'}")
    return history


if __name__ == "__main__":
    main()
