"""DIM on grids, DGI and GMI on graphs: dependence is found, independence is not, inputs are checked."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from iblearn.estimators import DGI, DIM, GMI, as_graph
from iblearn.records import RunFolder

# Bounds of critics that never trained, read on purpose (how a bound is computed, agrees, or is judged,
# not what it estimates): the warning that such an estimate says nothing of the data is expected.
pytestmark = pytest.mark.filterwarnings("ignore:.*taken no training step:UserWarning")


@pytest.fixture(scope="module")
def grids():
    g = torch.Generator().manual_seed(0)
    image = torch.randn(384, 1, 8, 8, generator=g)
    conv = nn.Conv2d(1, 4, 3, padding=1)
    with torch.no_grad():
        fmap = torch.relu(conv(image))
    return image, fmap, torch.randn(384, 1, 8, 8, generator=g)


def test_local_dim_between_grids(grids):
    image, fmap, unrelated = grids
    dep = DIM(hidden=32, embed_dim=16, lr=2e-3).fit(fmap, image, steps=150, batch_size=64)
    ind = DIM(hidden=32, embed_dim=16, lr=2e-3).fit(fmap, unrelated, steps=150, batch_size=64)
    a, b = dep(fmap, image), ind(fmap, unrelated)
    assert float(a) > 1.0 and abs(float(b)) < 0.1
    assert a.limit == pytest.approx(math.log(192)) and float(a) <= a.limit  # 384 rows: 2 batches of 192


@pytest.mark.parametrize(
    ("mode", "objective"), [("local", "infonce"), ("global", "js"), ("global", "infonce")]
)
def test_dim_with_a_global_vector(mode, objective):
    g = torch.Generator().manual_seed(1)
    y = torch.randn(256, 4, generator=g)
    x = 0.5 * torch.randn(256, 3, 5, 5, generator=g) + y[:, :3, None, None]
    est = DIM(mode=mode, objective=objective, hidden=32, embed_dim=16, lr=2e-3).fit(
        x, y, steps=150, batch_size=64
    )
    value = est(x, y)
    assert float(value) > 0.5
    if objective == "infonce":  # 256 rows: one evaluation batch of 256
        assert value.limit == pytest.approx(math.log(256)) and float(value) <= value.limit
    else:
        assert value.limit is None


def test_global_infonce_is_infonce_on_every_pair_of_the_batch():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(6, 2, 3, 3, generator=g), torch.randn(6, 4, generator=g)
    est = DIM(mode="global", objective="infonce", hidden=8)
    scores = torch.stack(
        [torch.stack([est.critic(x[i : i + 1], y[j : j + 1])[0] for j in range(6)]) for i in range(6)]
    )
    expected = (scores.diagonal() - scores.logsumexp(dim=1)).mean() + math.log(6)
    torch.testing.assert_close(est.batch_mi(x, y), expected)
    torch.testing.assert_close(est.mi(x, y), expected)


def ring(n: int) -> torch.Tensor:
    src = torch.arange(n)
    dst = (src + 1) % n
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(8, 16)

    def forward(self, x, edge_index):
        agg = torch.zeros_like(x).index_add(0, edge_index[1], x[edge_index[0]])
        return torch.tanh(self.lin(x + agg))


def test_gmi_finds_the_features_in_the_representation():
    g = torch.Generator().manual_seed(2)
    x, edges = torch.randn(200, 8, generator=g), ring(200)
    enc = Encoder()
    with torch.no_grad():
        h = enc(x, edges)
    dep = GMI(16, 8, lr=1e-2).fit(h, (x, edges), steps=150)
    unrelated = torch.randn(200, 16, generator=g)
    ind = GMI(16, 8, lr=1e-2).fit(unrelated, (x, edges), steps=150)
    assert float(dep(h, (x, edges))) > float(ind(unrelated, (x, edges))) + 0.2


def test_dgi_trains_with_negatives_from_its_encoder():
    g = torch.Generator().manual_seed(3)
    x, edges = torch.randn(200, 8, generator=g), ring(200)
    enc = Encoder()
    est = DGI(enc, 16, lr=1e-2)
    h = enc(x, edges)
    est.batch_mi(h, (x, edges)).backward()  # the encoder gets gradients through both views
    assert enc.lin.weight.grad is not None
    enc.zero_grad()
    est.fit(h.detach(), (x, edges), steps=20)  # the critic's steps leave the encoder alone
    assert enc.lin.weight.grad is None or float(enc.lin.weight.grad.abs().sum()) == 0
    batch = torch.arange(200) // 100  # two graphs: one summary each
    assert DGI.summary(h, batch).unique(dim=0).shape[0] == 2
    assert math.isfinite(float(est(h.detach(), (x, edges, batch))))


def test_the_dgi_encoder_follows_the_estimator_to_a_dtype_as_to_a_device():
    """``est.to(device)`` must carry the encoder that makes the negatives (``double()`` stands in for a
    device: a float32 encoder fails on float64 features as a CPU one does on a GPU's), though the
    encoder stays the caller's: not a child, not in the state dict, its mode its own."""
    g = torch.Generator().manual_seed(3)
    x, edges = torch.randn(50, 8, generator=g, dtype=torch.float64), ring(50)
    enc = Encoder()
    est = DGI(enc, 16, lr=1e-2).double()
    assert all(p.dtype == torch.float64 for p in enc.parameters())
    assert not any(k.startswith("encoder") for k in est.state_dict())
    assert "encoder" not in dict(est.named_children())
    h = enc(x, edges).detach()
    est.fit(h, (x, edges), steps=2)
    assert math.isfinite(float(est(h, (x, edges)))) and enc.training


class NormedEncoder(Encoder):
    """With BatchNorm: its running statistics show whether a call ran it in train mode."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(16)

    def forward(self, x, edge_index):
        return torch.tanh(self.bn(self.lin(x)))


def test_dgi_fit_leaves_the_encoders_batchnorm_statistics_alone():
    g = torch.Generator().manual_seed(4)
    x, edges = torch.randn(100, 8, generator=g) + 2, ring(100)
    enc = NormedEncoder()
    with torch.no_grad():
        h = enc.eval()(x, edges)
    enc.train()
    DGI(enc, 16).fit(h, (x, edges), steps=5)
    assert int(enc.bn.num_batches_tracked) == 0 and enc.training and enc.bn.training


def test_the_dgi_estimate_leaves_the_encoder_alone_and_claims_no_bound():
    g = torch.Generator().manual_seed(4)
    x, edges = torch.randn(100, 8, generator=g) + 2, ring(100)
    enc = NormedEncoder()
    h = enc.eval()(x, edges).detach()
    est = DGI(enc.train(), 16).fit(h, (x, edges), steps=3)
    first = est(h, (x.double().numpy(), edges))  # float64 features cast to the encoder's dtype
    assert int(enc.bn.num_batches_tracked) == 0 and enc.training
    assert float(est(h, (x, edges))) == float(first) and first.bound is None


def test_graph_estimators_cast_float64_inputs():
    g = torch.Generator().manual_seed(5)
    x, edges = torch.randn(50, 2, generator=g, dtype=torch.float64), ring(50)
    h = torch.randn(50, 4, generator=g, dtype=torch.float64)
    assert math.isfinite(float(GMI(4, 2)(h.numpy(), (x.numpy(), edges))))


def test_an_unused_lazy_branch_survives_a_weights_only_checkpoint(tmp_path):
    """MOLE's grid-to-grid DIM never calls the critic's vector branch: its lazy placeholder is saved,
    and a run resumed from the record loads it (``weights_only``)."""
    image = torch.randn(64, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    est = DIM(hidden=8, embed_dim=4).fit(image.repeat(1, 2, 1, 1), image, steps=2, batch_size=16)
    RunFolder(tmp_path).save_checkpoint({"dim": est.state_dict()})
    again = DIM(hidden=8, embed_dim=4)
    again.load_state_dict(RunFolder(tmp_path, resume=True).load_checkpoint()["dim"])
    assert float(again(image.repeat(1, 2, 1, 1), image)) == float(est(image.repeat(1, 2, 1, 1), image))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: as_graph(torch.randn(3, 2)), "graph: expected a graph with .x and .edge_index"),
        (
            lambda: as_graph((torch.randn(3, 2), torch.tensor([[0, 5], [1, 2]]))),
            r"graph.edge_index: node indices must lie in \[0, 3\)",
        ),
        (
            lambda: as_graph((torch.randn(3, 2), torch.zeros(3, 2, dtype=torch.long))),
            r"graph.edge_index: expected integer indices of shape \(2, E\)",
        ),
        (lambda: GMI(4, 2)(torch.randn(5, 4), (torch.randn(6, 2), ring(6))), "sample counts differ"),
        (lambda: DIM()(torch.randn(8, 3), torch.randn(8, 2)), r"x: DIM needs feature maps \(N, C, H, W\)"),
        (lambda: DIM(mode="patch"), "mode: expected one of"),
        (lambda: DIM(mode="global", objective="nce"), "objective: expected one of"),
        (
            lambda: GMI(4, 2)(torch.randn(6, 5), (torch.randn(6, 2), ring(6))),
            r"h: expected node representations \(N, 4\) \(rep_dim\)",
        ),
        (
            lambda: GMI(4, 2)(torch.randn(6, 4), (torch.randn(6, 3), ring(6))),
            r"graph.x: expected 2 features per node \(feature_dim\)",
        ),
        (
            lambda: GMI(4, 2)(torch.randn(6, 4), (torch.randn(6, 2), ring(6).to("meta"))),
            "graph.edge_index: is on the meta device",
        ),
        (
            lambda: GMI(4, 2)(torch.randn(6, 4), [torch.randn(6, 2), ring(6)]),
            "graph: expected a graph with .x and .edge_index, or a tuple, got list",
        ),
        (
            lambda: GMI(4, 2)(torch.randn(1, 4), (torch.randn(1, 2), torch.zeros(2, 0, dtype=torch.long))),
            "graph: at least 2 nodes",
        ),
        (lambda: GMI(4, 2, tmi_weight=float("nan")), "tmi_weight: must be a finite number >= 0"),
        (lambda: GMI(4, 2, tmi_weight=-1), "tmi_weight: must be a finite number >= 0"),
        (lambda: DGI("encoder", 4), "encoder: expected a callable"),
        (
            lambda: GMI(4, 2)(torch.randn(6, 4), (torch.randn(6, 2), ring(6)), n_resamples=3),
            "cannot resample rows",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
