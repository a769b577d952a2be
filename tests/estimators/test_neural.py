"""Trainable estimators: each reaches the truth of a low-dimensional task in about a second, reports
what it is, trains from tensors or a DataLoader, round-trips its state, and fails loudly.

Tolerance: at this configuration (N = 3,000, 300 steps, one hidden layer of 64) all five estimators
measured 0.397-0.399 with sd 0.017-0.019 over 5 seeds on the bivariate normal (truth 0.4133).
"""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from iblearn.data import bivariate_normal
from iblearn.estimators import (
    AAMINE,
    DIM,
    JS,
    MINE,
    NWJ,
    ConcatCritic,
    CriticDivergedError,
    InfoNCE,
    MINEf,
    get_estimator,
    neural,
)
from iblearn.estimators.neural import derangements
from iblearn.functional.bounds import dv_bound, infonce_bound, log_mean_exp, nwj_bound

# Bounds of critics that never trained, read on purpose (how a bound is computed, agrees, or is judged,
# not what it estimates): the warning that such an estimate says nothing of the data is expected.
pytestmark = pytest.mark.filterwarnings("ignore:.*taken no training step:UserWarning")

TASK = bivariate_normal()
CLASSES = [MINE, MINEf, NWJ, JS, InfoNCE]


@pytest.fixture(scope="module")
def data():
    x, y = TASK.sample(3000, seed=0)
    xt, yt = TASK.sample(2000, seed=1)
    return x.float(), y.float(), xt.float(), yt.float()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_reaches_the_truth_and_reports_a_lower_bound(cls, data):
    x, y, xt, yt = data
    est = cls(1, 1, hidden=(64,), lr=3e-3).fit(x, y, steps=300, batch_size=256)
    result = est(xt, yt)
    assert float(result) == pytest.approx(TASK.mutual_information, abs=0.08)
    assert result.bound == "lower" and result.estimator == cls.name
    assert cls.trainable and cls.differentiable
    assert int(est.steps_done) == 300


def test_infonce_says_its_ceiling():
    """A critic that scores 0 on joint pairs and -100 x distance^2 elsewhere reaches the ceiling: the
    estimate is log B, B the evaluation batch (and never above it)."""

    class Oracle(nn.Module):
        separable = True

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(()))

        def forward(self, a, b):
            return -100 * self.w * ((a - b) ** 2).sum(dim=1)

        def pairwise(self, a, b):
            return -100 * self.w * torch.cdist(a, b) ** 2

    x = torch.arange(256.0)[:, None]  # distinct points 1 apart: every negative scores <= -100
    result = InfoNCE(critic=Oracle(), eval_batch_size=128, clip=None)(x, x)
    assert result.limit == pytest.approx(math.log(128))
    assert float(result) == pytest.approx(math.log(128), abs=1e-5)
    assert float(result) <= result.limit + 1e-6
    whole = InfoNCE(critic=Oracle(), eval_batch_size=1024, clip=None)(x, x)
    assert whole.limit == pytest.approx(math.log(256))
    assert float(whole) == pytest.approx(math.log(256), abs=1e-5)
    # The default clip (5) bounds the negatives' scores at -5: log B - log(1 + (B - 1) e^-5) at most.
    clipped = InfoNCE(critic=Oracle(), eval_batch_size=128)(x, x)
    assert float(clipped) == pytest.approx(math.log(128) - math.log1p(127 * math.exp(-5)), abs=1e-5)


def test_the_estimate_is_kept_apart_from_the_training_loss(data):
    x, y, _, _ = data
    est = MINE(1, 1, hidden=(32,), lr=3e-3).fit(x, y, steps=50)
    assert float(est.loss(x[:256], y[:256]).detach()) != pytest.approx(
        -float(est.batch_mi(x[:256], y[:256]).detach()), abs=1e-3
    )
    a, b = float(est(x, y)), float(est(x, y))
    assert a == b  # the reported estimate is reproducible: fixed negatives


