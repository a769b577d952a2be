"""The LR range test (Algorithm 2) on a scripted model, where the outcome can be worked out by hand,
and on a real tiny classifier."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from iblearn.optim import LRRangeTest, MIProbe, lr_range_test, select_range


def scripted_range_test(
    final_acc, crashes=lambda trial, lr: False, trials=2, restart="candidate", first=None
):
    """The LR range test on a fake model whose outcome depends only on the LR (and, for crashes, the
    trial): training accuracy climbs linearly to ``final_acc[lr]`` after 3 epochs; a NaN there, or
    ``crashes(trial, lr)``, is a NaN loss. The MI is constant: every d_s is 0 after the first epoch.
    ``first[lr]``, if given, is the LR's accuracy and MI at every epoch (a run that sits there)."""
    state = {}

    def make_model(trial):
        state["trial"] = trial
        return nn.Linear(1, 1)

    def make_optimizer(model, lr):
        state["lr"], state["epoch"] = lr, 0
        return torch.optim.SGD(model.parameters(), lr=lr)

    def train_epoch(model, optimizer):
        state["epoch"] += 1
        acc = final_acc[state["lr"]]
        if math.isnan(acc) or crashes(state["trial"], state["lr"]):
            return {"train_loss": float("nan"), "train_acc": 0.0}
        if first and state["lr"] in first:
            return {"train_loss": 1.0, "train_acc": first[state["lr"]][0]}
        return {"train_loss": 1 - acc, "train_acc": 0.1 + (acc - 0.1) * state["epoch"] / 3}

    return lr_range_test(
        make_model,
        train_epoch,
        lambda model: [first[state["lr"]][1] if first and state.get("lr") in first else 0.5],
        ixy=2.0,
        lrs=list(final_acc),
        trials=trials,
        epochs=3,
        make_optimizer=make_optimizer,
        restart=restart,
    )


def test_bounds_follow_algorithm_2_on_scripted_outcomes():
    # Accuracy after 3 epochs peaks at 0.1, the tiny LR barely learns, and 1.0 crashes (NaN loss).
    result = scripted_range_test({0.001: 0.12, 0.01: 0.6, 0.1: 0.9, 0.3: 0.85, 0.5: 0.2, 1.0: float("nan")})
    # MAXVAL 0.9 at 0.1; Thresh 0.09. d1n = final - initial, initial being epoch 1's accuracy.
    assert result.lr_top == 0.1
    assert result.lr_min == 0.01  # d1n(0.001) = 0.0133 < 0.09; d1n(0.01) = 0.333
    assert result.lr_max == 0.5  # dnn(0.3) = 0.05 < 0.09; from 0.5 on (and the crash) >= 0.09
    assert result.epsilon == 0.0  # median of min(d_s) = 0 (constant MI), times C2
    assert [r["crashed"] for r in result.summary].count(True) == 2  # 1.0 crashed in both trials
    assert select_range(result.summary, result.curves, c1=100).lr_max == 0.3  # Thresh 0.009: 0.3 is too low
    # The prose's reading: the LR before Algorithm 2's, the largest that still trains well.
    assert select_range(result.summary, result.curves, lr_max_rule="prose").lr_max == 0.3
    assert select_range(result.summary, result.curves, c1=100, lr_max_rule="prose").lr_max == 0.1
    with pytest.raises(ValueError, match="lr_max_rule: expected one of algorithm, prose"):
        select_range(result.summary, result.curves, lr_max_rule="text")


def test_an_lr_that_crashed_in_any_trial_is_not_a_candidate():
    # Trial 0: 0.3 crashes, so 1.0 is not reached. Trial 1: everything completes, and 0.3 and 1.0 end
    # with the best accuracies. Averaging only completed runs would make 1.0 LR_top.
    # (restart="smallest", an earlier reading of Algorithm 2: every trial starts from the smallest LR.)
    result = scripted_range_test(
        {0.01: 0.5, 0.1: 0.9, 0.3: 0.92, 1.0: 0.95},
        crashes=lambda trial, lr: (trial, lr) == (0, 0.3),
        restart="smallest",
    )
    assert [(r["trial"], r["lr"]) for r in result.summary if r["crashed"]] == [(0, 0.3)]
    assert (result.lr_min, result.lr_top, result.lr_max) == (0.01, 0.1, 0.3)
    patchy = [r for r in result.summary if not (r["trial"] == 1 and r["lr"] < 0.3)]  # each LR in one trial
    with pytest.raises(ValueError, match="lrs: no candidate completed every trial"):
        select_range(patchy, result.curves, restart="smallest")


