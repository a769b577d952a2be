"""ProximalSplit against gradients worked out by hand for linear f and g with a squared-error loss.

f(x) = A x, g(z) = B z, L = 1/(2N) sum_i ||B A x_i - y_i||^2. With r = X A^T B^T - Y (N x m) and
G = r B (N x k): grad_B L = r^T Z / N, grad_z L = G / N, and

* order 2, D = ||.||^2: grad_A [lam/2 ||beta G / N||^2] = lam beta^2 / N^2 B^T B G^T X
* order 2, D = |.|_1:   grad_A [lam/2 |beta G / N|_1]   = lam beta / (2N) B^T B sign(G)^T X
* order 2, Huber:        grad_A [lam/2 sum h(beta G / N)] = lam beta / (2N) B^T B h'(beta G / N)^T X
* order 1, D of (X A^T - z~) with z~ = Z - beta G / N fixed: lam/2 D'(beta G / N)^T X
  (D' = 2v for l2, sign for l1, h' for Huber)
* order 2 keeping the first-order term (the default), D of (X A^T - z~) with z~ = sg(Z) - beta G / N
  and G a function of A: the sum of the two lines above, lam/2 (D'(v)^T X + beta/N B^T B D'(v)^T X)
  with v = beta G / N; for l2, lam beta (grad_A L + beta/2 grad_A ||grad_z L||^2)

with h' = clip(., -delta, delta). Inner optimizer: SGD, so theta moves by exactly -gamma * gradient.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from iblearn.optim import LARS, DoubleBackwardError, ProximalSplit, split_model
from iblearn.optim.proximal import NonFiniteStepError

ALPHA, GAMMA, BETA, LAM, DELTA = 0.1, 0.05, 3.0, 0.7, 0.01


def linear_problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    y = torch.randn(6, 2, generator=g, dtype=torch.float64)
    f = nn.Linear(4, 3, bias=False).double()
    gnet = nn.Linear(3, 2, bias=False).double()
    with torch.no_grad():
        f.weight.copy_(torch.randn(3, 4, generator=g, dtype=torch.float64))
        gnet.weight.copy_(torch.randn(2, 3, generator=g, dtype=torch.float64))
    return x, y, f, gnet


def split(forward_params, backward_params, inner=torch.optim.SGD, **knobs):
    """ProximalSplit over ``inner`` at the hand-worked rates ALPHA, GAMMA, BETA and LAM; ``knobs`` add
    to them or replace them."""
    rates = {"lr_backward": ALPHA, "lr_forward": GAMMA, "beta": BETA, "lam": LAM}
    return ProximalSplit(forward_params, backward_params, inner, **(rates | knobs))


def expected_step(x, y, a, b, order, constraint, keep_first_order=False):
    n = len(x)
    z = x @ a.T
    r = z @ b.T - y
    grad_b = r.T @ z / n
    big_g = r @ b
    v = BETA * big_g / n  # the substituted step beta * grad_z L
    derivative = {"l2": 2 * v, "l1": torch.sign(v), "huber": v.clamp(-DELTA, DELTA)}[constraint]
    first = LAM / 2 * derivative.T @ x  # through f(x; A) = z
    # chain rule through grad_z L = (X A^T B^T - Y) B / N: dv/dA contributes beta/N * B^T B (.)^T X
    second = LAM / 2 * BETA / n * b.T @ b @ derivative.T @ x
    grad_a = first if order == 1 else second + first if keep_first_order else second
    return a - GAMMA * grad_a, b - ALPHA * grad_b


@pytest.mark.parametrize("order, keep_first_order", [(1, None), (2, False), (2, True)])
@pytest.mark.parametrize("constraint", ["l2", "l1", "huber"])
def test_one_step_matches_the_hand_worked_update(order, keep_first_order, constraint):
    x, y, f, g = linear_problem()
    a_new, b_new = expected_step(
        x, y, f.weight.detach().clone(), g.weight.detach().clone(), order, constraint, bool(keep_first_order)
    )
    opt = split(
        f.parameters(),
        g.parameters(),
        order=order,
        keep_first_order=keep_first_order,
        constraint=constraint,
        huber_delta=DELTA,
    )

    def closure():
        z = f(x)
        return 0.5 * ((g(z) - y) ** 2).sum() / len(x), z

    _, _, f0, g0 = linear_problem()
    with torch.no_grad():
        before = 0.5 * ((g0(f0(x)) - y) ** 2).sum() / len(x)
    loss = opt.step(closure)
    torch.testing.assert_close(f.weight.detach(), a_new)
    torch.testing.assert_close(g.weight.detach(), b_new)
    assert float(loss) == pytest.approx(float(before))  # the loss before the step


def test_l2_second_order_is_eq5_and_first_order_is_scaled_backprop():
    # Eq. (5) written directly: theta -= gamma beta^2 lam/2 grad_theta ||grad_z L||^2.
    x, y, f, g = linear_problem(1)
    a = f.weight.detach().clone().requires_grad_(True)
    z = x @ a.T
    loss = 0.5 * ((z @ g.weight.detach().T - y) ** 2).sum() / len(x)
    (gz,) = torch.autograd.grad(loss, z, create_graph=True)
    (direct,) = torch.autograd.grad(GAMMA * BETA**2 * LAM / 2 * (gz**2).sum(), a, retain_graph=True)
    a_new, _ = expected_step(x, y, f.weight.detach(), g.weight.detach(), 2, "l2")
    torch.testing.assert_close(a.detach() - direct, a_new)
    # The kept reading: theta -= gamma lam beta (grad_theta L + beta/2 grad_theta ||grad_z L||^2).
    (first,) = torch.autograd.grad(loss, a, retain_graph=True)
    (second,) = torch.autograd.grad((gz**2).sum(), a, retain_graph=True)
    a_kept, _ = expected_step(x, y, f.weight.detach(), g.weight.detach(), 2, "l2", keep_first_order=True)
    torch.testing.assert_close(a_kept, a.detach() - GAMMA * LAM * BETA * (first + BETA / 2 * second))
    # Order 1 with l2: theta moves by -gamma lam beta grad_theta L, backprop with a scaled rate.
    (backprop,) = torch.autograd.grad(loss, a)
    a_first, _ = expected_step(x, y, f.weight.detach(), g.weight.detach(), 1, "l2")
    torch.testing.assert_close(a_first, a.detach() - GAMMA * LAM * BETA * backprop)


@pytest.mark.parametrize("order, keep_first_order", [(1, None), (2, False), (2, True)])
def test_a_tuple_bottleneck_sums_the_penalty_over_its_members(order, keep_first_order):
    # A VAE-like split: f gives (mu, s), g sees mu + s * eps with eps fixed. The penalty is the sum over
    # members, so theta's gradient is the sum of the two single-member gradients (eq. 7).
    x, y, _, _ = linear_problem(2)
    torch.manual_seed(0)
    f_mu, f_s, g = nn.Linear(4, 3).double(), nn.Linear(4, 3).double(), nn.Linear(3, 2).double()
    eps = torch.randn(6, 3, dtype=torch.float64)
    nets = [copy.deepcopy(m) for m in (f_mu, f_s, g)]
    opt = split(
        [*f_mu.parameters(), *f_s.parameters()],
        g.parameters(),
        order=order,
        keep_first_order=keep_first_order,
    )

    def closure():
        mu, s = f_mu(x), f_s(x)
        return ((g(mu + s * eps) - y) ** 2).mean(), (mu, s)

    opt.step(closure)
    mu_n, s_n, g_n = nets
    mu, s = mu_n(x), s_n(x)
    loss = ((g_n(mu + s * eps) - y) ** 2).mean()
    g_mu, g_s = torch.autograd.grad(loss, (mu, s), create_graph=True)
    if keep_first_order:  # eq. (7) with mu~ = sg(mu) - beta grad_mu L, likewise sigma~
        penalty = (
            LAM / 2 * ((mu - (mu.detach() - BETA * g_mu)) ** 2).sum()
            + LAM / 2 * ((s - (s.detach() - BETA * g_s)) ** 2).sum()
        )
    elif order == 2:
        penalty = LAM / 2 * ((BETA * g_mu) ** 2).sum() + LAM / 2 * ((BETA * g_s) ** 2).sum()
    else:
        penalty = (
            LAM / 2 * ((mu - (mu - BETA * g_mu).detach()) ** 2).sum()
            + LAM / 2 * ((s - (s - BETA * g_s).detach()) ** 2).sum()
        )
    grads = torch.autograd.grad(penalty, [*mu_n.parameters(), *s_n.parameters()])
    for p_new, p_old, grad in zip(
        [*f_mu.parameters(), *f_s.parameters()], [*mu_n.parameters(), *s_n.parameters()], grads, strict=True
    ):
        torch.testing.assert_close(p_new.detach(), p_old.detach() - GAMMA * grad)


def test_state_dict_round_trip_continues_bit_for_bit():
    x, y, f, g = linear_problem(3)
    f2, g2 = copy.deepcopy(f), copy.deepcopy(g)

    def make(fm, gm):
        return ProximalSplit(
            fm.parameters(), gm.parameters(), torch.optim.Adam, lr_backward=1e-2, lr_forward=1e-2
        )

    def closure_for(fm, gm):
        def closure():
            z = fm(x)
            return ((gm(z) - y) ** 2).mean(), z

        return closure

    opt = make(f, g)
    for _ in range(3):
        opt.step(closure_for(f, g))
    saved = copy.deepcopy(opt.state_dict())
    f2.load_state_dict(f.state_dict())
    g2.load_state_dict(g.state_dict())
    opt2 = make(f2, g2)
    opt2.load_state_dict(saved)
    assert opt2.state_dict()["forward"]["state"][0]["step"] == 3
    for _ in range(3):
        opt.step(closure_for(f, g))
        opt2.step(closure_for(f2, g2))
    assert torch.equal(f.weight, f2.weight) and torch.equal(g.weight, g2.weight)
    # After loading, a scheduler still reaches the inner optimizers.
    sched = torch.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    opt2.step(closure_for(f2, g2))
    sched.step()
    assert opt2.forward_optimizer.param_groups[0]["lr"] == pytest.approx(5e-3)
    assert opt2.backward_optimizer.param_groups[0]["lr"] == pytest.approx(5e-3)


@pytest.mark.parametrize(
    "optimizer",
    [torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.NAdam, torch.optim.RMSprop],
)
def test_works_with_torch_optimizers_and_batch_norm_in_train_mode(optimizer):
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU())
    g = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    opt = ProximalSplit(
        f.parameters(), g.parameters(), optimizer, lr_backward=1e-2, lr_forward=1e-2, beta=1.0
    )
    losses = []
    for _ in range(30):

        def closure():
            z = f(x)
            return nn.functional.cross_entropy(g(z), y), z

        losses.append(float(opt.step(closure)))
    assert losses[-1] < losses[0]
    assert int(f[1].num_batches_tracked) == 30  # one forward per step: BN statistics updated once


def test_adamp_from_its_package():
    adamp = pytest.importorskip("adamp")
    x, y, f, g = linear_problem(4)
    opt = ProximalSplit(f.parameters(), g.parameters(), adamp.AdamP, lr_backward=1e-2, lr_forward=1e-2)
    before = f.weight.detach().clone()

    def closure():
        z = f(x)
        return ((g(z) - y) ** 2).mean(), z

    opt.step(closure)
    assert not torch.equal(before, f.weight)


def test_an_inner_optimizer_whose_lr_is_required_lars():
    # LARS (momentum 0) moves w by lr * eta ||w|| / ||grad|| * grad, grad being what SGD would step by.
    x, y, f, g = linear_problem(6)
    a, b = f.weight.detach().clone(), g.weight.detach().clone()
    a_sgd, b_sgd = expected_step(x, y, a, b, 2, "l2", keep_first_order=True)
    opt = split(f.parameters(), g.parameters(), LARS, momentum=0.0, trust_coefficient=0.1)

    def closure():
        z = f(x)
        return 0.5 * ((g(z) - y) ** 2).sum() / len(x), z

    opt.step(closure)
    for w, w_sgd, new, lr in ((a, a_sgd, f.weight, GAMMA), (b, b_sgd, g.weight, ALPHA)):
        grad = (w - w_sgd) / lr
        torch.testing.assert_close(new.detach(), w - lr * 0.1 * w.norm() / grad.norm() * grad)


def test_one_cycle_lr_cycles_the_inner_betas_as_on_a_plain_optimizer():
    # OneCycleLR reads optimizer.defaults for momentum or betas: the inner optimizer's show through.
    x, y, f, g = linear_problem(7)
    opt = ProximalSplit(f.parameters(), g.parameters(), torch.optim.Adam, lr_backward=1e-2, lr_forward=1e-2)
    plain = torch.optim.Adam(nn.Linear(1, 1).parameters(), lr=1e-2)
    scheds = [torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10) for o in (opt, plain)]
    assert (opt.defaults["betas"], opt.defaults["beta"]) == ((0.9, 0.999), 10.0)  # the wrapper's own beta

    def closure():
        z = f(x)
        return ((g(z) - y) ** 2).mean(), z

    for _ in range(4):
        opt.step(closure)
        plain.step()
        for sched in scheds:
            sched.step()
    expected = plain.param_groups[0]
    for inner in (opt.forward_optimizer, opt.backward_optimizer):
        assert inner.param_groups[0]["lr"] == pytest.approx(expected["lr"])
        assert inner.param_groups[0]["betas"] == pytest.approx(expected["betas"])
    assert expected["betas"][0] < 0.9  # the cycle moved beta1


def test_grad_scaler_gives_the_unscaled_update():
    x, y, f, g = linear_problem(5)
    f2, g2 = copy.deepcopy(f), copy.deepcopy(g)
    plain = split(f.parameters(), g.parameters(), lam=1.0)  # lam: ProximalSplit's default
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    scaled = split(f2.parameters(), g2.parameters(), lam=1.0, grad_scaler=scaler)
    for fm, gm, opt in ((f, g, plain), (f2, g2, scaled)):

        def closure(fm=fm, gm=gm):
            z = fm(x)
            return ((gm(z) - y) ** 2).mean(), z

        opt.step(closure)
    scaler.update()
    torch.testing.assert_close(f2.weight, f.weight)
    torch.testing.assert_close(g2.weight, g.weight)


def test_split_model_by_index_and_by_name():
    model = nn.Sequential()
    for name, layer in [("conv", nn.Linear(3, 4)), ("act", nn.ReLU()), ("fc", nn.Linear(4, 2))]:
        model.add_module(name, layer)
    f, g = split_model(model, "act")
    assert list(dict(f.named_children())) == ["conv", "act"] and list(dict(g.named_children())) == ["fc"]
    f, g = split_model(model, 1)
    x = torch.randn(5, 3)
    torch.testing.assert_close(g(f(x)), model(x))
    assert f.conv is model.conv  # the same modules, not copies
    for at, match in (
        (0, "at least one child on each side"),
        (3, "at least one child"),
        ("pool", "no child named"),
        (1.5, "expected a child index or name"),
    ):
        with pytest.raises(ValueError, match=match):
            split_model(model, at)


def test_errors_name_the_problem():
    x, y, f, g = linear_problem(6)
    opt = ProximalSplit(f.parameters(), g.parameters())
    with pytest.raises(ValueError, match="z: does not require grad"):
        opt.step(lambda: (((g(f(x)) - y) ** 2).mean(), f(x).detach()))
    other = nn.Linear(4, 3).double()

    def not_through_f():
        z = other(x)
        return ((g(z) - y) ** 2).mean(), z

    with pytest.raises(ValueError, match="z: no forward parameter reaches the bottleneck"):
        opt.step(not_through_f)
    with pytest.raises(ValueError, match="closure: ProximalSplit needs closure"):
        opt.step()
    with pytest.raises(
        ValueError, match=r"closure: must return \(loss, z\); .*automatic_optimization = False"
    ):
        opt.step(lambda: ((g(f(x)) - y) ** 2).mean())  # what Lightning's automatic optimization passes
    with pytest.raises(ValueError, match="closure: the loss does not depend on the bottleneck"):
        opt.step(lambda: (((g(f(x)) - y) ** 2).mean(), f(x) * 1.0))

    class Once(torch.autograd.Function):
        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad):
            return grad * 2 * ctx.saved_tensors[0]

        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t**2

    def once_differentiable_loss():
        z = f(x)
        return Once.apply(g(z) - y).mean(), z

    with pytest.raises(DoubleBackwardError, match="not twice differentiable"):
        opt.step(once_differentiable_loss)
    anchors = torch.randn(5, 3, dtype=torch.float64)

    def cdist_loss():
        z = f(x)
        return torch.cdist(g(z)[:, :1].expand(-1, 3).contiguous(), anchors).mean() + z.pow(2).mean(), z

    with pytest.raises(
        DoubleBackwardError, match="'_cdist_backward' between the bottleneck and the loss has no double"
    ):
        opt.step(cdist_loss)
    for kwargs, match in (
        (dict(order=3), "order: expected 1"),
        (dict(constraint="l3"), "constraint: expected"),
        (dict(beta=0), "beta: must be positive"),
        (dict(optimizer=dict), "optimizer: expected"),
    ):
        with pytest.raises(ValueError, match=match):
            ProximalSplit(f.parameters(), g.parameters(), **kwargs)
    with pytest.raises(ValueError, match="share parameters"):
        ProximalSplit(f.parameters(), f.parameters())


def test_settings_that_would_be_ignored_or_fail_later_are_refused():
    f, g = nn.Linear(4, 3), nn.Linear(3, 1)
    for kwargs, match in (
        (dict(lr=0.5), "lr: set the inner learning rates with lr_forward"),
        (dict(params=[]), "params: pass the parameters as forward_params"),
        (dict(lr_forward=float("inf")), "lr_forward: must be positive and finite"),
        (dict(constraint="huber", huber_delta=0.0), "huber_delta: must be positive"),
        (dict(constraint="huber", huber_delta=-1.0), "huber_delta: must be positive"),
        (dict(constraint="huber", huber_delta=float("nan")), "huber_delta: must be positive and finite"),
    ):
        with pytest.raises(ValueError, match=match):
            ProximalSplit(f.parameters(), g.parameters(), torch.optim.SGD, **kwargs)


def test_add_param_group_is_refused():
    f, g, extra = nn.Linear(4, 3), nn.Linear(3, 1), nn.Linear(3, 1)
    opt = ProximalSplit(f.parameters(), g.parameters(), torch.optim.SGD)
    with pytest.raises(ValueError, match="param_group: ProximalSplit steps only its forward and backward"):
        opt.add_param_group({"params": list(extra.parameters()), "lr": 0.1})
    assert len(opt.param_groups) == 2


def test_keep_first_order_is_checked_and_survives_a_state_dict_round_trip():
    f, g = nn.Linear(4, 3), nn.Linear(3, 1)
    for kwargs, match in (
        (dict(order=1, keep_first_order=True), "keep_first_order: applies to order=2 only"),
        (dict(order=1, keep_first_order=False), "keep_first_order: applies to order=2 only"),
        (dict(keep_first_order=1), "keep_first_order: expected True or False"),
        (dict(keep_first_order="no"), "keep_first_order: expected True or False"),
        (dict(order=True), "order: expected 1"),
    ):
        with pytest.raises(ValueError, match=match):
            ProximalSplit(f.parameters(), g.parameters(), **kwargs)
    assert ProximalSplit(f.parameters(), g.parameters()).param_groups[0]["keep_first_order"] is True
    literal = ProximalSplit(f.parameters(), g.parameters(), keep_first_order=False)
    fresh = ProximalSplit(f.parameters(), g.parameters())
    fresh.load_state_dict(literal.state_dict())
    assert fresh.param_groups[0]["keep_first_order"] is False
    assert fresh.forward_optimizer.param_groups[0] is fresh.param_groups[0]
    old = literal.state_dict()  # a state dict saved before the option existed ran the literal eq. (5)
    del old["inner"]  # and recorded no inner optimizer class or shapes
    for part in old.values():
        for group in part["param_groups"]:
            del group["keep_first_order"]
    fresh = ProximalSplit(f.parameters(), g.parameters())
    fresh.load_state_dict(old)
    assert fresh.param_groups[0]["keep_first_order"] is False


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("beta", float("nan"), "beta: must be positive"),
        ("lr", -1.0, "lr: must be positive"),
        ("order", 3, "order or keep_first_order"),
        ("constraint", "l3", "constraint: expected"),
    ],
)
def test_load_state_dict_refuses_settings_the_constructor_would(key, value, match):
    _, _, f, g = linear_problem(8)
    opt = ProximalSplit(f.parameters(), g.parameters())
    state = copy.deepcopy(opt.state_dict())
    state["forward"]["param_groups"][0][key] = value
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(state)
    assert opt.param_groups[0]["beta"] == 10.0 and opt.param_groups[0]["order"] == 2


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e38])
def test_a_non_finite_step_changes_nothing(bad):
    x, y, f, g = linear_problem(9)  # in float32, as a model would be: 1e38 is finite, its gradients not
    x, y, f, g = x.float(), y.float(), f.float(), g.float()
    opt = ProximalSplit(f.parameters(), g.parameters(), torch.optim.Adam, lr_backward=0.1, lr_forward=0.1)

    def closure(scale=1.0):
        z = f(x)
        return scale * ((g(z) - y) ** 2).mean(), z

    opt.step(closure)
    before = [p.detach().clone() for p in (f.weight, g.weight)]
    state = copy.deepcopy(opt.state_dict())
    with pytest.raises(NonFiniteStepError, match=r"closure: .*no parameter changed"):
        opt.step(lambda: closure(bad))
    assert all(torch.equal(a, p) for a, p in zip(before, (f.weight, g.weight), strict=True))
    assert opt.state_dict()["forward"]["state"][0]["step"] == state["forward"]["state"][0]["step"]
    opt.step(closure)  # and training goes on
    assert all(torch.isfinite(p).all() for p in (f.weight, g.weight))


def test_with_a_grad_scaler_a_non_finite_step_is_skipped():
    x, y, f, g = linear_problem(10)
    f, g = f.float(), g.float()
    x, y = x.float(), y.float()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    opt = ProximalSplit(f.parameters(), g.parameters(), torch.optim.SGD, grad_scaler=scaler)
    before = [p.detach().clone() for p in (f.weight, g.weight)]

    def closure():
        z = f(x)
        return ((g(z) - y) ** 2).mean() * float("inf"), z

    opt.step(closure)
    scaler.update()
    assert all(torch.equal(a, p) for a, p in zip(before, (f.weight, g.weight), strict=True))
    assert scaler.get_scale() < 2.0**8  # the scaler saw the overflow and backed off


def test_the_named_phases_compose_to_step_and_let_a_user_clip_between():
    x, y, f, g = linear_problem(11)
    f2, g2 = copy.deepcopy(f), copy.deepcopy(g)
    opts = [ProximalSplit(a.parameters(), b.parameters(), torch.optim.SGD) for a, b in ((f, g), (f2, g2))]

    def closure_for(fm, gm):
        def closure():
            z = fm(x)
            return ((gm(z) - y) ** 2).mean(), z

        return closure

    loss = opts[0].step(closure_for(f, g))
    before = f2.weight.detach().clone()
    assert float(opts[1].compute_gradients(closure_for(f2, g2))) == float(loss)
    assert torch.equal(f2.weight, before)  # nothing moved yet
    opts[1].backward_step()
    opts[1].forward_step()
    assert torch.equal(f.weight, f2.weight) and torch.equal(g.weight, g2.weight)
    opts[1].compute_gradients(closure_for(f2, g2))
    torch.nn.utils.clip_grad_norm_(f2.parameters(), 1e-6)
    opts[1].forward_step()
    assert (f2.weight - f.weight).norm() <= 1e-3 * 1e-6 * 1.0001  # SGD at lr 1e-3 by a clipped gradient


class _SubnormalOutputs(TorchDispatchMode):
    """Records the shape of every operation's floating-point output that holds a subnormal number
    (non-zero, below ``finfo.tiny``): on many CPUs each such number costs a slow microcode assist."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                tiny = torch.finfo(t.dtype).tiny
                if bool(((t != 0) & (t.abs() < tiny)).any()):
                    self.shapes.append(tuple(t.shape))
        return out