def test_mines_gradient_is_bias_corrected_by_the_moving_average(data):
    """d/dtheta of the training objective = E_P[grad T] - E_Q[grad T e^T] / EMA (MINE, Sec. 3.2), with
    the EMA of E_Q[e^T] in place of the batch's own mean (the plain DV gradient divides by that)."""
    x, y, _, _ = data
    est = MINE(1, 1, hidden=(8,), rate=0.1, average=None)
    est.objective(x[:64], y[:64])  # starts the moving average
    with torch.no_grad():
        est.log_ema.fill_(0.5)
    state = est.trainer.shuffles.get_state()
    objective = est.objective(x[:64], y[:64])
    ema = float(est.log_ema)  # 0.5 moved by one step toward this batch
    est.trainer.shuffles.set_state(state)
    joint, marginal = est._scores(x[:64], y[:64], 1, est.trainer.shuffles)
    reference = joint.mean() - marginal.exp().mean() / math.exp(ema)
    params = list(est.critic.parameters())
    expected = torch.autograd.grad(reference, params)
    for a, b in zip(torch.autograd.grad(objective, params), expected, strict=True):
        torch.testing.assert_close(a, b)
    assert ema != pytest.approx(float(torch.logsumexp(marginal.detach(), 0) - math.log(64)), abs=1e-3)


def test_the_estimate_does_not_depend_on_the_order_of_the_rows(data):
    """Negatives come from within an evaluation batch: with rows sorted by y, batches cut in file order
    re-paired each x with a y of about its own value (MINE -0.18 nats for 0.41)."""
    x, y, xt, yt = data
    for est in (MINE(1, 1, hidden=(32,), lr=3e-3), InfoNCE(1, 1, hidden=(32,), lr=3e-3)):
        est.fit(x, y, steps=150)
        order = yt[:, 0].argsort()
        shuffled, sorted_ = float(est(xt, yt)), float(est(xt[order], yt[order]))
        assert shuffled > 0.2 and sorted_ == pytest.approx(shuffled, abs=0.03), (shuffled, sorted_)


def test_evaluation_batches_cover_every_row_in_batches_of_two_or_more():
    est = MINE(1, 1, eval_batch_size=1024)
    for n, size in ((2049, 1024), (7, 2), (3, 2), (2, 1024)):
        est.eval_batch_size = size
        parts = est._eval_parts(torch.empty(n))
        assert torch.equal(torch.cat(parts).sort().values, torch.arange(n))
        assert min(map(len, parts)) >= 2 and (max(map(len, parts)) <= size or n % 2)


def test_a_dataloader_is_passed_over_afresh_each_time():
    loader = DataLoader(torch.arange(8.0), batch_size=4, shuffle=True)
    batches = [b.tolist() for b, _ in zip(neural.passes(loader), range(6), strict=False)]
    assert batches[:2] != batches[2:4] or batches[2:4] != batches[4:6]  # itertools.cycle replayed pass 1


def test_a_lazy_critics_average_stays_frozen_after_loading(data):
    x, y, xt, yt = data
    est = MINE(hidden=(8,)).fit(x, y, steps=3, batch_size=64)
    again = MINE(hidden=(8,))
    again.load_state_dict(est.state_dict())
    assert not any(p.requires_grad for p in again.averaged.parameters())
    rep = xt[:64].clone().requires_grad_(True)
    again(rep, yt[:64]).value.backward()
    assert all(p.grad is None for p in again.averaged.parameters())


def test_mines_running_denominator_stays_float64_when_the_estimator_is_cast(data):
    x, y, _, _ = data
    est = MINE(1, 1, hidden=(8,)).fit(x, y, steps=3, batch_size=64)
    value = float(est.log_ema)
    est.to(torch.bfloat16)
    assert est.log_ema.dtype == torch.float64 and float(est.log_ema) == value
    est.fit(x.bfloat16(), y.bfloat16(), steps=2, batch_size=64)
    assert est.log_ema.dtype == torch.float64


def test_the_estimate_holds_a_graph_only_when_the_inputs_ask_for_gradients(data):
    x, y, _, _ = data
    est = MINE(1, 1, hidden=(32,)).fit(x, y, steps=20)
    assert est(x, y).value.grad_fn is None  # no graph through the critic over the whole data set
    rep = x[:512].clone().requires_grad_(True)
    est(rep, y[:512]).value.backward()
    assert rep.grad is not None and bool(rep.grad.abs().sum() > 0)


def test_bound_is_differentiable_with_respect_to_the_representation(data):
    x, y, _, _ = data
    est = MINE(1, 1, hidden=(32,)).fit(x, y, steps=20)
    rep = x[:128].clone().requires_grad_(True)
    est.batch_mi(rep, y[:128]).backward()
    assert rep.grad is not None and bool(rep.grad.abs().sum() > 0)


