"""MIDecayLR against LR sequences computed by hand from Algorithm 1; the MI probe; LARS."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from iblearn.functional import discrete_entropy
from iblearn.optim import LARS, MIDecayLR, MIProbe

LR_MIN, LR_MAX, EPS, E, IXY = 0.001, 0.1, 0.05, 10, 2.0
#: The knobs of the sequences computed by hand.
HAND = {"lr_min": LR_MIN, "lr_max": LR_MAX, "epsilon": EPS, "epochs": E, "ixy": IXY}


def scheduler(ity0=0.2, lr_top=None, time_decay=True, groups=1):
    params = [{"params": [nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    opt = torch.optim.SGD(params, lr=1.0)
    return MIDecayLR(opt, **HAND, ity0=ity0, lr_top=lr_top, time_decay=time_decay)


def test_a_scripted_mi_series_gives_the_hand_computed_lrs():
    # ITY after epochs 1..7: growth, stagnation (d_s < eps), a decrease, then a rise, then near the bound.
    ity = [0.8, 1.2, 1.21, 1.0, 1.4, 1.42, 1.98]
    expected = [
        max(0.2 / 2 * LR_MAX, LR_MIN),  # e=1: ITY_0 / IXY * LR_MAX = 0.01
        (1 - 0.8 / 2) * LR_MAX,  # e=2: d_p = 1 - 0.8/2 = 0.6 -> 0.06
        0.06,  # e=3: d_s = (1.2 - 0.8)/1.2 = 0.33 >= eps: unchanged
        (1 - 1.21 / 2) * (1 - 4 / E) * LR_MAX,  # e=4: d_s = 0.01/1.21 < eps: d_p = 0.395, x 0.6
        (1 - 1.21 / 2) * (1 - 5 / E) * LR_MAX,  # e=5: d_s = -0.21 < eps (a decrease): d_p uses the best, 1.21
        (1 - 1.21 / 2) * (1 - 5 / E) * LR_MAX,  # e=6: d_s = 0.4/1.4 = 0.29: unchanged
        (1 - 1.42 / 2) * (1 - 7 / E) * LR_MAX,  # e=7: d_s = 0.02/1.42 < eps
        (1 - 1.42 / 2) * (1 - 7 / E) * LR_MAX,  # e=8: d_s = 0.56/1.98 = 0.28 >= eps: unchanged
    ]
    sched = scheduler()
    seen = [sched.get_last_lr()[0]]
    for value in ity:
        sched.step(value)
        seen.append(sched.get_last_lr()[0])
    assert seen == pytest.approx(expected, rel=1e-12)
    assert sched.optimizer.param_groups[0]["lr"] == pytest.approx(expected[-1])


def test_the_floor_lr_top_and_time_decay_switch():
    sched = scheduler(lr_top=0.05)
    assert sched.get_last_lr() == [0.05]
    sched.step(1.999)  # d_p = 0.0005: far under the floor
    assert sched.get_last_lr() == [LR_MIN]
    sched = scheduler(time_decay=False)
    for value in (1.0, 1.0, 1.0):  # stagnation from epoch 3 on
        sched.step(value)
    assert sched.get_last_lr() == pytest.approx([(1 - 1.0 / 2) * LR_MAX])  # no (1 - e/E) factor


def test_an_estimate_above_the_data_processing_bound_starts_at_lr_max():
    # I(T; Y) <= I(X; Y): an estimate of ITY_0 above IXY (estimation error) counts as IXY, so the first
    # LR stays within the range test's bounds.
    assert scheduler(ity0=2.5).get_last_lr() == pytest.approx([LR_MAX])
    assert scheduler(ity0=IXY).get_last_lr() == pytest.approx([LR_MAX])


def test_layer_wise_groups_follow_their_own_mi():
    sched = scheduler(ity0=[0.2, 1.0], groups=2)
    assert sched.get_last_lr() == pytest.approx([0.01, 0.05])
    sched.step([0.4, 1.8])
    assert sched.get_last_lr() == pytest.approx([(1 - 0.4 / 2) * LR_MAX, (1 - 1.8 / 2) * LR_MAX])
    assert [m["d_p"] for m in sched.metrics()] == pytest.approx([0.8, 0.1])


def test_state_dict_round_trip_keeps_the_history():
    sched = scheduler()
    for value in (0.8, 1.2, 1.21):
        sched.step(value)
    saved = sched.state_dict()  # not copied: the scheduler must hand out a snapshot
    again, other = scheduler(), scheduler()
    again.load_state_dict(saved)
    other.load_state_dict(saved)
    assert again.history == sched.history and again.epoch == 4
    sched.step(1.22)
    again.step(1.22)
    assert again.get_last_lr() == sched.get_last_lr()
    assert saved["history"] == [[0.2, 0.8, 1.2, 1.21]] and saved["epoch"] == 4  # the snapshot stayed
    assert other.history == [[0.2, 0.8, 1.2, 1.21]]  # loaded from the same dict, shares nothing


def test_a_failed_step_changes_nothing():
    sched = scheduler()
    sched.step(0.8)
    sched.optimizer.add_param_group({"params": [nn.Parameter(torch.zeros(1))], "lr": 0.5})
    for mi in (1.0, [1.0, 1.0]):
        with pytest.raises(
            ValueError, match="optimizer: has 2 parameter groups, but the scheduler was built for 1"
        ):
            sched.step(mi)
    assert sched.history == [[0.2, 0.8]] and sched.epoch == 2
    sched = scheduler(groups=2)
    with pytest.raises(ValueError, match="mi: MI values must be finite"):
        sched.step([0.5, float("nan")])
    assert sched.history == [[0.2], [0.2]] and sched.epoch == 1


def test_last_epoch_and_step_count_follow_torch():
    sched = scheduler()
    reference = torch.optim.lr_scheduler.StepLR(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), 1)
    assert (sched.last_epoch, sched._step_count) == (reference.last_epoch, reference._step_count) == (0, 1)
    sched.step(0.8)
    sched.step(1.2)
    assert (sched.epoch, sched.last_epoch, sched._step_count) == (3, 2, 3)


def alone(**knobs):
    """MIDecayLR over one parameter with valid knobs, ``knobs`` replacing some of them."""
    settings = {"lr_min": 0.01, "lr_max": 0.1, "epsilon": 0.1, "epochs": 5, "ixy": 1.0, "ity0": 0.1}
    return MIDecayLR(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1), **(settings | knobs))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: scheduler().step(-0.1), "mi: MI values must be finite and >= 0"),
        (lambda: scheduler().step(float("nan")), "mi: MI values must be finite"),
        (lambda: scheduler(groups=2).step([0.1]), r"mi: expected one value per parameter group \(2\)"),
        (lambda: scheduler().step(), r"mi: MIDecayLR.step needs the MI"),
        (lambda: scheduler().step(torch.tensor(0.5, device="meta")), "mi: is on the meta device"),
        (lambda: scheduler(groups=2).step(torch.ones(2, device="meta")), "mi: is on the meta device"),
        (lambda: alone(ity0=torch.tensor(0.1, device="meta")), "ity0: is on the meta device"),
        (lambda: alone(lr_min=0.1, lr_max=0.01), "lr_min, lr_max: lr_min=0.1 exceeds lr_max=0.01"),
        (lambda: alone(ixy=0.0), "ixy: the MI upper bound must be positive"),
        (lambda: alone(epochs=0), "epochs: expected a positive integer"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_seven_numbers_are_keywords():
    # lr_min, lr_max, epsilon, epochs, ixy, ity0 by position: two swapped would train quietly wrong.
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1)
    with pytest.raises(TypeError, match="positional argument"):
        MIDecayLR(opt, 0.01, 0.1, 0.1, 5, 1.0, 0.1)  # type: ignore[misc]


def test_probe_measures_output_and_named_layers_without_changing_the_model():
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (600,))
    x = torch.randn(600, 5) + 2.0 * nn.functional.one_hot(labels, 5)[:, :5].float()
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    model.train()
    probe = MIProbe(x, labels, n=400, layers=["1", "3"], seed=1)
    first = probe.measure(model)
    assert len(first) == 2 and all(v >= 0 for v in first) and model.training
    assert probe.measure(model) == first  # eval mode: dropout off, the same numbers
    assert probe.ixy() == pytest.approx(float(discrete_entropy(probe.y)))  # H(Y): labels are a function of x
    assert 0 < probe.ixy(estimate=True) <= probe.ixy() + 0.1
    assert len(MIProbe(x, labels, n=400).measure(model)) == 1
    with pytest.raises(ValueError, match=r"layers: no module named \['fc9'\]"):
        MIProbe(x, labels, layers=["fc9"]).measure(model)


def test_probe_on_a_collapsed_or_diverged_network():
    labels = torch.randint(0, 3, (300,))
    x = torch.randn(300, 5)
    dead = nn.Sequential(nn.Linear(5, 4), nn.ReLU())
    nn.init.constant_(dead[0].bias, -100.0)  # every unit silent: the outputs are all 0
    assert MIProbe(x, labels, n=200).measure(dead) == [0.0]
    diverged = nn.Linear(5, 4)
    nn.init.constant_(diverged.weight, float("nan"))
    assert math.isnan(MIProbe(x, labels, n=200).measure(diverged)[0])


def test_lars_hand_computed_steps_with_momentum_and_weight_decay():
    w = nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))
    opt = LARS([w], lr=0.5, momentum=0.9, weight_decay=0.1, trust_coefficient=0.01)
    g = torch.tensor([0.6, 0.8], dtype=torch.float64)
    w_ref, v_ref = w.detach().clone(), torch.zeros(2, dtype=torch.float64)
    for step in range(3):
        w.grad = g.clone()
        local = 0.01 * w_ref.norm() / (g.norm() + 0.1 * w_ref.norm() + 1e-9)
        update = 0.5 * local * (g + 0.1 * w_ref)
        v_ref = update if step == 0 else 0.9 * v_ref + update
        w_ref = w_ref - v_ref
        opt.step()
        torch.testing.assert_close(w.detach(), w_ref)
    b = nn.Parameter(torch.ones(3))
    b.grad = torch.ones(3)
    LARS([b], lr=0.1, momentum=0.0, exclude_1d=True, weight_decay=0.5).step()
    torch.testing.assert_close(b.detach(), torch.full((3,), 0.9))  # plain SGD for 1-d: no scaling, no decay


def lightning_fit():
    """A small classifier of 300 samples, its SGD, a stand-in for what the hooks use of Lightning's
    Trainer, and a maker of MIDecayCallbacks (I(T; Y) on 200 of the samples, lr_top 0.05)."""
    from iblearn.optim.lightning import MIDecayCallback

    torch.manual_seed(0)
    labels = torch.randint(0, 3, (300,))
    x = torch.randn(300, 4) + 2.0 * nn.functional.one_hot(labels, 4).float()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)

    class Trainer:
        def __init__(self) -> None:
            self.optimizers = [opt]

    def make():
        return MIDecayCallback(
            MIProbe(x, labels, n=200),
            lambda o, ixy, ity0: MIDecayLR(
                o, lr_min=1e-3, lr_max=0.1, epsilon=0.01, epochs=5, ixy=ixy, ity0=ity0, lr_top=0.05
            ),
        )

    return model, opt, Trainer, make


def test_the_lightning_callback_drives_the_scheduler_through_its_hooks():
    model, opt, Trainer, make = lightning_fit()
    logged = {}
    model.log = lambda key, value: logged.__setitem__(key, value)
    callback = make()
    callback.on_fit_start(Trainer(), model)
    assert opt.param_groups[0]["lr"] == 0.05
    callback.on_train_epoch_end(Trainer(), model)
    assert set(logged) == {"mi_ty", "lr"} and logged["lr"] == opt.param_groups[0]["lr"] != 0.05


def test_the_lightning_callback_resumes_the_scheduler_from_its_state_dict():
    model, opt, Trainer, make = lightning_fit()
    callback = make()
    assert callback.state_dict() == {}  # nothing to save before the fit starts
    callback.on_fit_start(Trainer(), model)
    for _ in range(2):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.3 * torch.randn_like(p))
        callback.on_train_epoch_end(Trainer(), model)
    saved = callback.state_dict()
    lr, history = callback.scheduler.get_last_lr(), callback.scheduler.history
    # Lightning restores callbacks from the checkpoint before on_fit_start rebuilds the scheduler.
    resumed = make()
    resumed.load_state_dict(saved)
    resumed.on_fit_start(Trainer(), model)
    assert resumed.scheduler.epoch == 3 and resumed.scheduler.history == history
    assert resumed.scheduler.get_last_lr() == lr == [opt.param_groups[0]["lr"]] and lr != [0.05]
    # Strategies that restore after setup load into the scheduler that exists already.
    late = make()
    late.on_fit_start(Trainer(), model)
    late.load_state_dict(saved)
    assert late.scheduler.epoch == 3 and late.scheduler.history == history


def test_a_state_dict_that_is_not_a_schedulers_is_refused_and_time_decay_is_a_bool():
    # load_state_dict({}) loaded nothing, silently; time_decay="no" is truthy and turned time decay on.
    sched = scheduler()
    sched.step(0.5)
    with pytest.raises(ValueError, match="state_dict: is not a MIDecayLR state; it lacks history"):
        sched.load_state_dict({})
    with pytest.raises(ValueError, match="state_dict: expected a dict"):
        sched.load_state_dict([])
    fresh = scheduler()
    fresh.load_state_dict(sched.state_dict())
    assert fresh.history == sched.history and fresh.epoch == sched.epoch
    for bad in ("no", 0, None):
        with pytest.raises(ValueError, match="time_decay: expected True or False"):
            scheduler(time_decay=bad)
    with pytest.raises(ValueError, match="lr_top: must be a positive number or None"):
        scheduler(lr_top="0.1")


def test_a_scheduler_that_steps_without_the_mi_cannot_drive_it_and_says_so():
    sched = scheduler()
    warmup = torch.optim.lr_scheduler.LinearLR(sched.optimizer, total_iters=2)
    sequence = torch.optim.lr_scheduler.SequentialLR(sched.optimizer, [warmup, sched], milestones=[2])
    sequence.step()
    with pytest.raises(ValueError, match="MIDecayLR: sets the LR from the MI measured after an epoch"):
        sequence.step()
    with pytest.raises(ValueError, match="MIDecayLR: sets the LR from the MI"):
        scheduler().get_lr()


@pytest.mark.parametrize("bad", ["1.0", True, b"1"])
def test_an_mi_that_is_no_number_is_refused(bad):
    with pytest.raises(ValueError, match="mi: expected a number"):
        scheduler().step(bad)
    with pytest.raises(ValueError, match="ixy: expected a number"):
        alone(ixy=bad)


def test_the_bound_is_read_as_a_measured_mi_is():
    # I(X; Y) measured by an estimator is a tensor, as I(T; Y) is: both are taken, alike
    assert (
        alone(ixy=torch.tensor(2.0), ity0=torch.tensor(0.5)).get_last_lr()
        == alone(ixy=2.0, ity0=0.5).get_last_lr()
    )
    for bad, match in (
        (torch.tensor(float("nan")), "positive"),
        (torch.tensor([]), "one value per parameter group"),
    ):
        with pytest.raises(ValueError, match=f"^ixy: .*{match}"):
            alone(ixy=bad)
    with pytest.raises(ValueError, match=r"^mi: expected one value per parameter group \(1\), got 0"):
        alone().step(torch.tensor([]))  # torch's own message named no argument


@pytest.mark.parametrize("name", ["lr_min", "lr_max", "epsilon"])
def test_a_bound_or_threshold_that_is_a_bool_is_refused(name):
    with pytest.raises(ValueError, match=f"^{name}: must be a finite number"):
        alone(**{name: True})


def test_probe_settings_and_models_it_could_not_read():
    x, labels = torch.randn(40, 4), torch.arange(40) % 2
    for kwargs, match in (
        (dict(batch_size=0), "batch_size: expected a positive integer"),
        (dict(layers="10"), "layers: expected a list of module names"),
    ):
        with pytest.raises(ValueError, match=match):
            MIProbe(x, labels, n=20, **kwargs)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 3, batch_first=True)

        def forward(self, t):
            return self.rnn(t.unsqueeze(1))[0][:, -1]

    net = Recurrent()
    assert len(MIProbe(x, labels, n=20, layers=["rnn"]).measure(net)) == 1  # its output is (out, h)
    assert not net.rnn._forward_hooks
    assert MIProbe(x, labels, n=20).measure(nn.Tanh()) == MIProbe(x, labels, n=20).measure(nn.Tanh())


class _TwoOutputs(nn.Module):
    """A model that returns (logits, features), as many do."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.head = nn.Linear(4, 3), nn.Linear(3, 2)

    def forward(self, x):
        h = self.body(x)
        return self.head(h), h


def test_probe_reads_a_model_that_returns_a_tuple_by_its_first_member():
    torch.manual_seed(0)
    x, labels = torch.randn(100, 4), torch.randint(0, 2, (100,))
    model = _TwoOutputs()
    probe = MIProbe(x, labels, n=50)
    (output,) = probe.representations(model)
    with torch.no_grad():
        assert torch.equal(output, model(probe.x)[0])
    (body,) = probe.watching(["body"]).representations(model)
    with torch.no_grad():
        assert torch.equal(body, model.body(probe.x))
    assert len(probe.watching(["body"]).measure(model)) == 1