def _fitted_mlp():
    """A 784-256-256-256-256-256-10 ReLU network fitted by Adam to one batch of 128 until most rows'
    wrong classes have probabilities far below 1e-10, split after its third layer."""
    torch.manual_seed(0)
    widths = [784, 256, 256, 256, 256, 256, 10]
    layers: list[nn.Module] = []
    for i in range(6):
        layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(60):
        adam.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        adam.step()
    f, g = split_model(model, 6)
    return model, f, g, x, y


@pytest.mark.parametrize("keep_first_order", [True, False])
def test_a_fitted_batch_gives_no_subnormal_beyond_the_losss_own(keep_first_order):
    # A well-fitted row's softmax curvature is tiny, and the second-order term multiplies it by that
    # row's tiny grad_z L: the Hessian-vector product's rows fell below finfo.tiny and stayed there
    # through every layer back to theta (tens of thousands of subnormals a step, which many CPUs
    # handle in slow microcode). Only the loss's own softmax probabilities, which plain backprop meets
    # too, may be subnormal.
    model, f, g, x, y = _fitted_mlp()
    plain = _SubnormalOutputs()
    with plain:
        nn.functional.cross_entropy(model(x), y).backward()
    model.zero_grad()
    assert {(128, 10)} <= set(plain.shapes) <= {(128, 10), (10, 128)}  # the probabilities, transposed
    opt = ProximalSplit(f.parameters(), g.parameters(), beta=10.0, keep_first_order=keep_first_order)

    def closure():
        z = f(x)
        return nn.functional.cross_entropy(g(z), y), z

    step = _SubnormalOutputs()
    with step:
        opt.compute_gradients(closure)
    assert set(step.shapes) <= set(plain.shapes)
    # The same gradient as the penalty written out, up to float32 rounding.
    z = f(x)
    (gz,) = torch.autograd.grad(nn.functional.cross_entropy(g(z), y), z, create_graph=True)
    v = z - z.detach() + 10.0 * gz if keep_first_order else 10.0 * gz
    expected = torch.autograd.grad(0.5 * (v * v).sum(), list(f.parameters()))
    for p, e in zip(f.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, e, rtol=1e-5, atol=1e-6 * float(e.abs().max()))


