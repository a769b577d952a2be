"""Matrix-based Renyi entropy and MI: closed forms on labels, the alpha=2 fast path, the multichannel
extension, gradients, and the bounds Giraldo et al. (2014) prove."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iblearn import functional as ibf
from iblearn.functional.renyi import entropy as renyi
from iblearn.functional.renyi import gram as renyi_gram
from iblearn.functional.renyi.gram import _gaussian_kernel
from tests.conftest import gen


def _renyi_of_frequencies(p: list[float], alpha: float) -> float:
    if alpha == 1:
        return -sum(q * math.log(q) for q in p)
    return math.log(sum(q**alpha for q in p)) / (1 - alpha)


@pytest.mark.parametrize("alpha", [1.0, 1.01, 2.0, 3.0, 0.5])
def test_label_entropy_is_the_renyi_entropy_of_the_class_frequencies(alpha):
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)
    expected = _renyi_of_frequencies([0.5, 0.3, 0.2], alpha)
    assert float(ibf.renyi_entropy(labels, alpha)) == pytest.approx(expected, abs=1e-5)  # float32 labels
    # MI of labels with themselves: the joint Gram is the Gram itself, so I = S.
    assert float(ibf.renyi_mi(labels, labels, alpha)) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 3.0])
def test_labels_take_the_class_blocks_and_agree_with_the_whole_eigenproblem(alpha):
    # With labels on one side the joint Gram matrix is block diagonal over the classes (and the labels'
    # own matrix has one eigenvalue per class, its count): the entropies, MI and gradients equal those
    # of the N x N eigenproblem on the same matrices.
    g = gen(3)
    x = torch.randn(60, 2, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 3, (60,), generator=g)
    other = torch.randint(0, 2, (60,), generator=g)
    mi = ibf.renyi_mi(x, labels, alpha)
    mi.backward()
    grad, x.grad = x.grad.clone(), None
    a, b = ibf.gram_matrix(x), ibf.gram_matrix(labels).double()
    whole = (
        ibf.matrix_entropy(a, alpha)
        + ibf.matrix_entropy(b, alpha)
        - ibf.matrix_entropy(ibf.joint_gram(a, b), alpha)
    )
    whole.backward()
    assert mi.item() == pytest.approx(whole.item(), abs=1e-10)
    assert torch.allclose(grad, x.grad, atol=1e-10)
    assert ibf.renyi_mi(labels, x, alpha).item() == pytest.approx(whole.item(), abs=1e-10)
    assert float(ibf.renyi_entropy(labels, alpha)) == pytest.approx(
        float(ibf.matrix_entropy(b, alpha)), abs=1e-6
    )
    pairs = ibf.joint_gram(
        ibf.gram_matrix(labels), ibf.gram_matrix(other)
    )  # both labels: the classes are the pairs
    expected = float(ibf.matrix_entropy(pairs.double(), alpha))
    assert float(ibf.renyi_joint_entropy(labels, other, alpha)) == pytest.approx(expected, abs=1e-6)


def test_alpha_two_fast_path_equals_the_eigenvalue_formula():
    k = ibf.gram_matrix(torch.randn(60, 3, generator=gen(), dtype=torch.float64))
    lam = torch.linalg.eigvalsh(k / torch.trace(k))
    assert float(ibf.matrix_entropy(k, 2.0)) == pytest.approx(float(-torch.log((lam**2).sum())), abs=1e-10)


def test_kernel_matches_the_definition():
    z = torch.randn(7, 4, generator=gen(), dtype=torch.float64)
    naive = torch.exp(-(torch.cdist(z, z) ** 2) / (2 * 0.7**2))
    torch.testing.assert_close(_gaussian_kernel(z, 0.7), naive)


def test_multichannel_gram_with_one_width_equals_the_flat_gram():
    x = torch.randn(20, 3, 4, 4, generator=gen(), dtype=torch.float64)
    torch.testing.assert_close(ibf.gram_matrix(x, 2.0, channels=True), ibf.gram_matrix(x.flatten(1), 2.0))
    # With per-channel widths from a rule, it is the Hadamard product of the channels' Gram matrices.
    prod = ibf.joint_gram(*(ibf.gram_matrix(x[:, c].flatten(1), "silverman") for c in range(3)))
    torch.testing.assert_close(ibf.gram_matrix(x, "silverman", channels=True), prod)
    # "mean": the geometric mean of the same kernels, the product's C-th root.
    torch.testing.assert_close(ibf.gram_matrix(x, "silverman", channels="mean"), prod ** (1 / 3))


def test_the_product_of_many_channels_saturates_and_the_mean_does_not():
    """32 independent channels: the product kernel is nearly the identity (every entropy log N, so
    I(T; X) = S(X) for any T); the geometric mean keeps one channel's scale."""
    t = torch.rand(64, 32, 5, 5, generator=gen())
    off = ~torch.eye(64, dtype=torch.bool)
    assert float(ibf.gram_matrix(t, channels=True)[off].max()) < 1e-3
    assert float(ibf.renyi_entropy(t, channels=True)) == pytest.approx(math.log(64), abs=1e-2)
    assert 0.2 < float(ibf.gram_matrix(t, channels="mean")[off].mean()) < 0.9
    assert float(ibf.renyi_entropy(t, channels="mean")) < math.log(64) - 0.5