def test_after_a_crash_the_next_trial_starts_from_the_lr_that_crashed():
    # Algorithm 2: "If training has crashed break and start a new trial from (current) candidate LR_i".
    # Trial 0 crashes at 0.3; trial 1 tests 0.3 again with new weights, then 1.0; trial 2 (after a trial
    # that completed its candidates) starts from the smallest again.
    result = scripted_range_test(
        {0.01: 0.5, 0.1: 0.9, 0.3: 0.92, 1.0: 0.8},
        crashes=lambda trial, lr: (trial, lr) == (0, 0.3),
        trials=3,
    )
    tested = [(r["trial"], r["lr"], r["crashed"]) for r in result.summary]
    assert tested == [
        (0, 0.01, False), (0, 0.1, False), (0, 0.3, True),
        (1, 0.3, False), (1, 1.0, False),
        (2, 0.01, False), (2, 0.1, False), (2, 0.3, False), (2, 1.0, False),
    ]  # fmt: skip
    # 0.3 crashed once: it is out; 1.0 completed twice without a crash: it counts.
    assert (result.restart, result.lr_min, result.lr_top, result.lr_max) == ("candidate", 0.01, 0.1, 0.3)
    with pytest.raises(ValueError, match="no candidate completed every trial"):  # trial 1 skipped 0.01
        select_range(result.summary, result.curves, restart="smallest")
    with pytest.raises(ValueError, match="restart: expected one of candidate, smallest"):
        scripted_range_test({0.1: 0.5}, restart="first")


def test_a_collapse_already_present_after_the_first_epoch_is_a_crash():
    # 1.0 sits at chance (10%) with no I(T; Y) from its first epoch: there is no drop between its own
    # epochs, but every metric is below half of 0.3's first epoch. It used to count as completed.
    result = scripted_range_test(
        {0.01: 0.5, 0.1: 0.9, 0.3: 0.92, 1.0: 0.1}, first={1.0: (0.1, 0.0)}, trials=1
    )
    assert [(r["lr"], r["crashed"]) for r in result.summary][-1] == (1.0, True)
    assert [r["epoch"] for r in result.curves if r["lr"] == 1.0] == [1]


def test_a_tiny_classifier_and_layer_wise_attributes():
    torch.manual_seed(0)
    y = torch.randint(0, 3, (300,))
    x = torch.randn(300, 4) + 1.5 * nn.functional.one_hot(y, 4).float()

    def make_model(trial):
        torch.manual_seed(trial)
        return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))

    def train_epoch(model, optimizer):
        losses, hits = [], 0
        for idx in torch.randperm(300).split(50):
            optimizer.zero_grad()
            out = model(x[idx])
            loss = nn.functional.cross_entropy(out, y[idx])
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            hits += int((out.argmax(1) == y[idx]).sum())
        return {"train_loss": sum(losses) / len(losses), "train_acc": hits / 300}

    probe = MIProbe(x, y, n=200, layers=["1", "2"])
    result = lr_range_test(
        make_model,
        train_epoch,
        probe.measure,
        ixy=[probe.ixy()] * 2,
        lrs=[1e-4, 1e-2, 1e-1, 1.0],
        trials=1,
        epochs=2,
    )
    # 1e-4 barely learns (accuracy +0.003); 0.01 is the first LR to grow by Thresh = MAXVAL / C1; 1.0
    # ends with the best accuracy (0.78, against 0.75 at 0.1), and no larger LR was tried.
    assert (result.lr_min, result.lr_top, result.lr_max) == (0.01, 1.0, 1.0)
    assert 0 < result.epsilon < 0.05  # d_s shrinks after the first epoch: well below epoch 1's 1.0
    # Every LR starts from the same saved model, whose pre-training MI is each run's initial value.
    before = probe.measure(make_model(0))
    assert all([r["initial_ity_0"], r["initial_ity_1"]] == pytest.approx(before) for r in result.summary)
    layer = select_range(result.summary, result.curves, attribute="ity_1")
    assert (layer.attribute, layer.lr_min, layer.lr_top) == ("ity_1", 0.01, 0.1)
    with pytest.raises(ValueError, match="attribute: not recorded"):
        select_range(result.summary, result.curves, attribute="test_acc")