@pytest.mark.parametrize("order, keep_first_order", [(1, None), (2, True)])
def test_the_first_order_term_is_exact_when_z_is_large_next_to_its_step(order, keep_first_order):
    # z - z~ = beta grad_z L exactly: computed as z - (z - beta grad_z L), it came out rounded to the
    # spacing of the floats near z (1e-3 at z = 1e4 in float32), here an error larger than the step.
    x, y, f, g = linear_problem(6)
    x, y, f, g = x.float(), y.float(), f.float(), g.float()
    big = nn.Linear(4, 3).float()
    with torch.no_grad():
        big.weight.copy_(f.weight)
        big.bias.fill_(1e4)
        g.weight.mul_(1e-3)
    before = big.weight.detach().clone()
    opt = split(big.parameters(), g.parameters(), order=order, keep_first_order=keep_first_order, lam=1.0)

    def loss_of(z):
        return ((g(z - 1e4) - y) ** 2).mean()  # grad_z L about 1e-4

    z = big(x)
    (backprop,) = torch.autograd.grad(loss_of(z), big.weight)
    opt.step(lambda: (lambda z: (loss_of(z), z))(big(x)))
    # l2, lam = 1: theta moves by -gamma beta grad_theta L (and, kept, a second-order term far smaller)
    torch.testing.assert_close(
        big.weight.detach(),
        before - GAMMA * BETA * backprop,
        rtol=0,
        atol=1e-2 * float((GAMMA * BETA * backprop).abs().max()),
    )
    assert float((big.weight.detach() - before).abs().max()) > 0