@pytest.mark.parametrize("rule", ["silverman", "median"])
def test_rule_widths_make_the_entropy_scale_free(rule):
    x = torch.randn(100, 3, generator=gen(), dtype=torch.float64)
    assert float(ibf.renyi_entropy(7.0 * x, sigma=rule)) == pytest.approx(
        float(ibf.renyi_entropy(x, sigma=rule)), abs=1e-9
    )
    assert ibf.kernel_width(7.0 * x, rule) == pytest.approx(7.0 * ibf.kernel_width(x, rule))


def test_float32_kernel_survives_an_offset_far_above_the_spread():
    """Distances do not depend on an offset; expanding |z_i - z_j|^2 around it in float32 cancels them
    (a saturated tanh layer near 1 is such a sample: spread 0.01, offset 1)."""
    x = torch.randn(200, 3, generator=gen(), dtype=torch.float64)
    k = ibf.gram_matrix((x + 1e3).float())
    assert float(k.max()) <= 1.0
    torch.testing.assert_close(k.double(), ibf.gram_matrix(x), atol=1e-3, rtol=0)
    assert float(ibf.renyi_entropy((x + 1e3).float())) == pytest.approx(float(ibf.renyi_entropy(x)), abs=1e-3)


def test_the_median_rule_survives_an_offset_far_above_the_spread():
    x = torch.randn(200, 3, generator=gen(), dtype=torch.float64)
    assert ibf.kernel_width(x + 1e8) == pytest.approx(
        ibf.kernel_width(x), rel=1e-6
    )  # uncentred: 2.83 vs 2.20


def test_the_median_rule_sees_active_rows_outside_its_subset(monkeypatch):
    """A unit active on one row only: wherever that row is, in the subset the rule looks at or not, the
    non-zero distances of the whole sample are all 5, and so is the width."""
    monkeypatch.setattr(renyi_gram, "MEDIAN_SAMPLES", 4)
    for row in range(12):
        x = torch.zeros(12, 2, dtype=torch.float64)
        x[row] = torch.tensor([3.0, 4.0])
        assert ibf.kernel_width(x) == pytest.approx(5.0)
        assert float(ibf.renyi_entropy(x)) > 0.1


@pytest.mark.parametrize("alpha", [1 + 1e-6, 1 - 1e-6])
def test_alpha_near_one_keeps_its_precision_in_float32(alpha):
    """log(sum lambda^alpha) / (1 - alpha) cancels near alpha = 1 (0.03 nats off at 1 + 1e-6); the log1p
    form tends to the von Neumann entropy."""
    x = torch.randn(100, 3, generator=gen())
    assert float(ibf.renyi_entropy(x, alpha)) == pytest.approx(float(ibf.renyi_entropy(x, 1.0)), abs=2e-5)
    assert float(ibf.renyi_entropy(x, alpha)) == pytest.approx(
        float(ibf.renyi_entropy(x.double(), alpha)), abs=1e-3
    )