def test_bad_input():
    with pytest.raises(ValueError, match="lrs: expected positive candidate learning rates"):
        lr_range_test(lambda t: nn.Linear(1, 1), lambda m, o: {}, lambda m: [0.0], ixy=1.0, lrs=[0.1, -1.0])
    with pytest.raises(ValueError, match="trials: expected a positive integer"):
        lr_range_test(
            lambda t: nn.Linear(1, 1), lambda m, o: {}, lambda m: [0.0], ixy=1.0, lrs=[0.1], trials=0
        )


def test_initial_mi_is_measured_before_training():
    # ITY grows by gain[lr] per epoch from ITY_0 = 0.1; accuracy grows with it.
    gain = {0.001: 0.0, 0.01: 0.3, 0.1: 0.6}
    state = {"lr": 0.0, "epoch": 0}

    def make_optimizer(model, lr):
        state["lr"], state["epoch"] = lr, 0
        return torch.optim.SGD(model.parameters(), lr=lr)

    def train_epoch(model, optimizer):
        state["epoch"] += 1
        return {"train_loss": 1.0, "train_acc": 0.1 + gain[state["lr"]] * state["epoch"] / 3}

    def measure(model):
        return [0.1 + gain[state["lr"]] * state["epoch"]]

    result = lr_range_test(
        lambda t: nn.Linear(1, 1),
        train_epoch,
        measure,
        ixy=2.0,
        lrs=list(gain),
        make_optimizer=make_optimizer,
        trials=1,
        epochs=2,
        attribute="ity",
    )
    assert [r["initial_ity"] for r in result.summary] == pytest.approx([0.1, 0.1, 0.1])  # ITY_0
    assert [r["final_ity"] for r in result.summary] == pytest.approx([0.1, 0.7, 1.3])
    assert [r["initial_train_acc"] for r in result.summary] == pytest.approx([0.1, 0.2, 0.3])  # epoch 1
    # d1n = 0, 0.6, 1.2 against Thresh = 1.3 / 10: 0.01 is the first LR that learns.
    assert (result.lr_min, result.lr_top) == (0.01, 0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(epochs=1), "epochs: Algorithm 2 needs at least 2 epochs"),
        (dict(c1=0.0), "c1: must be a positive finite number"),
        (dict(c2=float("nan")), "c2: must be a positive finite number"),
        (dict(c1=True), "c1: must be a positive finite number"),
        (dict(ixy=0.0), "ixy: the MI upper bound must be positive"),
        (dict(ixy=[1.0, float("inf")]), "ixy: the MI upper bound must be positive"),
        (dict(ixy="1.0"), "ixy: expected the MI upper bound as a number"),
        (dict(ixy=[1.0, None]), "ixy: expected the MI upper bound as a number"),
        (dict(ixy=torch.tensor([1.0, -1.0])), "ixy: the MI upper bound must be positive"),
    ],
)
def test_bad_settings_fail_before_any_training(kwargs, match):
    def train_epoch(model, optimizer):
        raise AssertionError("trained before checking the settings")

    args = {"ixy": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        lr_range_test(lambda t: nn.Linear(1, 1), train_epoch, lambda m: [0.0], lrs=[0.1], **args)


@pytest.mark.parametrize(
    ("measure", "train_epoch", "match"),
    [
        (lambda m: [], lambda m, o: {"train_loss": 0.1}, "measure: returned no values"),
        (lambda m: None, lambda m, o: {"train_loss": 0.1}, "measure: must return a list"),
        (lambda m: [0.1], lambda m, o: {}, "train_epoch: must return a dict with at least 'train_loss'"),
        (lambda m: [0.1], lambda m, o: 0.5, "train_epoch: must return a dict"),
    ],
)
def test_what_the_callbacks_return_is_checked(measure, train_epoch, match):
    # measure returning [] ended in an IndexError, train_epoch returning {} in a KeyError.
    with pytest.raises(ValueError, match=match):
        lr_range_test(lambda t: nn.Linear(1, 1), train_epoch, measure, ixy=1.0, lrs=[0.1], epochs=2)


def test_lr_range_test_states_the_keywords_of_the_test_it_runs():
    """``lr_range_test`` repeats ``LRRangeTest``'s keywords so that help(), an IDE and mypy show them at
    the call; the copies keep the same names, kinds, defaults and annotations."""
    import inspect

    from iblearn.optim import LRRangeTest

    assert list(inspect.signature(lr_range_test).parameters.values()) == list(
        inspect.signature(LRRangeTest).parameters.values()
    )


def _tiny(**kwargs):
    args = {"ixy": 1.0, "lrs": [0.01, 0.1], "trials": 1, "epochs": 2} | kwargs
    make_model = args.pop("make_model", lambda t: nn.Linear(1, 1))
    return lr_range_test(
        make_model, lambda m, o: {"train_loss": 0.5, "train_acc": 0.5}, lambda m: [0.3], **args
    )


def test_candidate_lrs_as_any_sequence_of_numbers_and_nothing_else():
    import numpy as np

    expected = _tiny()
    for lrs in (
        np.array([0.1, 0.01]),
        torch.tensor([0.01, 0.1], dtype=torch.float64),
        (v for v in (0.01, 0.1)),
    ):
        assert [r["lr"] for r in _tiny(lrs=lrs).summary] == [r["lr"] for r in expected.summary]
    for lrs, match in (
        ("0.1", "lrs: expected a sequence of learning rates"),
        ([0.1, None], "lrs: expected positive candidate learning rates"),
        ([True], "lrs: expected positive candidate learning rates"),
        ([0.1, 0.1], r"lrs: 0.1 is given twice"),
    ):
        with pytest.raises(ValueError, match=match):
            _tiny(lrs=lrs)


def test_what_the_factories_return_and_a_bound_per_layer_are_checked():
    with pytest.raises(ValueError, match=r"make_model: must return an nn\.Module, got None"):
        _tiny(make_model=lambda t: None)
    with pytest.raises(ValueError, match=r"make_optimizer: must return a torch\.optim\.Optimizer, got None"):
        _tiny(make_optimizer=lambda m, lr: None)
    with pytest.raises(ValueError, match=r"ixy: 3 bounds for 1 watched layer"):
        _tiny(ixy=[1.0, 1.0, 1.0])
    from iblearn.optim import LRRangeTest

    test = LRRangeTest(lambda t: nn.Linear(1, 1), lambda m, o: {}, lambda m: [0.3], ixy=1.0, lrs=[0.1])
    with pytest.raises(ValueError, match="state: expected the dict of state_dict"):
        test.load_state_dict(None)


def test_an_attribute_train_epoch_does_not_return_is_refused_at_the_first_epoch():
    epochs = []

    def train_epoch(model, optimizer):
        epochs.append(1)
        return {"train_loss": 0.5}

    with pytest.raises(ValueError, match=r"attribute: 'train_acc' is not among what train_epoch returns"):
        lr_range_test(lambda t: nn.Linear(1, 1), train_epoch, lambda m: [0.3], ixy=1.0, lrs=[0.01, 0.1])
    assert len(epochs) == 1  # not after every trial's training


@pytest.mark.parametrize("ixy", [torch.tensor([1.0, 2.0]), np.array([1.0, 2.0]), torch.tensor(1.5)])
def test_ixy_per_layer_may_be_a_tensor_or_an_array(ixy):
    test = LRRangeTest(lambda t: nn.Linear(1, 1), lambda m, o: {}, lambda m: [0.0], ixy=ixy, lrs=[0.1])
    assert test.ixy == [float(v) for v in ixy.reshape(-1).tolist()]