def test_a_copy_or_a_pickle_steps_its_own_inner_optimizers():
    import pickle

    x, y, f, g = linear_problem(11)
    opt = split(f.parameters(), g.parameters(), torch.optim.Adam)
    opt.step(lambda: (lambda z: (((g(z) - y) ** 2).mean(), z))(f(x)))
    for twin in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert twin.forward_optimizer.param_groups[0] is twin.param_groups[0]
        assert twin.backward_optimizer.param_groups[0] is twin.param_groups[1]
        assert twin.state_dict()["forward"]["state"][0]["step"] == 1
        twin.param_groups[0]["lr"] = 5.0
        assert opt.param_groups[0]["lr"] == GAMMA


def test_a_state_dict_of_another_inner_optimizer_or_other_parameters_is_refused():
    x, y, f, g = linear_problem(12)
    opt = split(f.parameters(), g.parameters(), torch.optim.Adam)
    opt.step(lambda: (lambda z: (((g(z) - y) ** 2).mean(), z))(f(x)))
    state = opt.state_dict()
    with pytest.raises(ValueError, match="state_dict: saved from a ProximalSplit over Adam, not SGD"):
        split(f.parameters(), g.parameters(), torch.optim.SGD).load_state_dict(state)
    wider, head = nn.Linear(4, 5).double(), nn.Linear(5, 2).double()
    with pytest.raises(ValueError, match=r"state_dict: its forward parameters have shapes \[\[3, 4\]\]"):
        split(wider.parameters(), head.parameters(), torch.optim.Adam).load_state_dict(state)
    older = {k: state[k] for k in ("wrapper", "forward", "backward")}  # saved without the two checks
    split(f.parameters(), g.parameters(), torch.optim.Adam).load_state_dict(older)
    for bad in (None, [1], "state"):
        with pytest.raises(ValueError, match="state_dict: not a ProximalSplit state dict"):
            opt.load_state_dict(bad)


