"""The exact IB curve: closed forms, the exhaustive DIB reference, known transitions, invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn import functional as ibf
from iblearn.analysis import plot_ib_curve
from iblearn.functional.ib.deterministic import partitions as _partitions
from iblearn.functional.ib.exact import maximal_correlation_squared, upper_envelope
from tests.conftest import gen

torch.set_num_threads(1)


def bsc(eps: float) -> torch.Tensor:
    """Uniform binary X through a binary symmetric channel of flip probability eps."""
    return torch.tensor([[0.5 * (1 - eps), 0.5 * eps], [0.5 * eps, 0.5 * (1 - eps)]], dtype=torch.float64)


def random_joint(nx: int, ny: int, seed: int) -> torch.Tensor:
    p = torch.rand(nx, ny, generator=gen(seed), dtype=torch.float64) ** 3
    return p / p.sum()


def h2(p: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(p, p) - torch.special.xlogy(1 - p, 1 - p)


@pytest.mark.parametrize(
    ("pxy", "message"),
    [
        ([[0.5, 0.6]], "sums to"),
        ([[-0.1, 0.6], [0.3, 0.2]], "negative"),
        ([0.5, 0.5], "shape"),
        ([[math.nan, 0.5], [0.25, 0.25]], "NaN"),
        ("ab", "pxy"),
    ],
)
def test_bad_joint_is_named(pxy, message):
    with pytest.raises(ValueError, match="pxy") as err:
        ibf.ib_curve(pxy)
    assert message in str(err.value)


def test_a_table_of_counts_is_normalized_where_asked():
    counts = torch.tensor([[45.0, 5.0], [5.0, 45.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^pxy: must sum to 1, sums to 100; .*pass normalize=True"):
        ibf.ib_curve(counts, [1.0, 4.0])
    by_counts = ibf.ib_curve(counts, [1.0, 4.0], normalize=True, critical=False)
    by_table = ibf.ib_curve(counts / 100, [1.0, 4.0], critical=False)
    torch.testing.assert_close(by_counts.i_ty, by_table.i_ty, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match=r"^pxy: has negative entries"):
        ibf.ib_curve([[-1.0, 5.0], [5.0, 45.0]], normalize=True)
    with pytest.raises(ValueError, match=r"^normalize"):
        ibf.ib_curve(counts, normalize="yes")
    # A function that takes no normalize= does not suggest it.
    with pytest.raises(ValueError, match=r"sums to 100$"):
        maximal_correlation_squared(counts)


def test_bad_settings_are_named():
    p = bsc(0.1)
    for kwargs, name in [
        ({"betas": [1.0, -2.0]}, "betas"),
        ({"method": "vib"}, "method"),
        ({"method": "gib"}, "alpha"),
        ({"method": "gib", "alpha": 1.5}, "alpha"),
        ({"method": "ib", "alpha": 0.5}, "alpha"),
        ({"n_t": 0}, "n_t"),
        ({"tol": 0.0}, "tol"),
    ]:
        with pytest.raises(ValueError, match=name):
            ibf.ib_curve(p, **kwargs)
    with pytest.raises(ValueError, match="max_x"):
        ibf.dib_exhaustive(random_joint(9, 3, 0), max_x=8)
    with pytest.raises(ValueError, match="dx"):
        ibf.gaussian_ib_curve(torch.eye(2), 2)
    with pytest.raises(ValueError, match="cov"):
        ibf.gaussian_ib_curve([[1.0, 2.0], [2.0, 1.0]], 1)


def test_binary_symmetric_channel_curve_and_transition():
    """Uniform X, a BSC(eps): the optimal T is X through a BSC(d) (Mrs. Gerber's lemma, Wyner & Ziv
    1973), so I(X; T) = log 2 - h(d), I(T; Y) = log 2 - h(d * eps); the trivial solution is stable up to
    beta = 1 / (1 - 2 eps)^2."""
    eps = 0.1
    curve = ibf.ib_curve(bsc(eps), torch.logspace(0, 2, 40, dtype=torch.float64))
    beta_c = 1 / (1 - 2 * eps) ** 2
    assert curve.critical_betas.tolist() == pytest.approx([beta_c], rel=1e-6)
    below = curve.betas < beta_c * 0.98
    assert float(curve.i_xt[below].max()) < 1e-6 and float(curve.i_xt[~below].min()) > 1e-4
    d = torch.linspace(0.01, 0.49, 25, dtype=torch.float64)
    i_xt, i_ty = math.log(2) - h2(d), math.log(2) - h2(d * (1 - eps) + (1 - d) * eps)
    inside = i_xt < float(curve.i_xt.max())
    gap = curve.i_ty_at(i_xt[inside]) - i_ty[inside]  # chords of a concave curve lie below it
    assert float(gap.max()) < 1e-9 and float(gap.min()) > -5e-3
    # each solution lies on the closed-form curve itself
    on = curve.i_xt > 1e-3
    d_t = _inverse_h2(math.log(2) - curve.i_xt[on])
    exact = math.log(2) - h2(d_t * (1 - eps) + (1 - d_t) * eps)
    assert float((curve.i_ty[on] - exact).abs().max()) < 1e-7


def _inverse_h2(h: torch.Tensor) -> torch.Tensor:
    lo, hi = torch.zeros_like(h), torch.full_like(h, 0.5)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = h2(mid) < h
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return (lo + hi) / 2


def test_product_of_channels_has_both_transitions():
    """Two independent BSCs (a Kronecker, block-structured joint): the IB of a product is the sum of
    the IBs (Witsenhausen & Wyner 1975), so T starts to encode each channel at its own 1 / (1 - 2 eps)^2."""
    p = torch.kron(bsc(0.05), bsc(0.2))
    curve = ibf.ib_curve(p, torch.logspace(0, 1, 30, dtype=torch.float64))
    expected = [1 / 0.9**2, 1 / 0.6**2]
    assert curve.critical_betas.tolist() == pytest.approx(expected, rel=1e-2)
    assert maximal_correlation_squared(p) == pytest.approx(0.81)


@pytest.mark.parametrize(("e1", "e2"), [(0.05, 0.2), (0.1, 0.25)])
def test_the_second_critical_beta_of_a_product_is_found_to_round_off(e1, e2):
    """The continuing branch's margin, beta lambda_2(t) - 1 of its most unstable cluster, is smooth in beta
    (here linear: each cluster's lambda_2 is the other channel's), so regula falsi on it lands on the
    closed form of the second transition, 1 / (1 - 2 eps_2)^2, to round-off."""
    curve = ibf.ib_curve(torch.kron(bsc(e1), bsc(e2)), np.geomspace(0.5, 20, 40))
    expected = [1 / (1 - 2 * e1) ** 2, 1 / (1 - 2 * e2) ** 2]
    assert curve.critical_betas.tolist()[:2] == pytest.approx(expected, rel=1e-12)


def test_block_diagonal_joint_splits_at_once():
    """X and Y in two blocks that Y tells apart: rho_m = 1, so the trivial solution is stable only up to
    beta = 1, and the block of X is worth encoding from there."""
    p = torch.block_diag(random_joint(3, 2, 1), random_joint(2, 3, 2)) / 2
    curve = ibf.ib_curve(p, [0.5, 0.9, 1.5, 5.0])
    assert float(curve.critical_betas[0]) == pytest.approx(1.0, abs=1e-9)
    assert curve.i_ty.tolist()[:2] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert float(curve.i_ty[2]) >= math.log(2) - 1e-6  # the block, H = log 2, and more


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dib_matches_the_exhaustive_reference(seed):
    p = random_joint(8, 3, seed)
    betas = torch.logspace(0, 2, 20, dtype=torch.float64)
    ref = ibf.dib_exhaustive(p, betas)
    found = ibf.ib_curve(p, betas, method="dib")
    assert (found.lagrangian - ref.lagrangian).abs().max() < 1e-9
    assert bool(((found.encoders == 0) | (found.encoders == 1)).all())
    assert torch.allclose(found.i_xt, found.h_t)


def test_exhaustive_reference_by_hand():
    """B(n) partitions, and the DIB's critical betas are where the optimal partition changes."""
    assert [len(_partitions(n)) for n in range(1, 8)] == [1, 2, 5, 15, 52, 203, 877]
    p = random_joint(6, 3, 4)
    ref = ibf.dib_exhaustive(p, torch.logspace(0, 2, 200, dtype=torch.float64))
    for beta in ref.critical_betas.tolist():
        around = ibf.dib_exhaustive(p, [beta * (1 - 1e-6), beta * (1 + 1e-6)])
        assert float(around.i_ty[1] - around.i_ty[0]) > 1e-9


