"""The IB functional's forms (paper 003, Sec. 5) against hand-worked values, and the Theorem 1 diagnosis."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from iblearn.analysis import diagnose_ib, ib_decision, ib_functional, ib_noisy, ib_quantized, ib_soft
from iblearn.training.stochastic import GaussianNoise, VIBHead

LOG2 = math.log(2)
Y = torch.tensor([0, 1, 0, 1]).repeat_interleave(25)  # sets S1..S4 of Fig. 2, classes 0, 1, 0, 1


def staircase(values: list[float]) -> torch.Tensor:
    return torch.tensor(values).repeat_interleave(25)[:, None]


F_PRIME = staircase([0.0, 0.75, 0.25, 1.0])  # f'_disc: class 1 above 1/2
F_SECOND = staircase([0.0, 1 / 3, 2 / 3, 1.0])  # f''_disc: the same four values in class order 0,1,0,1


def test_plain_functional_cannot_tell_the_fig2_nets_apart_but_the_decision_rule_can() -> None:
    for rep in (F_PRIME, F_SECOND):  # four distinct outputs, each class on its own values
        q = ib_functional(rep, Y, mode="quantized", n_bins=12)
        assert float(q.ixl) == pytest.approx(math.log(4)) and float(q.iyl) == pytest.approx(LOG2)
    good, bad = (ib_functional(r, Y, mode="decision") for r in (F_PRIME, F_SECOND))
    assert float(good.ixl) == pytest.approx(LOG2) and float(good.iyl) == pytest.approx(LOG2)
    assert float(bad.ixl) == pytest.approx(LOG2) and float(bad.iyl) == pytest.approx(0.0, abs=1e-12)
    assert float(good.value) < float(bad.value)


def test_noisy_functional_prefers_the_simply_decodable_net() -> None:
    good, bad = (ib_functional(r, Y, mode="noisy", noise_std=0.15) for r in (F_PRIME, F_SECOND))
    assert float(good.iyl) > float(bad.iyl) + 0.05
    assert 0 < float(good.iyl) <= float(good.ixl) + 1e-9 <= math.log(100) + 1e-9


def test_noisy_functional_limits() -> None:
    far = ib_functional(F_PRIME * 1e3, Y, mode="noisy", noise_std=1.0)  # noise cannot blur the values
    assert float(far.ixl) == pytest.approx(math.log(4), abs=1e-6)
    assert float(far.iyl) == pytest.approx(LOG2, abs=1e-6)
    blurred = ib_functional(F_PRIME, Y, mode="noisy", noise_std=100.0)
    assert float(blurred.ixl) < 1e-3 and abs(float(blurred.iyl)) < 1e-3
    adapted = ib_functional(F_PRIME * 7, Y, mode="noisy", noise_scale=0.2)  # noise follows L's spread
    assert float(adapted.ixl) == pytest.approx(
        float(ib_functional(F_PRIME, Y, mode="noisy", noise_scale=0.2).ixl)
    )


def test_soft_decision_by_hand_and_differentiable() -> None:
    p = torch.tensor([[0.9, 0.1], [0.1, 0.9]], requires_grad=True)
    ib = ib_functional(p, torch.tensor([0, 1]), mode="soft", logits=False)
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert float(ib.ixl.detach()) == pytest.approx(LOG2 - h) and float(ib.iyl.detach()) == pytest.approx(
        LOG2 - h
    )
    ib.ixl.backward()
    assert p.grad is not None and bool(p.grad.abs().sum() > 0)
    flat = ib_functional(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0]), mode="soft")
    assert float(flat.ixl) == pytest.approx(0.0, abs=1e-12) and float(flat.iyl) == pytest.approx(
        0.0, abs=1e-12
    )


def test_bits_and_bad_input() -> None:
    assert float(ib_functional(F_PRIME, Y, mode="decision", base=2).iyl) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="noise_scale"):
        ib_functional(F_PRIME, Y, mode="noisy", noise_scale=0.0)
    with pytest.raises(ValueError, match="noise_std"):
        ib_functional(F_PRIME, Y, mode="noisy", noise_std=-1.0)
    with pytest.raises(ValueError, match="mode"):
        ib_functional(F_PRIME, Y, mode="plain")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        ib_functional(F_PRIME, Y[:10])
    with pytest.raises(ValueError, match="logits=False"):
        ib_functional(torch.rand(4, 3) + 1, Y[:4], mode="soft", logits=False)


def verdicts(model: nn.Module, x: torch.Tensor, **kw: object) -> list[str]:
    return [d.verdict for d in diagnose_ib(model, x, **kw)]  # type: ignore[arg-type]


def test_diagnosis_follows_theorem_1() -> None:
    x = torch.randn(64, 3)
    tanh = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    assert verdicts(tanh, x) == ["infinite"] * 3
    assert [d.distinct for d in diagnose_ib(tanh, x)] == [64] * 3  # finite-sample I(X; L) = log N
    relu = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    report = diagnose_ib(relu, x)
    assert [d.verdict for d in report] == ["infinite", "undetermined", "undetermined"]
    assert "ReLU" in report[2].reason
    assert verdicts(tanh, x, input_kind="dataset") == ["piecewise-constant"] * 3
    assert verdicts(tanh, torch.randint(0, 2, (64, 3))) == ["piecewise-constant"] * 3
    noisy = nn.Sequential(nn.Linear(3, 4), GaussianNoise(0.1), nn.Tanh(), nn.Linear(4, 2))
    assert verdicts(noisy.train(), x) == ["infinite", "finite", "finite", "finite"]
    assert verdicts(noisy.eval(), x) == ["infinite"] * 4  # the noise is off at evaluation
    vib = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), VIBHead(4, bottleneck=2, classes=2))
    assert verdicts(vib.train(), x) == ["infinite", "infinite", "finite"]
    assert verdicts(vib.eval(), x)[-1] == "infinite"  # z = mu at evaluation
    with pytest.raises(ValueError, match="x"):
        diagnose_ib(tanh, torch.randn(8, 5))
    with pytest.raises(ValueError, match="input_kind"):
        diagnose_ib(tanh, x, input_kind="gaussian")  # type: ignore[arg-type]


def test_diagnosis_leaves_batchnorm_statistics_and_modes_alone() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh()).train()
    model[2].eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    diagnose_ib(model, torch.randn(32, 3) * 3 + 5)  # train mode: BatchNorm would update its running stats
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert model.training and model[1].training and not model[2].training


@pytest.mark.parametrize(
    ("activation", "verdict"),
    [
        (nn.LeakyReLU(0.1), "infinite"),
        (nn.LeakyReLU(0.0), "undetermined"),  # a ReLU: mass on points
        (nn.LeakyReLU(-0.5), "undetermined"),  # not injective
        (nn.PReLU(4, init=0.25), "infinite"),
        (nn.PReLU(4, init=0.0), "undetermined"),
        (nn.PReLU(4, init=-0.5), "undetermined"),
        (nn.ELU(alpha=0.0), "undetermined"),
    ],
)
def test_diagnosis_counts_a_slope_activation_only_with_a_positive_slope(
    activation: nn.Module, verdict: str
) -> None:
    model = nn.Sequential(nn.Linear(3, 4), activation, nn.Linear(4, 2))
    assert verdicts(model, torch.randn(16, 3))[1:] == [verdict] * 2


def test_the_quantized_functional_takes_its_own_precision_quantizer() -> None:
    # Paper 003, Sec. 5.4: Q_L four levels in [0, 1], Q'_L = 1[L > 0.5]: the precision term prefers f'
    # (class 1 above 1/2) over f'', which Q'_L = Q_L (12 bins, the first test) could not tell apart.
    good, bad = (
        ib_functional(r, Y, mode="quantized", n_bins=4, n_bins_y=2, value_range=(0.0, 1.0))
        for r in (F_PRIME, F_SECOND)
    )
    # Q_L's bins [0, 1/4), ..., [3/4, 1]: f' has 0.75 and 1.0 in one (3 levels), f'' four.
    assert float(good.ixl) == pytest.approx(1.5 * LOG2) and float(bad.ixl) == pytest.approx(math.log(4))
    assert float(good.iyl) == pytest.approx(LOG2) and float(bad.iyl) == pytest.approx(0.0, abs=1e-12)


def test_the_noisy_functional_takes_its_own_precision_noise() -> None:
    same = ib_functional(F_PRIME, Y, mode="noisy", noise_std=0.15)
    assert same == ib_functional(F_PRIME, Y, mode="noisy", noise_std=0.15, noise_std_y=0.15)
    coarse = ib_functional(F_PRIME, Y, mode="noisy", noise_std=0.15, noise_std_y=0.6)
    assert float(coarse.ixl) == float(same.ixl)  # I(X; L + eta) unchanged
    assert 0 < float(coarse.iyl) < float(same.iyl)  # more noise in eta': less about Y
    assert (coarse.noise_std, coarse.noise_std_y) == (0.15, 0.6)
    with pytest.raises(ValueError, match="noise_std_y"):
        ib_functional(F_PRIME, Y, mode="noisy", noise_std=0.15, noise_std_y=-1.0)


SOFT = torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize(
    ("form", "mode", "representation", "labels", "settings"),
    [
        (ib_decision, "decision", F_SECOND, Y, {"threshold": 0.4}),
        (ib_soft, "soft", SOFT, torch.tensor([0, 0, 1, 1]), {"logits": False}),
        (ib_noisy, "noisy", F_PRIME, Y, {"noise_std": 0.15, "noise_std_y": 0.6}),
        (ib_quantized, "quantized", F_SECOND, Y, {"n_bins": 4, "n_bins_y": 2}),
    ],
)
def test_each_form_is_a_function_with_its_own_keywords(form, mode, representation, labels, settings) -> None:
    """ib_functional(mode=...) is the form's function; a keyword of another form is refused, by name."""
    alone = form(representation, labels, beta=0.5, base=2, **settings)
    named = ib_functional(representation, labels, mode=mode, beta=0.5, base=2, **settings)
    assert alone == named and torch.equal(alone.ixl_given_y, named.ixl_given_y) and alone.mode == mode
    other = "n_bins" if mode != "quantized" else "noise_std"
    with pytest.raises(TypeError, match=other):
        ib_functional(representation, labels, mode=mode, **{other: 3})


