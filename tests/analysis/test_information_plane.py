"""The information-plane recorder measures without touching the model."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from iblearn.analysis import InformationPlane, InformationPlaneCallback
from iblearn.training.stochastic import GaussianNoise


def net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 3))


def test_recording_changes_no_output_gradient_mode_or_random_state() -> None:
    x, y = torch.randn(40, 4), torch.arange(40) % 3

    def step(model: nn.Module, plane: InformationPlane | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        if plane is not None:
            plane.record(0)
        out = model(x)  # dropout active: draws from the random state
        nn.functional.cross_entropy(out, y).backward()
        return out.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    torch.manual_seed(1)
    model = net().train()
    model[2].eval()  # a submodule in its own mode stays so
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(5)
    ref_out, ref_grads = step(model, None)
    model.load_state_dict(state)
    plane = InformationPlane(model, ["1", model[3]], x, y, ixt="quantized", ity="quantized")
    torch.manual_seed(5)
    out, grads = step(model, plane)
    assert torch.equal(out, ref_out) and all(torch.equal(a, b) for a, b in zip(grads, ref_grads, strict=True))
    assert model.training and not model[2].training
    assert not model[1]._forward_hooks and not model[3]._forward_hooks
    assert [p.layer for p in plane.result().points] == ["1", "3"]


def test_binning_by_hand(tmp_path: Path) -> None:
    x = torch.tensor([0.0, 1.0, 2.0, 3.0]).repeat(5)[:, None]
    y = (x[:, 0] >= 2).long()
    plane = InformationPlane(nn.Sequential(nn.Identity()), ["0"], x, y, ixt="quantized", n_bins=4, base=2)
    plane.record(3)
    (point,) = plane.result().points
    assert point.epoch == 3 and point.ixt == pytest.approx(2.0) and point.ity == pytest.approx(1.0)
    text = plane.result().to_csv(tmp_path / "plane.csv")
    assert (tmp_path / "plane.csv").read_text() == text and text.startswith("epoch,layer,ixt,ity\n3,0,2,1")
    plane.result().plot(tmp_path / "plane.png")
    assert (tmp_path / "plane.png").stat().st_size > 0


@pytest.mark.parametrize(("ixt", "ity"), [("ksg", "mixed_ksg"), ("renyi", "renyi"), ("noisy", "noisy")])
def test_every_estimator_gives_finite_numbers(ixt: str, ity: str) -> None:
    x, y = torch.randn(60, 4), torch.arange(60) % 3
    plane = InformationPlane(net(), ["1"], x, y, ixt=ixt, ity=ity)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plane.record(1)
    (p,) = plane.result().points
    assert math.isfinite(p.ixt) and math.isfinite(p.ity)
    if ixt == "noisy":
        assert 0 <= p.ity <= p.ixt + 1e-9 <= math.log(60) + 1e-9


def test_warns_once_when_the_plain_quantity_is_infinite() -> None:
    x, y = torch.randn(30, 4), torch.arange(30) % 3
    plane = InformationPlane(net(), ["1"], x, y)
    with pytest.warns(UserWarning, match="Theorem 1") as caught:
        plane.record(0)
        plane.record(1)
    assert len([w for w in caught if "Theorem 1" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        InformationPlane(net(), ["1"], x, y, ixt="noisy").record(0)


def test_callback_records_at_the_chosen_epochs() -> None:
    x, y = torch.randn(30, 4), torch.arange(30) % 3
    plane = InformationPlane(net(), ["1"], x, y, ixt="quantized")
    cb = InformationPlaneCallback(plane, every=2)
    cb.on_fit_start(None, plane.model)
    cb.on_train_start(None, None)
    for epoch in range(4):
        cb.on_train_epoch_end(type("T", (), {"current_epoch": epoch})(), None)
    assert [p.epoch for p in plane.result().points] == [0, 2, 4]


def test_bad_input_names_the_argument() -> None:
    x, y = torch.randn(30, 4), torch.arange(30) % 3
    with pytest.raises(ValueError, match="layers: 'fc9'"):
        InformationPlane(net(), ["fc9"], x, y)
    with pytest.raises(ValueError, match="layers"):
        InformationPlane(net(), [nn.Linear(2, 2)], x, y)
    with pytest.raises(ValueError, match="x"):
        InformationPlane(net(), ["1"], torch.randn(30, 5), y)
    with pytest.raises(ValueError, match="noise_scale"):
        InformationPlane(net(), ["1"], x, y, ixt="noisy", noise_scale=0)
    with pytest.raises(ValueError, match="y"):
        InformationPlane(net(), ["1"], x, y[:5])


def test_recording_leaves_batchnorm_statistics_alone() -> None:
    x, y = torch.randn(40, 4) * 3 + 5, torch.arange(40) % 3
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3)).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    plane = InformationPlane(model, ["2"], x, y)  # binning: record() also runs the Theorem 1 diagnosis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plane.record(0)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(m.training for m in model.modules())


def test_warning_judges_the_network_that_is_measured() -> None:
    x, y = torch.randn(30, 4), torch.arange(30) % 3
    model = nn.Sequential(nn.Linear(4, 8), GaussianNoise(0.1), nn.Tanh(), nn.Linear(8, 3)).train()
    plane = InformationPlane(model, ["2"], x, y)  # measured in eval mode: the noise is off
    with pytest.warns(UserWarning, match="Theorem 1"):
        plane.record(0)
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize(
    ("ixt", "ity"), [("ksg", "mixed_ksg"), ("binning", "mixed_ksg"), ("renyi", "renyi"), ("noisy", "noisy")]
)
def test_a_dead_layer_records_zero(ixt: str, ity: str) -> None:
    first = nn.Linear(4, 8)
    with torch.no_grad():
        first.bias.fill_(-100.0)  # every ReLU unit off on every input
    model = nn.Sequential(first, nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(30, 4), torch.arange(30) % 3
    plane = InformationPlane(model, ["1"], x, y, ixt=ixt, ity=ity)  # type: ignore[arg-type]
    plane.record(0)
    (p,) = plane.result().points
    assert (p.ixt, p.ity) == (0.0, 0.0)


def test_warns_once_naming_the_ceiling_when_a_layer_saturates() -> None:
    x, y = torch.randn(50, 4), torch.arange(50) % 3  # 30 bins on 4 units: every sample lands apart
    plane = InformationPlane(nn.Sequential(nn.Identity()), ["0"], x, y, ixt="quantized", ity="quantized")
    with pytest.warns(UserWarning, match="ceiling") as caught:
        plane.record(0)
        plane.record(1)
    (warning,) = [w for w in caught if "ceiling" in str(w.message)]
    message = str(warning.message)
    assert f"log N = {math.log(50):.4f}" in message and "at H(Y) = 1.0982" in message
    assert "n_bins" in message


def test_no_saturation_warning_below_the_ceiling() -> None:
    x, y = torch.linspace(0, 1, 60)[:, None], (torch.arange(60) >= 30).long()
    plane = InformationPlane(nn.Sequential(nn.Identity()), ["0"], x, y, ixt="quantized", n_bins=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plane.record(0)  # I(T; Y) = H(Y) (the bins separate the classes) but I(X; T) = log 4 < log 60
    assert plane.result().points[0].ity == pytest.approx(math.log(2))


def test_records_what_a_layer_keeps_beyond_the_label(tmp_path: Path) -> None:
    from iblearn.estimators import KSG
    from iblearn.functional import ksg_cmi

    model, x, y = net(), torch.randn(120, 4), torch.arange(120) % 3
    by_name = InformationPlane(model, ["1"], x, y, ixt="quantized", ixt_given_y="ksg")
    by_object = InformationPlane(model, ["1"], x, y, ixt="quantized", ixt_given_y=KSG(k=3))
    by_name.record(0)
    by_object.record(0)
    with torch.no_grad():
        t = model[1](model[0](x)).double()
    point = by_name.result().points[0]
    assert point.ixt_given_y == pytest.approx(float(ksg_cmi(x.double(), t, y)), abs=1e-12)
    assert by_object.result().points[0].ixt_given_y == pytest.approx(point.ixt_given_y, abs=1e-12)
    assert by_name.result().to_csv().splitlines()[0] == "epoch,layer,ixt,ity,ixt_given_y"
    plain = InformationPlane(model, ["1"], x, y, ixt="quantized")
    plain.record(0)
    assert plain.result().points[0].ixt_given_y is None
    assert plain.result().to_csv().splitlines()[0] == "epoch,layer,ixt,ity"
    with pytest.raises(ValueError, match="ixt_given_y: expected None, 'ksg' or an estimator that takes z="):
        InformationPlane(model, ["1"], x, y, ixt_given_y="binning")


def test_settings_and_epochs_it_would_misread_are_refused() -> None:
    x, y = torch.randn(30, 4), torch.arange(30) % 3
    for kwargs, match in (
        (dict(base=1), "base: the logarithm's base must be positive and not 1"),
        (dict(bound="yes"), "bound: expected True, False or a joint table"),
        (dict(input_kind="images"), "input_kind: expected one of"),
    ):
        with pytest.raises(ValueError, match=match):
            InformationPlane(net(), ["1"], x, y, **kwargs)  # type: ignore[arg-type]
    plane = InformationPlane(net(), ["1"], x, y, ixt="quantized")
    for epoch in ("a", 1.5, True, -1):
        with pytest.raises(ValueError, match="epoch: expected a non-negative integer"):
            plane.record(epoch)  # type: ignore[arg-type]
    assert plane.points == []