def test_ib_beats_every_deterministic_encoder():
    """Every partition of X is an encoder, so at each beta the IB's minimum of I(X; T) - beta I(T; Y)
    is at most the best partition's H(T) - beta I(T; Y) (I(X; T) = H(T) for it), which the exhaustive
    search gives exactly; and the solutions keep the data-processing bounds."""
    p = random_joint(7, 3, 5)
    betas = torch.logspace(0, 3, 60, dtype=torch.float64)
    curve, dib = ibf.ib_curve(p, betas), ibf.dib_exhaustive(p, betas)
    assert float((curve.lagrangian - dib.lagrangian).max()) < 1e-9
    assert bool((curve.i_xt <= curve.h_x + 1e-9).all() and (curve.i_ty <= curve.i_xy + 1e-9).all())


def test_relabelling_x_and_y_changes_nothing():
    p = random_joint(6, 4, 6)
    px, py = torch.randperm(6, generator=gen(1)), torch.randperm(4, generator=gen(2))
    betas = torch.logspace(0, 2, 15, dtype=torch.float64)
    a, b = ibf.ib_curve(p, betas), ibf.ib_curve(p[px][:, py], betas)
    assert torch.allclose(a.lagrangian, b.lagrangian, atol=1e-8)
    assert torch.allclose(a.critical_betas, b.critical_betas, rtol=1e-5)
    ea, eb = upper_envelope(a.i_xt, a.i_ty), upper_envelope(b.i_xt, b.i_ty)
    assert (
        float((a.i_ty_at(eb[0]) - eb[1]).abs().max()) < 1e-6
        and float((b.i_ty_at(ea[0]) - ea[1]).abs().max()) < 1e-6
    )
    da, db = ibf.dib_exhaustive(p, betas), ibf.dib_exhaustive(p[px][:, py], betas)
    assert torch.allclose(da.lagrangian, db.lagrangian, atol=1e-12)