def test_labels_are_one_hot_encoded(data):
    x, _, _, _ = data
    labels = (x[:, 0] > 0).long() + (x[:, 0] > 1).long()  # 3 classes, a function of x
    est = MINE(1, y_classes=3, hidden=(32,), lr=3e-3).fit(x, labels, steps=300)
    h = -sum(p * math.log(p) for p in torch.bincount(labels).float().div(len(labels)).tolist())
    assert 0.5 * h < float(est(x, labels)) <= h + 0.1  # I(X; f(X)) = H(f(X))
    with pytest.raises(ValueError, match="y: labels must lie in"):
        est(x, labels + 3)
    with pytest.raises(ValueError, match="y: integer labels need y_classes"):
        MINE(1, 3)(x, labels)


class OneWeight(nn.Module):
    """A critic of one parameter ``w`` (initially ``w0``) scoring pairs as ``score(w, a, b)``."""

    def __init__(self, score, w0) -> None:
        super().__init__()
        self.w = nn.Parameter(w0)
        self.score = score

    def forward(self, a, b):
        return self.score(self.w, a, b)


class PairCritic(nn.Module):
    """A user's critic with no ``all_pairs`` method, and a submodule of that name: scored pair by pair."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Bilinear(3, 5, 1)
        self.all_pairs = nn.Identity()  # not a fast path: would fail if called as all_pairs(x, y)

    def forward(self, a, b):
        return self.net(a, b).squeeze(1)


@pytest.mark.parametrize("cls", [MINE, NWJ])
@pytest.mark.parametrize("critic", ["eager", "lazy", "user"])
def test_class_labels_sum_the_marginal_over_every_other_sample_exactly(cls, critic):
    # For labels, the marginal term is the mean over all N (N - 1) off-diagonal pairs, by brute force here.
    torch.manual_seed(0)
    x, labels = torch.randn(13, 3), torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 3, 3])
    kind = {"eager": {"x_dim": 3}, "lazy": {}, "user": {"critic": PairCritic()}}[critic]
    est = cls(**kind, y_classes=5, hidden=(8,))  # class 4 absent: weight 0
    joint, marginal = est._scores(*est._inputs(x, labels), 1, None)
    onehot = nn.functional.one_hot(labels, 5).float()
    torch.testing.assert_close(joint, est.critic(x, onehot))
    i, j = torch.meshgrid(torch.arange(13), torch.arange(13), indexing="ij")
    off = i != j
    brute = est.critic(x[i[off]], onehot[j[off]])
    assert marginal.shape == (13 * 5,)
    torch.testing.assert_close(log_mean_exp(marginal), log_mean_exp(brute))
    expected = dv_bound(joint, brute) if cls is MINE else nwj_bound(joint, brute)
    torch.testing.assert_close(est.batch_mi(x, labels), expected)


def test_class_weights_are_not_rounded_to_a_half_precision_critics_dtype():
    # bfloat16 weights (rows summing to 1.001) moved the marginal term by 0.01 nats at N = 1,000
    torch.manual_seed(0)
    est = MINE(3, y_classes=2, hidden=(8,)).to(torch.bfloat16)
    with torch.no_grad():
        est.critic.net[-1].bias.fill_(8.0)  # scores of several nats, as a trained critic gives
    labels = torch.randint(0, 2, (1000,))
    labels[:333] = 0
    xt, yt = est._inputs(torch.randn(1000, 3), labels)
    with torch.no_grad():
        _, marginal = est._scores(xt, yt, 1, None)
        pairs, onehot = est.critic.all_pairs(xt, torch.eye(2, dtype=yt.dtype)).double(), yt.double()
    weights = (onehot.sum(0) - onehot) / 999
    exact = torch.logsumexp((pairs + weights.log()).flatten(), 0) - math.log(1000)
    assert float(log_mean_exp(marginal)) == pytest.approx(float(exact), abs=1e-5)


def test_js_re_pairs_labels_and_float_labels_are_refused():
    x, labels = torch.randn(10, 2), torch.arange(10) % 3
    js = JS(2, y_classes=3, hidden=(8,))  # softplus of the marginal: a log weight is no weight there
    assert js._scores(*js._inputs(x, labels), 2, torch.Generator())[1].shape == (20,)
    with pytest.raises(ValueError, match="y: with y_classes set, y must hold integer class labels"):
        MINE(2, y_classes=3)(x, labels.float())


def test_fit_from_a_dataloader_and_state_dict_round_trip(data):
    x, y, xt, yt = data
    loader = DataLoader(TensorDataset(x, y), batch_size=200, shuffle=True)
    est = NWJ(1, 1, hidden=(32,), lr=3e-3).fit(loader, steps=40)
    copy = NWJ(1, 1, hidden=(32,), seed=123)
    copy.load_state_dict(est.state_dict())
    assert float(copy(xt, yt)) == float(est(xt, yt))
    assert int(copy.steps_done) == 40


@pytest.mark.parametrize("dims", [(1, 1), ()], ids=["eager", "lazy"])
def test_state_dict_resumes_training_bit_for_bit(data, dims):
    """N steps, a weights-only checkpoint, M more steps in a fresh estimator: the same critic (and
    moving average) as N + M steps uninterrupted, so Adam's moments and the negatives' generator travel.
    Lazy: a loaded critic that has not run yet takes the same (re-pairing) path as the live one."""
    x, y, _, _ = data
    batches = [(x[i : i + 128], y[i : i + 128]) for i in range(0, 128 * 8, 128)]
    whole = MINE(*dims, hidden=(16,), lr=3e-3)
    for xb, yb in batches[:5]:
        whole.train_step(xb, yb)
    buf = io.BytesIO()
    torch.save(whole.state_dict(), buf)
    for xb, yb in batches[5:]:
        whole.train_step(xb, yb)
    buf.seek(0)
    resumed = MINE(*dims, hidden=(16,), lr=3e-3, seed=7)
    with torch.serialization.safe_globals([nn.parameter.UninitializedParameter]):
        resumed.load_state_dict(torch.load(buf, weights_only=True))
    for xb, yb in batches[5:]:
        resumed.train_step(xb, yb)
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), name
    assert int(resumed.steps_done) == 8 and not torch.isnan(resumed.log_ema)


def test_a_checkpoint_from_before_the_averaging_loads_and_reports_what_it_reported(data):
    """No ``averaged.*`` keys and no ``_extra_state`` (older checkpoints): the average starts from the
    saved critic, so the estimate is the one the saved estimator gave; training goes on."""
    x, y, xt, yt = data
    old = MINE(1, 1, hidden=(16,), lr=3e-3, average=None).fit(x, y, steps=20, batch_size=128)
    state = {k: v for k, v in old.state_dict().items() if k != "_extra_state"}
    new = MINE(1, 1, hidden=(16,), lr=3e-3, seed=5)
    new.load_state_dict(state)
    assert float(new(xt, yt)) == float(old(xt, yt))
    assert not any(p.requires_grad for p in new.averaged.parameters())
    new.fit(x, y, steps=3, batch_size=128, seed=1)
    assert int(new.steps_done) == 23


def test_moving_a_trained_estimator_to_another_dtype_keeps_its_adam_moments(data):
    """``.double()`` after training, then more steps: the same as reloading the checkpoint into a
    float64 estimator (Adam's moments cast with the parameters; fused Adam refused the mix)."""
    x, y, xt, yt = data
    moved, saved = (NWJ(1, 1, hidden=(8,), lr=3e-3).fit(x, y, steps=5, batch_size=128) for _ in range(2))
    reloaded = NWJ(1, 1, hidden=(8,), lr=3e-3).double()
    reloaded.load_state_dict(saved.state_dict())
    for est in (moved.double(), reloaded):
        est.fit(x.double(), y.double(), steps=2, batch_size=128, seed=1)
    assert moved.critic.net[0].weight.dtype == torch.float64
    assert float(moved(xt.double(), yt.double())) == float(reloaded(xt.double(), yt.double()))


def test_the_estimate_uses_the_exponential_average_of_the_critics_weights(data):
    """a_1 = w_1, a_t = a_{t-1} + r (w_t - a_{t-1}) over train_step's weights w_t; est reports with a,
    and training (loss, batch_mi, the weights themselves) is the same as without averaging."""
    x, y, xt, yt = data
    rate = 0.3
    est, plain = (
        MINE(1, 1, hidden=(8,), lr=1e-2, average=rate),
        MINE(1, 1, hidden=(8,), lr=1e-2, average=None),
    )
    assert float(est(xt, yt)) == float(plain(xt, yt))  # before any step: the live critic
    expected = None
    for i in range(4):
        xb, yb = x[i * 128 : (i + 1) * 128], y[i * 128 : (i + 1) * 128]
        est.train_step(xb, yb)
        plain.train_step(xb, yb)
        w = [p.detach().clone() for p in est.critic.parameters()]
        expected = w if expected is None else [a + rate * (b - a) for a, b in zip(expected, w, strict=True)]
    for a, b in zip(est.averaged.parameters(), expected, strict=True):
        torch.testing.assert_close(a, b)
        assert not a.requires_grad
    assert all(
        torch.equal(a, b) for a, b in zip(est.critic.parameters(), plain.critic.parameters(), strict=True)
    )
    assert float(est.batch_mi(xt, yt).detach()) == float(plain.batch_mi(xt, yt).detach())  # live critic
    swapped = MINE(1, 1, hidden=(8,), average=None)
    swapped.critic.load_state_dict(est.averaged.state_dict())
    assert float(est(xt, yt)) == float(swapped(xt, yt)) != float(plain(xt, yt))
    assert est.critic is not est.averaged  # put back after the estimate


def test_averaging_at_rate_one_is_the_last_iterate_and_settings_keep_it(data):
    x, y, xt, yt = data
    a = InfoNCE(1, 1, hidden=(8,), average=1.0).fit(x, y, steps=5, batch_size=64)
    b = InfoNCE(1, 1, hidden=(8,), average=None).fit(x, y, steps=5, batch_size=64)
    assert float(a(xt, yt)) == float(b(xt, yt))
    for est in (a, b, MINE(1, 1), AAMINE(nn.Linear(1, 1), 0.1, average=None)):
        assert (
            type(est)(**{k: v for k, v in est.settings().items()}, **_subnet(est)).settings()
            == est.settings()
        )
        assert est.settings()["average"] == est.average


def _subnet(est):
    return {"subnet": est.subnet} if isinstance(est, AAMINE) else {}


def test_inputs_are_cast_to_the_critics_dtype(data):
    """numpy's float64 (the common case) and float16 reach a float32 critic."""
    x, y, _, _ = data
    est = MINE(1, 1, hidden=(16,))
    reference = float(est(x[:256], y[:256]))
    assert float(est(x[:256].numpy().astype("float64"), y[:256].numpy().astype("float64"))) == reference
    assert float(est(x[:256].double(), y[:256].double())) == reference
    assert float(est(x[:256].half(), y[:256].half())) == pytest.approx(reference, abs=1e-2)
    est.fit(x.double().numpy(), y.double().numpy(), steps=2)
    assert float(InfoNCE(1, 1, hidden=(16,))(x[:256].double(), y[:256].double())) < math.log(256)
    aa = AAMINE(nn.Sequential(nn.Linear(1, 2), nn.Tanh()), 0.1, hidden=(8,))
    assert math.isfinite(float(aa(x[:256].double())))


SUBNET = nn.Linear(1, 2)


@pytest.mark.parametrize(
    ("make", "args"),
    [
        (lambda: MINE(hidden=(8,)), (torch.randn(16, 1), torch.randn(16, 1))),
        (lambda: InfoNCE(hidden=(8,)), (torch.randn(16, 1), torch.randn(16, 1))),
        (lambda: DIM(hidden=8, embed_dim=4), (torch.randn(16, 2, 3, 3), torch.randn(16, 1, 3, 3))),
        (lambda: AAMINE(SUBNET, 0.1, hidden=(8,)), (torch.randn(16, 1),)),
    ],
    ids=["mine", "infonce", "dim", "aamine"],
)
def test_seed_fixes_lazily_built_critics(make, args):
    """Lazy layers draw their weights at the first call: from ``seed``, whatever the global RNG did."""
    critics = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        est = make()
        torch.randn(100)  # the global RNG moves on between construction and first use
        est(*args)
        critics.append(est.critic.state_dict())
    used = [k for k, a in critics[0].items() if not nn.parameter.is_lazy(a)]  # DIM: psi_vec unused
    assert used and all(torch.equal(critics[0][k], critics[1][k]) for k in used)
    torch.manual_seed(3)
    state = torch.get_rng_state()
    make()(*args)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left as it was


def test_lazy_critics_materialize_under_a_fork_rng_that_parses_its_device_type(monkeypatch):
    """torch before 2.13 parses ``fork_rng``'s device type whatever the devices (its default "cuda";
    None raised TypeError): every lazy critic names one, and draws the weights it drew before."""
    real = torch.random.fork_rng

    def older_fork_rng(devices=None, enabled=True, device_type="cuda"):
        torch.device(device_type)  # what torch 2.11 does first
        return real(devices, enabled, device_type=device_type)

    made = AAMINE(SUBNET, 0.1, hidden=(8,), seed=4)
    x = torch.randn(16, 1, generator=torch.Generator().manual_seed(0))
    expected = float(made(x))
    monkeypatch.setattr(torch.random, "fork_rng", older_fork_rng)
    assert float(AAMINE(SUBNET, 0.1, hidden=(8,), seed=4)(x)) == expected


def test_a_diverged_critic_raises_from_every_output(data):
    x, y, _, _ = data

    def poisoned(est):
        est.fit(x, y, steps=2, batch_size=64)
        with torch.no_grad():
            for p in [*est.critic.parameters(), *est.averaged.parameters()]:
                p.fill_(float("nan"))
        return est

    for est in (poisoned(MINE(1, 1, hidden=(8,))), poisoned(InfoNCE(1, 1, hidden=(8,)))):
        for call in (est.batch_mi, est.loss, est):
            with pytest.raises(CriticDivergedError, match="is nan after 2 training steps"):
                call(x[:64], y[:64])
    g = torch.Generator().manual_seed(0)
    img = torch.randn(32, 1, 4, 4, generator=g)
    fmap = img.repeat(1, 2, 1, 1)
    dim = DIM(hidden=8, embed_dim=4).fit(fmap, img, steps=2, batch_size=16)
    with torch.no_grad():
        for p in dim.critic.parameters():
            if not nn.parameter.is_lazy(p):  # psi_vec: unused with a grid y
                p.fill_(float("nan"))
    for call in (dim.batch_mi, dim):
        with pytest.raises(CriticDivergedError, match="after 2 training steps"):
            call(fmap, img)


def test_fit_draws_batches_without_replacement():
    """A row twice in a batch would be its own duplicate's negative: each pass is a permutation."""
    x = torch.arange(10.0)[:, None]
    batches = MINE(1, 1)._batches(x, x, 4, seed=0)
    for _ in range(3):  # passes: two full batches of 4 each (the remaining 2 rows wait for the next)
        a, b = next(batches)[0], next(batches)[0]
        rows = torch.cat([a, b]).flatten().tolist()
        assert len(a) == len(b) == 4 and len(set(rows)) == 8


def test_user_critics_and_the_registry(data):
    x, y, _, _ = data

    bilinear = OneWeight(lambda w, a, b: w * (a * b).sum(dim=1), torch.zeros(1))
    est = get_estimator("mine", critic=bilinear, lr=1e-2).fit(x, y, steps=200)
    assert float(est.critic.w.detach()) > 0 and float(est(x, y)) > 0.1
    for name in ("mine", "mine_f", "nwj", "js", "infonce"):
        assert get_estimator(name, x_dim=1, y_dim=1).name == name


def test_negatives_never_pair_a_sample_with_itself():
    perms = derangements(50, 60, torch.Generator().manual_seed(0))
    assert len(perms) == 49  # n - 1 shifts exist
    pairs = set()
    for perm in perms:
        assert sorted(perm.tolist()) == list(range(50))
        assert not bool((perm == torch.arange(50)).any())
        pairs |= {(i, int(j)) for i, j in enumerate(perm)}
    assert len(pairs) == 49 * 50  # no pair used twice
    with pytest.raises(ValueError, match="at least 2 samples"):
        derangements(1, 1, None)


@pytest.mark.parametrize("cls", [MINE, NWJ, JS])
def test_a_joint_pair_is_never_scored_as_a_negative(cls):
    """A critic that recognizes joint pairs (score 8 there, 0 elsewhere) on y = x: every negative must
    score 0, and DV is then exactly 8. One fixed point among 1,024 negatives would add e^8 / 1024 = 2.9
    to E_Q[e^T] and take the DV estimate down to 6.6."""

    oracle = OneWeight(lambda w, a, b: 8.0 * w * (a == b).all(dim=1).float(), torch.ones(()))
    x = torch.randn(4096, 2)
    # Unclipped: MINE's default clip (5) would cap the oracle's joint score of 8.
    est = cls(critic=oracle, n_negatives=8, **({"clip": None} if cls is MINE else {}))
    joint, marginal = est._scores(x, x, 8, torch.Generator().manual_seed(0))
    assert bool((joint == 8).all()) and bool((marginal == 0).all())
    if cls is MINE:
        assert float(est(x, x)) == pytest.approx(8.0, abs=1e-5)


def _aa_critic():
    from iblearn.estimators.neural.aamine import ArchitectureAwareCritic

    critic = ArchitectureAwareCritic(nn.Sequential(nn.Linear(5, 3), nn.Tanh()), (16,))
    critic(torch.randn(2, 5), torch.randn(2, 3))  # materializes the lazy head
    return critic


@pytest.mark.parametrize("make", [lambda: ConcatCritic(5, 3, (16, 16)), _aa_critic], ids=["concat", "aamine"])
def test_repaired_critics_give_the_scores_and_gradients_of_pair_by_pair_calls(make):
    """ConcatCritic shares its first layer across pairings, AA-MINE's critic its copy of the sub-net."""
    torch.manual_seed(0)
    critic = make()
    x, y = torch.randn(10, 5), torch.randn(10, 3)
    perms = [torch.randperm(10), torch.randperm(10)]
    joint, marginal = critic.repaired(x, y, perms)
    expected = torch.cat([critic(x, y)] + [critic(x, y[p]) for p in perms])
    assert torch.allclose(torch.cat([joint, marginal]), expected, atol=1e-6)
    grads = torch.autograd.grad((joint.sum() - marginal.exp().mean()), list(critic.parameters()))
    reference = torch.autograd.grad(
        (expected[:10].sum() - expected[10:].exp().mean()), list(critic.parameters())
    )
    assert all(torch.allclose(g, r, atol=1e-6) for g, r in zip(grads, reference, strict=True))


@pytest.mark.parametrize("lazy", [False, True])
def test_concat_all_pairs_gives_the_score_of_every_pairing(lazy):
    torch.manual_seed(0)
    critic = ConcatCritic(None if lazy else 5, None if lazy else 3, (16, 16))
    x, y = torch.randn(4, 5), torch.randn(7, 3)
    scores = critic.all_pairs(x, y)  # a lazy first layer is materialized by the call
    i, j = torch.meshgrid(torch.arange(4), torch.arange(7), indexing="ij")
    torch.testing.assert_close(scores, critic(x[i.flatten()], y[j.flatten()]).reshape(4, 7))
    est = InfoNCE(critic=critic, clip=None)
    torch.testing.assert_close(est.batch_mi(x[:4], y[:4]), infonce_bound(scores[:, :4]))


def test_a_diverging_critic_raises_with_the_step(data):
    x, y, _, _ = data

    calls = []

    def exploding(w, a, b):
        """Fine for one training step (two calls: joint and shuffled pairs), NaN from then on."""
        calls.append(1)
        return w * (a * b).sum(dim=1) * (float("nan") if len(calls) > 2 else 1.0)

    est = MINE(critic=OneWeight(exploding, torch.ones(1)), lr=0.5)
    with pytest.raises(CriticDivergedError, match="at training step 2"):
        est.fit(x, y, steps=5)
    with pytest.raises(CriticDivergedError, match="the critic has diverged"):
        est(x, y)


def _critic_on_meta(est):
    est.critic.to("meta")
    return est


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x, y: MINE(1, 1)(x[:10], y[:11]), "sample counts differ"),
        (lambda x, y: MINE(1, 1, average=0), r"average: a moving-average rate must lie in \(0, 1\]"),
        (lambda x, y: MINE(1, 1, average=True), "average: "),
        (lambda x, y: MINE(1, 1)(x[:, 0].long(), y), "x: expected continuous samples"),
        (lambda x, y: MINE(1, 1, lr=0), "lr: must be a positive"),
        (lambda x, y: MINE(1, 1, eval_batch_size=1), "eval_batch_size: an evaluation batch needs 2"),
        (lambda x, y: MINE(1, 1, rate=0), r"rate: a moving-average rate must lie in \(0, 1\]"),
        (lambda x, y: MINE(1, 1, objective="kl"), "objective: expected one of"),
        (lambda x, y: MINE(1, 1, critic="deep"), "critic: expected 'concat', 'separable'"),
        (lambda x, y: MINE(1, 1).fit(x, y, steps=0), "steps: expected a positive integer"),
        (lambda x, y: MINE(1, 1).fit(x), "y: needed unless x is an iterable"),
        (lambda x, y: _critic_on_meta(MINE(1, 1))(x, y), "x: is on cpu but the critic is on meta"),
        (lambda x, y: MINE(1, 1)(torch.cat([x, y], 1), y), r"x: the critic takes 1 features .*\(x_dim\)"),
        (lambda x, y: MINE(1, 1)(x[:1], y[:1]), "x: at least 2 samples"),
        (lambda x, y: InfoNCE(1, 1)(x[:1], y[:1]), "x: at least 2 samples"),
        (lambda x, y: get_estimator("nwj", hiden=(64,)), "hiden: not a setting of nwj"),
        (lambda x, y: get_estimator("mine_f", objective="dv"), "objective: not a setting of mine_f"),
    ],
)
def test_bad_input(data, call, match):
    x, y, _, _ = data
    with pytest.raises(ValueError, match=match):
        call(x, y)