@pytest.mark.parametrize("alpha", [0.5, 3.0, 10.0])
def test_far_from_alpha_one_float32_agrees_with_float64(alpha):
    # A nearly diagonal Gram matrix: at large alpha sum lambda^alpha is tiny, and the log1p form would
    # lose it to cancellation (inf at alpha = 5), so the log of the sum is used there.
    k = ibf.gram_matrix(torch.randn(200, 10, generator=gen(), dtype=torch.float64), 1.5)
    assert float(ibf.matrix_entropy(k.float(), alpha)) == pytest.approx(
        float(ibf.matrix_entropy(k, alpha)), abs=1e-4
    )


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 3.0])
def test_eigenvalues_are_renormalized_after_the_round_off_floor(alpha):
    # A point mass: one eigenvalue, the others round-off that the floor drops; were the rest not
    # renormalized, the dropped mass (1e-7 in float32) would show times 1 / (1 - alpha).
    assert float(ibf.matrix_entropy(torch.ones(40, 40), alpha)) == 0.0


def test_numpy_scalars_are_accepted_as_numbers():
    x = torch.rand(6, 2, generator=gen())
    assert float(ibf.renyi_entropy(x, alpha=np.float32(2.0))) == float(ibf.renyi_entropy(x, alpha=2.0))
    assert ibf.kernel_width(x, np.float32(0.5)) == 0.5


def test_dependence_gives_more_mi_than_independence():
    x = torch.randn(300, 2, generator=gen(), dtype=torch.float64)
    dep = float(ibf.renyi_mi(x, x + 0.2 * torch.randn(300, 2, generator=gen(1), dtype=torch.float64)))
    ind = float(ibf.renyi_mi(x, torch.randn(300, 2, generator=gen(2), dtype=torch.float64)))
    assert dep > 3 * ind > 0  # median rule: 0.74 vs 0.06 at N=300 in 2-D


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 60),
    alpha=st.sampled_from([0.5, 1.0, 1.01, 2.0]),
    constant=st.booleans(),
)
def test_entropy_and_mi_stay_within_their_bounds(seed, n, alpha, constant):
    g = gen(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    y = x[:, :1] + torch.randn(n, 1, generator=g, dtype=torch.float64)
    if constant:  # a point mass (a dead unit): S(y) = I = 0, and the normalized MI is 0, not 0 / 0
        y = torch.zeros(n, 1, dtype=torch.float64)
    sx, sy = float(ibf.renyi_entropy(x, alpha)), float(ibf.renyi_entropy(y, alpha))
    mi = float(ibf.renyi_mi(x, y, alpha))
    assert 0 <= sx <= math.log(n) + 1e-9
    # S(A, B) >= max(S(A), S(B)) (Giraldo et al. 2014), so I <= min(S(A), S(B)). There is no lower
    # bound of 0: the functional is not subadditive (see the next test).
    assert mi <= min(sx, sy) + 1e-9
    normalized = float(ibf.renyi_mi(x, y, alpha, normalize=True))
    assert normalized <= 1 + 1e-9
    if constant:
        assert normalized == 0.0
        assert float(ibf.renyi_mi(x, torch.zeros(n, dtype=torch.long), alpha, normalize=True)) == 0.0


def test_mi_at_alpha_2_is_a_log_ratio_and_can_be_negative():
    # With unit-diagonal Gram matrices Kx, Ky, S_2 = -log(sum K^2 / n^2) for each and for the joint
    # Kx * Ky / n, so I_2 = log(n^2 sum(Kx^2 Ky^2) / (sum Kx^2 sum Ky^2)): negative exactly when the
    # squared kernel entries of x and y covary negatively over the pairs, as in this small sample
    # (found by hypothesis: seed 418, n = 7).
    g = gen(418)
    x = torch.randn(7, 2, generator=g, dtype=torch.float64)
    y = x[:, :1] + torch.randn(7, 1, generator=g, dtype=torch.float64)
    kx, ky = ibf.gram_matrix(x), ibf.gram_matrix(y)
    closed = math.log(49 * float((kx**2 * ky**2).sum()) / float((kx**2).sum() * (ky**2).sum()))
    mi = float(ibf.renyi_mi(x, y, 2.0))
    assert mi == pytest.approx(closed, abs=1e-12)
    assert mi < 0


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1 + 1e-6, 1.01, 2.0, 3.0])
def test_gradients_are_correct(alpha):
    x = torch.randn(8, 2, generator=gen(), dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1])
    assert torch.autograd.gradcheck(lambda t: ibf.renyi_mi(t, labels, alpha, sigma_x=1.0), (x,))


