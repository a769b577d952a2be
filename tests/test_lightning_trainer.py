"""The Lightning callbacks under a real ``pytorch_lightning.Trainer`` on CPU: the plane's epochs on a
fit continued or resumed from a checkpoint, the scheduler's epoch on a continued fit, and a setup the
callbacks cannot serve (no optimizer or several, a scheduler Lightning owns too, a plane of another
model, arguments of the wrong kind) refused with an error that names it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

pl = pytest.importorskip("pytorch_lightning")

from iblearn.analysis import InformationPlane, InformationPlaneCallback  # noqa: E402
from iblearn.optim import MIDecayLR, MIProbe  # noqa: E402
from iblearn.optim.lightning import MIDecayCallback  # noqa: E402

torch.manual_seed(0)
X, Y = torch.randn(64, 6), torch.randint(0, 3, (64,))


class Net(pl.LightningModule):
    def __init__(self, optimizers: str = "one") -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
        self.optimizers_kind = optimizers
        self.automatic_optimization = optimizers != "two"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        if not self.automatic_optimization:
            for opt in self.optimizers():
                opt.zero_grad()
            self.manual_backward(loss)
            for opt in self.optimizers():
                opt.step()
        return loss

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        if self.optimizers_kind == "none":
            return None
        if self.optimizers_kind == "two":
            return [torch.optim.SGD(self.net[i].parameters(), lr=0.1) for i in (0, 2)]
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        if self.optimizers_kind == "scheduled":
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1)}
        return opt


def trainer(tmp_path, callbacks, **settings):  # type: ignore[no-untyped-def]
    base = {
        "max_epochs": 2,
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": tmp_path,
    }
    return pl.Trainer(callbacks=callbacks, **{**base, **settings})


def loader() -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=32)


def decay(**probe) -> MIDecayCallback:  # type: ignore[no-untyped-def]
    return MIDecayCallback(
        MIProbe(X, Y, n=64, **probe),
        lambda opt, ixy, ity0: MIDecayLR(
            opt, lr_min=1e-3, lr_max=0.1, epsilon=5e-4, epochs=5, ixy=ixy, ity0=ity0, lr_top=0.05
        ),
    )


def test_the_plane_is_recorded_at_the_epochs_of_a_continued_and_a_resumed_fit(tmp_path):
    model = Net()
    plane = InformationPlane(model, ["net.1"], X, Y)
    fit = trainer(tmp_path, [InformationPlaneCallback(plane)], enable_checkpointing=True)
    fit.fit(model, loader())
    fit.fit_loop.max_epochs = 3
    fit.fit(model, loader())  # goes on from epoch 2, which the plane holds already
    assert [p.epoch for p in plane.points] == [0, 1, 2, 3]

    resumed_model = Net()
    resumed = InformationPlane(resumed_model, ["net.1"], X, Y)
    again = trainer(tmp_path, [InformationPlaneCallback(resumed)], max_epochs=4)
    again.fit(resumed_model, loader(), ckpt_path=fit.checkpoint_callback.best_model_path)
    assert [p.epoch for p in resumed.points] == [3, 4]


def test_a_plane_that_holds_later_epochs_or_watches_another_model_is_refused(tmp_path):
    model = Net()
    plane = InformationPlane(model, ["net.1"], X, Y)
    trainer(tmp_path, [InformationPlaneCallback(plane)]).fit(model, loader())
    with pytest.raises(ValueError, match="plane: it holds epochs up to 2"):
        trainer(tmp_path, [InformationPlaneCallback(plane)]).fit(model, loader())
    other = InformationPlane(Net(), ["net.1"], X, Y)
    with pytest.raises(ValueError, match="plane: it watches a model that is not the LightningModule"):
        trainer(tmp_path, [InformationPlaneCallback(other)]).fit(Net(), loader())
    inner = InformationPlane(model.net, ["1"], X, Y)  # the module's own network is its model too
    trainer(tmp_path, [InformationPlaneCallback(inner)], max_epochs=1).fit(model, loader())
    assert [p.epoch for p in inner.points] == [0, 1]
    for bad in ("plane", None, model):
        with pytest.raises(ValueError, match="plane: expected an InformationPlane"):
            InformationPlaneCallback(bad)


def test_a_continued_fit_goes_on_with_the_scheduler_it_had(tmp_path):
    model, callback = Net(), decay()
    fit = trainer(tmp_path, [callback])
    fit.fit(model, loader())
    history = list(callback.scheduler.history)
    fit.fit_loop.max_epochs = 3
    fit.fit(model, loader())
    assert callback.scheduler.epoch == 4 and callback.scheduler.history[0][:3] == history[0]
    trainer(tmp_path, [callback], max_epochs=1).fit(Net(), loader())  # a fit from epoch 0 starts afresh
    assert callback.scheduler.epoch == 2


@pytest.mark.parametrize(
    ("optimizers", "message"),
    [
        ("none", "configure_optimizers: MIDecayCallback schedules one optimizer, got 0"),
        ("two", "configure_optimizers: MIDecayCallback schedules one optimizer, got 2"),
        ("scheduled", "configure_optimizers: Lightning steps a scheduler of its own"),
    ],
)
def test_an_optimizer_setup_the_scheduler_cannot_drive_is_refused(tmp_path, optimizers, message):
    with pytest.raises(ValueError, match=message):
        trainer(tmp_path, [decay()]).fit(Net(optimizers), loader())


def test_the_callbacks_arguments_and_what_the_factory_returns_are_checked(tmp_path):
    probe = MIProbe(X, Y, n=64)
    for bad in ("probe", None, 3):
        with pytest.raises(ValueError, match="probe: expected an MIProbe"):
            MIDecayCallback(bad, lambda *a: None)
    with pytest.raises(ValueError, match="make_scheduler: expected a callable"):
        MIDecayCallback(probe, None)
    other = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    for factory, what in (
        (lambda opt, ixy, ity0: None, "None"),
        (lambda opt, ixy, ity0: torch.optim.lr_scheduler.StepLR(opt, 1), "StepLR"),
        (
            lambda opt, ixy, ity0: MIDecayLR(
                other, lr_min=1e-3, lr_max=0.1, epsilon=5e-4, epochs=5, ixy=ixy, ity0=ity0
            ),
            "another optimizer",
        ),
    ):
        with pytest.raises(ValueError, match=f"make_scheduler: expected a MIDecayLR of .*{what}"):
            trainer(tmp_path, [MIDecayCallback(probe, factory)]).fit(Net(), loader())
    for bad in (None, [], "x"):
        with pytest.raises(ValueError, match="state_dict: expected a dict"):
            decay().load_state_dict(bad)


def test_a_probe_the_model_cannot_run_or_more_layers_than_groups_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"x: the model cannot run on the probe's sample, shape \(64, 5\)"):
        trainer(tmp_path, [MIDecayCallback(MIProbe(torch.randn(64, 5), Y, n=64), lambda *a: None)]).fit(
            Net(), loader()
        )
    with pytest.raises(ValueError, match="layers: the probe watches 2 layers, one for each parameter group"):
        trainer(tmp_path, [decay(layers=["net.1", "net.2"])]).fit(Net(), loader())