@pytest.mark.parametrize("hidden", [(0,), (-3,), (8, 0), (2.5,), 8, ("8",), (True,)])
def test_hidden_widths_are_positive_integers(hidden):
    # hidden=(0,) left the output layer's bias uninitialised memory, and InfoNCE reported log N.
    for cls in (MINE, NWJ, InfoNCE):
        with pytest.raises(ValueError, match="hidden: expected a sequence of positive integer widths"):
            cls(1, 1, hidden=hidden)


@pytest.mark.parametrize(
    ("make", "lr"),
    [
        # Unclipped: clipped scores (MINE's and InfoNCE's default) cannot run away.
        (lambda lr: InfoNCE(1, 1, hidden=(32,), lr=lr, clip=None), 1e8),
        (lambda lr: MINE(1, 1, hidden=(32,), lr=lr, clip=None), 1e6),
    ],
)
def test_a_finite_divergence_is_flagged_with_its_step(data, make, lr):
    # InfoNCE at lr=1e8 reported -7.7e33 nats (or its ceiling), MINE at lr=1e6 -1.8e24: never flagged.
    x, y, _, _ = data
    with pytest.raises(CriticDivergedError, match=r"at training step \d+; lower the learning rate"):
        make(lr).fit(x, y, steps=50, batch_size=500)
    est = make(5e-4).fit(x, y, steps=2, batch_size=500)
    with torch.no_grad():
        for p in [*est.critic.parameters(), *est.averaged.parameters()]:
            p.mul_(1e7)  # finite scores of about 1e20
    for call in (est.batch_mi, est.loss, est):
        with pytest.raises(CriticDivergedError, match=r"beyond 2218.07 nats\) after 2 training steps"):
            call(x[:500], y[:500])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # fit on a 0-d value ended in an IndexError, on N = 0 in range()'s error.
        (
            lambda: MINE(1, 1, hidden=(8,)).fit(torch.tensor(1.0), torch.tensor(2.0), steps=1),
            "x: expected samples",
        ),
        (lambda: MINE(1, 1, hidden=(8,)).fit(torch.zeros(0, 1), torch.zeros(0, 1), steps=1), "x: at least 2"),
        (
            lambda: MINE(1, 1, hidden=(8,)).fit(torch.zeros(9, 1), torch.zeros(9, 1), seed="0"),
            "seed: expected",
        ),
        (lambda: MINE(1, 1, hidden=(8,)).fit(torch.zeros(9, 1).numpy()), "y: needed unless x is an iterable"),
        (lambda: MINE(1, 1, seed=1.5), "seed: expected an integer seed"),
        (lambda: InfoNCE(1, 1, seed="a"), "seed: expected an integer seed"),
        (lambda: MINE(1, y_classes=0), "y_classes: expected a positive integer"),
        (lambda: NWJ(1, y_classes=-1), "y_classes: expected a positive integer"),
        (lambda: InfoNCE(1, y_classes=True), "y_classes: expected a positive integer"),
        (lambda: DIM(embed_dim=0), "embed_dim: expected a positive integer"),
        (lambda: DIM(hidden=0), "hidden: expected a positive integer"),
        (
            lambda: MINE(1, 1, hidden=(8,))(torch.zeros(9, 1, device="meta"), torch.zeros(9, 1)),
            "x: is on the meta",
        ),
    ],
)
def test_neural_settings_and_inputs_are_checked_and_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