def test_equal_rows_merge_without_changing_the_curve():
    p = random_joint(4, 3, 7)
    doubled = torch.cat([p, p]) / 2  # every x twice, with the same p(y|x)
    betas = torch.logspace(0, 2, 10, dtype=torch.float64)
    a, b = ibf.ib_curve(p, betas), ibf.ib_curve(doubled, betas)
    assert torch.allclose(a.i_ty, b.i_ty, atol=1e-8) and torch.allclose(a.i_xt, b.i_xt, atol=1e-8)
    assert b.encoders.shape[1] == 8 and torch.allclose(b.encoders[:, :4], b.encoders[:, 4:])


def test_deterministic_label_curve_is_the_diagonal():
    """Y = f(X), X uniform: I(T; Y) = min(I(X; T), H(Y)) (T = Y, or a part of it)."""
    y = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0])
    p = torch.nn.functional.one_hot(y, 3).to(torch.float64) / 8
    curve = ibf.ib_curve(p, torch.logspace(0, 2, 30, dtype=torch.float64))
    h_y = float(-torch.special.xlogy(p.sum(0), p.sum(0)).sum())
    assert curve.i_xy == pytest.approx(h_y)
    ex, ey = curve.envelope()
    assert torch.allclose(ey, torch.clamp(ex, max=h_y), atol=1e-6)