def test_parameters_and_closures_it_cannot_step_are_refused_by_name():
    x, y, f, g = linear_problem(13)
    params = list(g.parameters())
    for forward, match in (
        (f, "forward_params: expected an iterable of parameters"),
        (f.weight, "forward_params: expected an iterable of parameters"),
        ([{"params": f.parameters()}], "forward_params: expected parameters, got a dict"),
        ([f.weight, f.weight], "forward_params: holds a parameter twice"),
        (nn.Linear(4, 3, device="meta").parameters(), "forward_params: on the meta device"),
    ):
        with pytest.raises(ValueError, match=match):
            ProximalSplit(forward, params)
    with pytest.raises(ValueError, match="optimizer: LBFGS steps only with a closure"):
        ProximalSplit(f.parameters(), params, torch.optim.LBFGS)
    with pytest.raises(ValueError, match="beta: must be positive"):
        ProximalSplit(f.parameters(), params, beta=True)
    opt = ProximalSplit(f.parameters(), params)
    for closure, match in (
        (lambda: (torch.tensor(1.0), f(x)), "closure: the loss does not require grad"),
        (lambda: (torch.tensor(1), f(x)), "closure: the loss must be a real floating-point scalar"),
        (lambda: ((g(f(x)) - y).pow(2).mean().to(torch.complex128), f(x)), "must be a real floating"),
        (lambda: ((g(f(x)) - y).pow(2).mean(), 3), "z: must be a tensor or a tuple of tensors"),
    ):
        with pytest.raises(ValueError, match=match):
            opt.step(closure)