def test_the_conditional_term_by_hand() -> None:
    """I(X; L | Y): what the form keeps of the input beyond the label."""
    # f' decides the label exactly: nothing beyond it. f'' decides the sets S3, S4 against S1, S2, which
    # split each class in halves: a fair coin in each class, log 2.
    assert float(ib_decision(F_PRIME, Y).ixl_given_y) == pytest.approx(0.0, abs=1e-12)
    assert float(ib_decision(F_SECOND, Y).ixl_given_y) == pytest.approx(LOG2)
    # Four levels, two in each class, equally often: H(Q | Y) = log 2, whatever the order of the levels.
    for rep in (F_PRIME, F_SECOND):
        assert float(ib_quantized(rep, Y, n_bins=12).ixl_given_y) == pytest.approx(LOG2)
    # Soft: class 0 holds (0.9, 0.1) and (0.1, 0.9): log 2 - h; class 1 two copies of (0.5, 0.5): 0.
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    soft = ib_soft(SOFT, torch.tensor([0, 0, 1, 1]), logits=False)
    assert float(soft.ixl_given_y) == pytest.approx(0.5 * (LOG2 - h))
    # A representation of the label alone keeps nothing beyond it, through any noise.
    label_only = Y[:, None].double() * 3
    assert float(ib_noisy(label_only, Y, noise_std=0.5).ixl_given_y) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "rep",
    [F_PRIME, F_SECOND, F_PRIME * 3 + 0.2 * torch.randn(100, 1, generator=torch.Generator().manual_seed(0))],
)
def test_the_conditional_term_completes_the_chain_rule(rep) -> None:
    """Y is a function of X (the data set), so I(X; L) = I(Y; L) + I(X; L | Y) in every form whose two
    terms read the same L; with its own precision noise, the conditional term stays that of eta."""
    forms = [
        ib_decision(rep, Y),
        ib_soft(torch.cat([rep, -rep], dim=1), Y),
        ib_noisy(rep, Y, noise_std=0.3),
        ib_quantized(rep, Y, n_bins=5),
    ]
    for ib in forms:
        assert float(ib.ixl) == pytest.approx(float(ib.iyl + ib.ixl_given_y), abs=1e-12)
        assert float(ib.ixl_given_y) >= -1e-12
    coarse = ib_noisy(rep, Y, noise_std=0.3, noise_std_y=1.0)
    assert torch.equal(coarse.ixl_given_y, forms[2].ixl_given_y) and float(coarse.iyl) < float(forms[2].iyl)