def test_gib_lies_between_ib_and_dib():
    """At each beta the IB's Lagrangian is the least of any encoder's, the GIB's and the DIB's too."""
    p = random_joint(6, 3, 8)
    betas = torch.logspace(0, 2, 12, dtype=torch.float64)
    ib, gib = ibf.ib_curve(p, betas), ibf.ib_curve(p, betas, method="gib", alpha=0.5)
    dib = ibf.ib_curve(p, betas, method="dib")
    assert gib.alpha == 0.5 and bool((gib.h_t >= gib.i_xt - 1e-12).all())
    for other in (gib, dib):
        assert float((ib.lagrangian - (other.i_xt - betas * other.i_ty)).max()) < 1e-9


def test_gaussian_closed_form():
    """Critical betas 1 / rho_i^2 (rho_i the canonical correlations), the curve reaches I(X; Y), and
    each active dimension adds 1/2 log((beta - 1)(1 - lambda) / lambda) to I(X; T)."""
    a = torch.randn(5, 5, generator=gen(3), dtype=torch.float64)
    cov = a @ a.T + 0.5 * torch.eye(5, dtype=torch.float64)
    curve = ibf.gaussian_ib_curve(cov, 2, torch.logspace(0, 6, 50, dtype=torch.float64))
    x = torch.distributions.MultivariateNormal(torch.zeros(5, dtype=torch.float64), cov)
    rho = ibf.canonical_correlations(*torch.split(x.sample((200000,)), [2, 3], dim=1))
    assert curve.critical_betas.tolist() == pytest.approx(sorted((1 / rho**2).tolist()), rel=2e-2)
    assert curve.i_xy == pytest.approx(float(ibf.gaussian_mi_from_cov(cov, 2)))
    assert float(curve.i_ty[-1]) == pytest.approx(curve.i_xy, abs=1e-5)
    assert bool((curve.i_ty[1:] >= curve.i_ty[:-1]).all() and (curve.i_ty <= curve.i_xt).all())


def test_gaussian_encoder_gives_the_curve():
    """T = A X + xi with the returned A has the returned I(X; T) and I(T; Y) (Gaussian formulas)."""
    cov = torch.tensor([[2.0, 0.3, 1.0], [0.3, 1.0, 0.5], [1.0, 0.5, 1.5]], dtype=torch.float64)
    curve = ibf.gaussian_ib_curve(cov, 2, [3.0, 30.0])
    for a, i_xt, i_ty in zip(curve.encoders, curve.i_xt, curve.i_ty, strict=True):
        sxx, sxy = cov[:2, :2], cov[:2, 2:]
        ctt = a @ sxx @ a.T + torch.eye(2, dtype=torch.float64)
        cty = a @ sxy
        joint = torch.cat([torch.cat([ctt, cty], 1), torch.cat([cty.T, cov[2:, 2:]], 1)])
        assert float(0.5 * torch.logdet(ctt)) == pytest.approx(float(i_xt), abs=1e-9)
        assert float(ibf.gaussian_mi_from_cov(joint, 2)) == pytest.approx(float(i_ty), abs=1e-9)