def test_mi_backpropagates_through_feature_maps():
    x = torch.randn(32, 4, 5, 5, requires_grad=True)
    ibf.renyi_mi(x, torch.randint(0, 3, (32,)), channels_x=True).backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ibf.renyi_entropy(torch.randn(5, 2), alpha=0), "alpha: must be a positive finite number"),
        (lambda: ibf.renyi_entropy(torch.randn(5, 2), alpha=True), "alpha: must be a positive finite number"),
        (lambda: ibf.renyi_entropy(torch.randn(5, 2), sigma="scott"), "sigma: expected one of"),
        (lambda: ibf.renyi_entropy(torch.randn(5, 2), sigma=-1.0), "sigma: must be a positive"),
        (
            lambda: ibf.renyi_mi(torch.randn(5, 2), torch.randn(6, 2)),
            "sample counts differ: x has 5, y has 6",
        ),
        (
            lambda: ibf.gram_matrix(torch.randn(5, 2), channels=True),
            r"channels=True needs shape \(N, C, ...\)",
        ),
        (lambda: ibf.kernel_width(torch.ones(5, 2)), "x: all samples are identical"),
        (
            lambda: ibf.renyi_mi(torch.randn(1, 2), torch.randn(1, 2)),
            "x: .* needs at least 2 samples, got N=1",
        ),
        (lambda: ibf.renyi_entropy(torch.randn(1, 2), sigma="silverman"), "x: .* needs at least 2 samples"),
        (lambda: ibf.gram_matrix(torch.randn(5, 2, 3), channels="sum"), "channels: expected one of"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_silent_units_do_not_stop_training():
    """A dead ReLU channel (constant over the batch) drops out of the multichannel product, a constant
    sample is a point mass (entropy 0), and a mostly silent unit still gets a positive kernel width."""
    x = torch.rand(40, 3, 4, 4, generator=gen())
    dead = x.clone()
    dead[:, 1] = 0.0
    assert torch.allclose(
        ibf.gram_matrix(dead, channels=True), ibf.gram_matrix(dead[:, [0, 2]], channels=True)
    )
    assert float(ibf.renyi_entropy(torch.zeros(40, 5))) == pytest.approx(0.0, abs=1e-4)
    sparse = torch.zeros(40, 1)
    sparse[:5] = torch.rand(5, 1, generator=gen()) + 1  # 35 of 40 samples coincide: median distance 0
    assert ibf.kernel_width(sparse) > 0.5


@pytest.mark.parametrize("rule", ["median", "silverman"])
def test_the_gradient_has_no_component_along_the_scale(rule):
    """With the width differentiated through, I(cT; X) = I(T; X) for every c > 0, so the gradient is
    orthogonal to T: d/dc I(cT; X) at c = 1 is <grad, T> = 0."""
    x = torch.randn(50, 3, generator=gen(), dtype=torch.float64)
    t = (x @ torch.randn(3, 4, generator=gen(1), dtype=torch.float64)).tanh().requires_grad_()
    mi = ibf.renyi_mi(t, x, sigma_x=rule)
    (grad,) = torch.autograd.grad(mi, t)
    assert float(grad.norm()) > 1e-3
    assert abs(float((grad * t.detach()).sum())) < 1e-8 * float(grad.norm() * t.detach().norm())


@pytest.mark.parametrize("alpha", [1.0, 1.01, 2.0])
def test_half_precision_samples_give_a_float32_entropy(alpha):
    """eigvalsh has no float16 kernel: the entropy of half-precision samples is computed in float32."""
    x = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    half = ibf.renyi_entropy(x.half(), alpha=alpha)
    assert half.dtype == torch.float32
    # Only the samples are rounded (measured 7e-5 nats; 0.006 with a float16 Gram matrix).
    assert float(half) == pytest.approx(float(ibf.renyi_entropy(x, alpha=alpha)), abs=1e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_samples_get_a_float32_gram_matrix(dtype):
    """Exponents and exp rounded to bfloat16's 3 digits biased MI by 12% (300 samples, 64 dims)."""
    g = gen()
    x = torch.randn(100, 16, generator=g).to(dtype)
    y = (x[:, :2].float() + 0.5 * torch.randn(100, 2, generator=g)).to(dtype)
    k = ibf.gram_matrix(x)
    assert k.dtype == torch.float32
    torch.testing.assert_close(k.double(), ibf.gram_matrix(x.double()), atol=1e-5, rtol=0)
    assert float(ibf.renyi_mi(x, y)) == pytest.approx(float(ibf.renyi_mi(x.double(), y.double())), abs=1e-3)


def test_errors_about_y_name_y():
    x = torch.randn(50, 3, generator=gen(), dtype=torch.float64)
    with pytest.raises(ValueError, match="y: channels=True needs shape"):
        ibf.renyi_mi(x, x, channels_y=True)
    with pytest.raises(ValueError, match="y: "):
        ibf.renyi_mi(x, torch.full_like(x, float("nan")))


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
@pytest.mark.parametrize("rule", ["median", "silverman", "number"])
def test_renyi_mi_does_not_depend_on_the_scale_over_the_whole_float_range(scale, rule):
    # The rules' squared distances overflowed at 1e200 ("all samples are identical") and vanished at 1e-200
    # (a point mass: MI 0.0 for 0.666).
    x = torch.randn(200, 2, generator=gen(50), dtype=torch.float64)
    y = x + 0.5 * torch.randn(200, 2, generator=gen(51), dtype=torch.float64)
    sx, sy = (1.3, 1.7) if rule == "number" else (rule, rule)
    scaled_sx, scaled_sy = (1.3 * scale, 1.7 * scale) if rule == "number" else (rule, rule)
    reference = float(ibf.renyi_mi(x, y, sigma_x=sx, sigma_y=sy))
    assert reference > 0.3
    assert float(ibf.renyi_mi(x * scale, y * scale, sigma_x=scaled_sx, sigma_y=scaled_sy)) == pytest.approx(
        reference, rel=1e-9
    )
    channels = torch.stack([x, 2 * x], dim=1) * scale  # (N, 2 channels, 2)
    assert float(ibf.renyi_mi(channels, y * scale, channels_x=True)) == pytest.approx(
        float(ibf.renyi_mi(channels / scale, y, channels_x=True)), rel=1e-9
    )
    if rule != "number":
        assert ibf.kernel_width(x * scale, rule) == pytest.approx(ibf.kernel_width(x, rule) * scale, rel=1e-9)


@pytest.mark.parametrize("value", [1 / 3, 0.1, 0.7])
def test_a_constant_sample_is_a_point_mass_whatever_its_value(value):
    # A std of 2.8e-17 (the mean of 0.1s rounds off 0.1) made 0.1 "not identical" yet without a width.
    x = torch.randn(500, 2, generator=gen(52), dtype=torch.float64)
    assert float(ibf.renyi_mi(torch.full((500, 1), value, dtype=torch.float64), x)) == 0.0


def test_matrix_entropy_checks_its_matrix():
    # eigvalsh reads one triangle: a NaN in the other was ignored; a zero matrix gave inf (alpha = 2: NaN).
    k = torch.eye(4)
    k[0, 3] = float("nan")
    for bad, match in [
        (k, "k: contains NaN or Inf"),
        (torch.zeros(4, 4), "k: its trace is not positive"),
        (torch.ones(2, 3), r"k: expected a square \(N, N\) Gram matrix"),
        (torch.eye(3, dtype=torch.long), "k: expected a floating-point matrix"),
        (torch.tensor([[1.0, 0.5], [0.0, 1.0]]), "k: is not symmetric"),
    ]:
        for alpha in (1.01, 2.0):
            with pytest.raises(ValueError, match=match):
                ibf.matrix_entropy(bad, alpha)
    assert float(ibf.matrix_entropy(torch.eye(4), 2.0)) == pytest.approx(math.log(4))


def test_a_float32_eigensolver_failure_is_retried_in_float64(monkeypatch):
    # LAPACK's float32 solver can fail to converge on an ill-conditioned Gram matrix (it did in a MOLE
    # run); the entropy, and its gradient, then come from the float64 solver, as close to the float32
    # solver's as float32 allows.
    k = ibf.gram_matrix(torch.randn(40, 3, generator=gen(0)))
    k_ok, k_retried = k.clone().requires_grad_(), k.clone().requires_grad_()
    h_ok = ibf.matrix_entropy(k_ok, 1.01)
    solve = torch.linalg.eigvalsh

    def fail_in_float32(m):
        if m.dtype == torch.float32:
            raise torch.linalg.LinAlgError("linalg.eigh: The algorithm failed to converge")
        return solve(m)

    monkeypatch.setattr(torch.linalg, "eigvalsh", fail_in_float32)
    h_retried = ibf.matrix_entropy(k_retried, 1.01)
    assert h_retried.dtype == torch.float32
    assert h_retried.item() == pytest.approx(h_ok.item(), rel=1e-5)
    h_ok.backward(), h_retried.backward()
    assert torch.allclose(k_retried.grad, k_ok.grad, atol=1e-3)  # near-zero eigenvalues: float32 noise
    with pytest.raises(torch.linalg.LinAlgError):  # float64's own failure is not hidden
        monkeypatch.setattr(torch.linalg, "eigvalsh", lambda m: fail_in_float32(m.float()))
        ibf.matrix_entropy(k.double(), 1.01)


def test_adjacency_gram_is_the_gaussian_kernel_on_the_rows_of_a_plus_i():
    from iblearn.functional.renyi.gram import adjacency_gram

    edges = torch.tensor([[0, 1, 2, 2], [1, 2, 3, 3]])  # (2, 3) listed twice: one edge
    a = torch.eye(5)
    a[[0, 1, 2], [1, 2, 3]] = 1.0
    a = ((a + a.T) > 0).float()
    sq = torch.cdist(a, a) ** 2
    width2 = sq[~torch.eye(5, dtype=torch.bool)].median()
    torch.testing.assert_close(adjacency_gram(edges, 5), torch.exp(-sq / (2 * width2)))
    with pytest.raises(ValueError, match="edge_index: node indices must lie in"):
        adjacency_gram(edges, 3)


def test_renyi_graph_mi_sees_the_edges_that_renyi_mi_ignores():
    from iblearn.functional.renyi.entropy import renyi_graph_mi

    g = gen(0)
    x = torch.randn(24, 3, generator=g)
    ring = torch.stack([torch.arange(24), (torch.arange(24) + 1) % 24])
    pairs = torch.stack([torch.arange(0, 24, 2), torch.arange(1, 24, 2)])
    t = x + 0.1 * torch.randn(24, 3, generator=g)
    assert float(renyi_graph_mi(t, x, ring)) != pytest.approx(float(renyi_graph_mi(t, x, pairs)), abs=1e-3)
    # the joint Gram K_x o K_a: by hand
    from iblearn.functional.renyi.gram import adjacency_gram

    kt, kx, ka = ibf.gram_matrix(t), ibf.gram_matrix(x), adjacency_gram(ring, 24)
    by_hand = ibf.matrix_entropy(kt) + ibf.matrix_entropy(kx * ka) - ibf.matrix_entropy(kt * kx * ka)
    torch.testing.assert_close(renyi_graph_mi(t, x, ring), by_hand)


def test_a_users_matrix_is_checked_and_the_matrices_built_here_are_not(monkeypatch):
    # The checks read the whole N x N matrix several times; run on every Gram matrix renyi_mi had just
    # built from checked samples, they made it several times slower at N = 4,096.
    checked = []
    check = renyi._psd_matrix
    monkeypatch.setattr(renyi, "_psd_matrix", lambda k: checked.append(k) or check(k))
    g = gen(0)
    x, y = torch.randn(30, 2, generator=g), torch.randn(30, 3, generator=g)
    labels = torch.randint(0, 3, (30,), generator=g)
    edges = torch.stack([torch.arange(30), (torch.arange(30) + 1) % 30])
    for alpha in (2.0, 1.01):
        ibf.renyi_mi(x, y, alpha, normalize=True)
        ibf.renyi_mi(x, labels, alpha)
        ibf.renyi_entropy(x, alpha)
        ibf.renyi_joint_entropy(labels, y, alpha)
        renyi.renyi_graph_mi(x, y, edges, alpha)
    assert checked == []
    k = ibf.gram_matrix(x)
    ibf.matrix_entropy(k, 2.0)
    assert len(checked) == 1 and checked[0] is k
    with pytest.raises(ValueError, match="k: is not symmetric"):
        ibf.matrix_entropy(torch.tensor([[1.0, 0.5], [0.0, 1.0]]), 2.0)


def test_class_sizes_are_the_label_counts_at_each_class_first_sorted_row():
    from iblearn.functional.renyi.entropy import _class_sizes

    labels = torch.tensor([3, 1, 3, 3, 7, 1, 0])
    sizes = _class_sizes(labels)
    assert sizes.tolist() == [1, 2, 0, 3, 0, 0, 1]  # sorted: 0 | 1 1 | 3 3 3 | 7
    counts = torch.unique(labels, return_counts=True)[1]
    assert torch.equal(sizes[sizes > 0], counts)
    assert _class_sizes(torch.zeros(5, dtype=torch.long)).tolist() == [5, 0, 0, 0, 0]


def test_the_median_width_jumps_as_a_sparse_unit_crosses_zero_and_silvermans_does_not():
    """On a mostly silent ReLU unit the median rule falls back to the non-zero pairs; one activation
    crossing zero puts the median on its tiny distances to the silent rows, so the width (and with it
    a training loss) jumps, where Silverman's rule moves by as little as the activation did."""
    unit = torch.zeros(20, 1, dtype=torch.float64)
    unit[:5] = torch.rand(5, 1, generator=gen(), dtype=torch.float64) + 1  # 15 of 20 rows silent
    crossed = unit.clone()
    crossed[5] = 1e-9  # a sixteenth row just above zero
    assert ibf.kernel_width(unit, "median") > 1e6 * ibf.kernel_width(crossed, "median")
    assert ibf.kernel_width(crossed, "silverman") == pytest.approx(
        ibf.kernel_width(unit, "silverman"), rel=1e-6
    )


def test_the_mi_of_a_point_mass_is_zero_in_the_graph_of_its_inputs():
    # A collapsed layer (every row the same) has MI 0, and a training loss made of it back-propagates
    # a zero gradient instead of standing outside the graph.
    t = torch.zeros(16, 3, requires_grad=True)
    for other in (torch.randn(16, 5, generator=gen(0)), torch.randint(0, 2, (16,), generator=gen(1))):
        for normalize in (False, True):
            mi = ibf.renyi_mi(t, other, normalize=normalize)
            assert abs(float(mi.detach())) < 1e-6 and mi.requires_grad
            (grad,) = torch.autograd.grad(mi, t)
            assert torch.equal(grad, torch.zeros_like(t))
    assert not ibf.renyi_mi(torch.zeros(16, 3), torch.randn(16, 5, generator=gen(2))).requires_grad