@pytest.mark.parametrize("mode", ["decision", "soft", "noisy", "quantized"])
def test_every_form_names_a_beta_or_base_that_is_no_weight_or_logarithm(mode) -> None:
    for beta in (math.inf, -1.0, math.nan, "1"):
        with pytest.raises(ValueError, match=r"^beta: "):
            ib_functional(F_PRIME, Y, mode=mode, beta=beta)
    for base in (1.0, 0.0, math.inf):
        with pytest.raises(ValueError, match=r"^base: "):
            ib_functional(F_PRIME, Y, mode=mode, base=base)
    plain = ib_functional(F_PRIME, Y, mode=mode, beta=2.0)
    for beta in (torch.tensor(2.0), np.float64(2.0)):  # a scalar from a sweep is a number too
        ib = ib_functional(F_PRIME, Y, mode=mode, beta=beta)
        assert ib.beta == 2.0 and float(ib.value) == float(plain.value)


def test_settings_of_one_form_are_checked_by_name() -> None:
    for threshold in (math.nan, "0.5"):
        with pytest.raises(ValueError, match=r"^threshold: "):
            ib_decision(F_PRIME, Y, threshold=threshold)
    with pytest.raises(ValueError, match=r"^logits: "):
        ib_soft(F_PRIME, Y, logits="no")  # a string is truthy: softmax would run on probabilities
    with pytest.raises(TypeError, match=r"^model: "):
        diagnose_ib(lambda x: x, torch.randn(4, 3))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_diagnose_ib_refuses_non_finite_samples(bad):
    # The distinct-output counts would read a NaN row as its own value: refused, naming x and the row.
    x = torch.randn(6, 3)
    x[4, 1] = bad
    with pytest.raises(ValueError, match=r"x: contains NaN or Inf \(first at sample 4\)"):
        diagnose_ib(nn.Sequential(nn.Linear(3, 2), nn.Tanh()), x)