def test_quantized_gaussian_approaches_the_closed_form():
    """A bivariate Gaussian (rho = 0.8) cut into 24 x 24 equal-mass cells: its discrete IB curve lies
    below the Gaussian's (the cells lose information) and close to it, and its first critical beta is
    near 1 / rho^2."""
    rho, n = 0.8, 24
    normal = torch.distributions.Normal(0.0, 1.0)
    edges = normal.icdf(torch.linspace(0, 1, n + 1, dtype=torch.float64)[1:-1])
    x = torch.linspace(-6, 6, 2401, dtype=torch.float64)
    # p(cell_i, cell_j) by integrating the conditional normal over x's cells numerically
    w = torch.exp(normal.log_prob(x)) * (x[1] - x[0])
    cdf = normal.cdf((edges[None, :] - rho * x[:, None]) / math.sqrt(1 - rho**2))
    py_given_x = torch.diff(torch.cat([torch.zeros(len(x), 1), cdf, torch.ones(len(x), 1)], 1), dim=1)
    cell = torch.bucketize(x, edges)
    p = torch.zeros(n, n, dtype=torch.float64).index_add_(0, cell, w[:, None] * py_given_x)
    p = p / p.sum()
    betas = torch.logspace(0, 2, 30, dtype=torch.float64)
    discrete = ibf.ib_curve(p, betas, critical=False)
    exact = ibf.gaussian_ib_curve([[1.0, rho], [rho, 1.0]], 1, torch.logspace(0, 4, 400, dtype=torch.float64))
    assert 1 / float(maximal_correlation_squared(p)) == pytest.approx(1 / rho**2, rel=2e-2)
    gap = exact.i_ty_at(discrete.i_xt) - discrete.i_ty
    assert float(gap.min()) > -1e-6 and float(gap.max()) < 0.02


def test_result_plots(tmp_path):
    pytest.importorskip("matplotlib")
    curve = ibf.ib_curve(bsc(0.1), [1.0, 2.0, 5.0])
    fig = plot_ib_curve(curve, tmp_path / "ib.png", base=2)
    assert (tmp_path / "ib.png").stat().st_size > 0 and fig.axes[0].get_xlabel().endswith("[bits]")


@pytest.mark.gpu
def test_gpu_agrees_with_cpu():
    p = random_joint(16, 4, 9)
    betas = torch.logspace(0, 2, 20, dtype=torch.float64)
    cpu, cuda = ibf.ib_curve(p, betas, critical=False), ibf.ib_curve(p, betas, critical=False, device="cuda")
    assert torch.allclose(cpu.lagrangian, cuda.lagrangian, atol=1e-8)


def test_device_and_cardinality_settings():
    p = random_joint(5, 3, 10)
    betas = torch.logspace(0, 1, 6, dtype=torch.float64)
    a = ibf.ib_curve(p, betas, device="cpu", critical=False)
    b = ibf.ib_curve(p, betas, n_t=2, critical=False)
    # T keeps at most one value per x, and only the values some beta uses
    assert (
        a.encoders.shape[:2] == (6, 5)
        and a.encoders.shape[2] <= 5
        and bool((a.encoders.sum(1) > 0).any(0).all())
    )
    assert b.encoders.shape == (6, 5, 2) and len(a.critical_betas) == 0
    assert bool((b.lagrangian >= a.lagrangian - 1e-9).all())  # fewer values of T never do better
    assert torch.allclose(a.encoders.sum(-1), torch.ones(6, 5, dtype=torch.float64))


def test_trivial_solution_loses_out_past_its_stability():
    """Past 1 / lambda_2 the trivial solution is not even a local minimum, so the optimum learns; an
    asymmetric joint can learn before it (a first-order transition), never after."""
    p = torch.tensor(np.random.default_rng(0).dirichlet(np.full(16, 0.5)).reshape(8, 2))
    curve = ibf.ib_curve(p, torch.logspace(0, 1, 40, dtype=torch.float64))
    first = float(curve.critical_betas[0])
    assert first == pytest.approx(1 / float(maximal_correlation_squared(p)))
    assert bool((curve.i_xt[curve.betas > first] > 1e-6).all())
    assert float(curve.betas[curve.i_xt > 1e-6][0]) < first  # this joint learns before 1 / lambda_2