@pytest.mark.parametrize("keep_first_order", [True, False])
def test_a_member_whose_gradient_is_constant_adds_its_first_order_term_only(keep_first_order):
    # A tuple bottleneck whose second member enters the loss linearly (an L1-like or linear term): its
    # grad_z L is a constant, outside the graph, so it adds nothing to eq. (7)'s second-order part,
    # and with keep_first_order its first-order part lam beta grad_theta L still moves theta.
    x, y, _, _ = linear_problem(14)
    torch.manual_seed(0)
    f_mu, f_s, g = nn.Linear(4, 3).double(), nn.Linear(4, 3).double(), nn.Linear(3, 2).double()
    s_before = f_s.weight.detach().clone()
    opt = split([*f_mu.parameters(), *f_s.parameters()], g.parameters(), keep_first_order=keep_first_order)

    def closure():
        mu, s = f_mu(x), f_s(x)
        return ((g(mu) - y) ** 2).mean() + s.sum() / len(x), (mu, s)

    opt.step(closure)
    # grad_s L = 1/N everywhere: with the first-order term, s's weights move by gamma lam beta / N x^T 1
    expected = s_before - GAMMA * LAM * BETA * x.sum(0) / len(x) if keep_first_order else s_before
    torch.testing.assert_close(f_s.weight.detach(), expected.expand_as(s_before))


def test_a_closure_that_calls_backward_itself_is_refused_by_name():
    x, y, f, g = linear_problem(15)
    opt = split(f.parameters(), g.parameters())

    def closure():  # the usual torch closure: but ProximalSplit differentiates the loss itself
        opt.zero_grad()
        z = f(x)
        loss = ((g(z) - y) ** 2).mean()
        loss.backward()
        return loss, z

    before = f.weight.detach().clone()
    with pytest.raises(ValueError, match=r"closure: .*backward\(\)"):
        opt.step(closure)
    assert torch.equal(f.weight, before)
