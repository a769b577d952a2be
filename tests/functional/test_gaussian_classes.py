"""The MI of Gaussian classes with one covariance: its expectation, its estimate's bias correction, its
invariances, the classes' shape figures and the pointwise terms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iblearn.functional.gaussian_classes as gc
from iblearn.data.tasks import get_exact_task
from iblearn.functional import classes_mi, classes_shape, gaussian_classes_mi
from iblearn.functional.gaussian_classes import classes_pointwise
from iblearn.functional.quadratic_classes import quadratic_reference, shrunk_covariances


def _classes(means: np.ndarray, n: int, seed: int, noise=None) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(means), n)
    z = rng.standard_normal((n, means.shape[1])) if noise is None else noise(rng, y)
    return torch.from_numpy(means[y] + z), torch.from_numpy(y)


def test_the_quasi_monte_carlo_rule_agrees_with_the_grid_where_both_apply(monkeypatch):
    means = np.random.default_rng(0).normal(size=(4, 3))
    qmc = classes_mi([1, 2, 3, 4], means)  # three dimensions: past the grid
    monkeypatch.setattr(gc, "GRID_DIMS", 3)
    monkeypatch.setattr(gc, "NODES", 60)
    assert qmc == pytest.approx(classes_mi([1, 2, 3, 4], means), abs=2e-4)


@pytest.mark.parametrize(
    ("weights", "means"),
    [
        (np.ones(10), np.arange(10.0)[:, None]),  # the grid, one dimension
        (np.array([1.0, 2, 3, 4]), np.array([[0.0, 0], [1, 0], [3, 1], [3.5, -2]])),  # the grid, two
        (np.ones(30), np.random.default_rng(3).normal(size=(30, 6))),  # quasi-Monte Carlo
        (np.ones(20), 4 * np.random.default_rng(4).normal(size=(20, 5))),  # a sum or two term by term
        (np.array([1.0, 2, 3, 4]), 4 * np.array([[0.0, 0], [1, 0], [3, 1], [3.5, -2]])),  # a tenth
    ],
)
def test_the_matrix_product_gives_the_term_by_term_sums(monkeypatch, weights, means):
    """The expectation and the posterior variances of scores, by the product and with every sum taken
    term by term (the path of wide scales and underflowed sums)."""
    scores = np.random.default_rng(5).normal(size=(len(weights), 3))
    fast = gc._expectation(weights, means, scores, gc.ESTIMATE_NODES)
    monkeypatch.setattr(gc, "SCALE_MOST", -1.0)
    slow = gc._expectation(weights, means, scores, gc.ESTIMATE_NODES)
    assert fast[0] == pytest.approx(slow[0], abs=1e-12)
    assert fast[1] == pytest.approx(slow[1], abs=1e-12)


def test_classes_thousands_of_standard_deviations_apart_read_the_labels_entropy_exactly():
    for gap in (1e2, 1e3, 1e4):
        three = classes_mi([1, 1, 1], [[0.0, 0.0], [gap, 0.0], [0.0, gap]])
        assert three == pytest.approx(np.log(3), abs=1e-14)


def test_two_classes_far_apart_share_the_labels_entropy_and_one_point_shares_nothing():
    assert classes_mi([1, 3], np.array([[0.0, 0.0], [0.0, 60.0]])) == pytest.approx(
        -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)), abs=1e-9
    )
    assert classes_mi([1, 1, 1], np.ones((3, 4))) == 0.0


def test_the_estimate_is_unchanged_by_an_invertible_map_of_x_and_a_renaming_of_the_classes():
    means = np.random.default_rng(1).normal(size=(5, 4))
    x, y = _classes(means, 600, 0)
    value = float(gaussian_classes_mi(x, y))
    a = torch.from_numpy(np.random.default_rng(2).normal(size=(4, 4)))
    assert float(gaussian_classes_mi(x @ a + 7.0, y)) == pytest.approx(value, abs=1e-9)
    # Renamed, the classes' points come in another order, which the quasi-Monte Carlo rule (four
    # dimensions) meets at other points: the same to its error.
    renamed = torch.tensor([30, 10, 40, 0, 20])[y]
    assert float(gaussian_classes_mi(x, renamed)) == pytest.approx(value, abs=3e-4)


def test_the_correction_removes_the_bias_of_classes_that_do_not_differ():
    """Ten identical classes in 30 dimensions, 600 rows: the plug-in reads about (K - 1) r / (2 N) =
    0.22 nats, the corrected estimate 0 on average (to first order at the edge of the configurations)."""
    means = np.zeros((10, 30))
    corrected, plug_in = [], []
    for seed in range(30):
        x, y = _classes(means, 600, seed)
        corrected.append(float(gaussian_classes_mi(x, y)))
        plug_in.append(float(gaussian_classes_mi(x, y, bias_correction=False)))
    stderr = np.std(corrected) / np.sqrt(len(corrected))
    assert abs(np.mean(corrected)) < 3 * stderr + 1e-3
    assert np.mean(plug_in) > 0.15


def test_the_corrected_estimate_holds_ten_classes_in_twenty_dimensions():
    """Ten classes on the diagonal of 20 dimensions (truth 1.0566), N = 1,000, 20 draws: the corrected
    estimate's mean within three of its standard errors; the plug-in's 0.07 above (the means' noise)."""
    task = get_exact_task("labels-class-means-10-diagonal-20d")
    corrected, plug_in = [], []
    for seed in range(20):
        x, y = task.sample(1000, seed)
        corrected.append(float(gaussian_classes_mi(x, y)))
        plug_in.append(float(gaussian_classes_mi(x, y, bias_correction=False)))
    stderr = np.std(corrected) / np.sqrt(len(corrected))
    assert abs(np.mean(corrected) - task.truth) < 3 * stderr
    assert np.mean(plug_in) - task.truth > 0.04


def test_degenerate_classes_and_bad_input_say_what_is_wrong():
    x, y = _classes(np.eye(3), 90, 0)
    assert float(gaussian_classes_mi(x, torch.zeros(90, dtype=torch.long))) == 0.0  # one class
    points = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)[y][:, None].repeat(1, 2)
    assert float(gaussian_classes_mi(points, y)) == pytest.approx(
        -float((torch.bincount(y).double() / 90 * (torch.bincount(y).double() / 90).log()).sum()), abs=1e-12
    )
    with pytest.raises(ValueError, match="labels: expected integer labels"):
        gaussian_classes_mi(x, y.double())
    with pytest.raises(ValueError, match="x has 90, labels has 80"):
        gaussian_classes_mi(x, y[:80])
    with pytest.raises(ValueError, match="labels: every class has one row"):
        gaussian_classes_mi(x[:5], torch.arange(5))
    with pytest.raises(ValueError, match="x: 12 rows in 3 classes are too few"):
        gaussian_classes_mi(torch.randn(12, 8, dtype=torch.float64), torch.arange(12) % 3)
    with pytest.raises(ValueError, match="rtol: expected a number in"):
        gaussian_classes_mi(x, y, rtol=0.0)
    # the plug-in needs no more rows than a covariance does
    plug_in = gaussian_classes_mi(torch.randn(12, 8), torch.arange(12) % 3, bias_correction=False)
    assert np.isfinite(float(plug_in))


def test_the_shape_figures_centre_on_the_model_and_see_tails_and_spreads():
    means = np.random.default_rng(3).normal(size=(4, 5))
    for seed in range(5):
        shape = classes_shape(*_classes(means, 800, seed))
        assert max(abs(v) for v in shape.values()) < 4
    heavy = classes_shape(*_classes(means, 800, 0, lambda rng, y: rng.standard_t(3, (len(y), 5))))
    assert heavy["kurtosis z"] > 4
    spreads = classes_shape(
        *_classes(means, 800, 0, lambda rng, y: rng.standard_normal((len(y), 5)) * (1 + 0.5 * y)[:, None])
    )
    assert spreads["spread z"] > 4


def test_the_pointwise_terms_average_to_the_resubstitution_estimate():
    means = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    x, y = _classes(means, 4000, 0)
    terms = classes_pointwise(x, y)
    assert terms.shape == (4000,)
    plug_in = float(gaussian_classes_mi(x, y, bias_correction=False))
    assert float(terms.mean()) == pytest.approx(plug_in, abs=0.02)


def test_the_quadratic_reference_draws_like_classes_and_knows_its_mi():
    """Two classes in two columns with spreads 1 and 2 around one mean: the reference's classes keep
    their spreads, and its MI (the mean of its pointwise information) is the one-column truth of two
    spreads, as the radius carries it, within a few of its standard errors; a class of one row has no
    reference."""
    from iblearn.data.tasks.labels import class_spreads

    task = class_spreads("two", [1, 1], np.zeros((2, 2)), [1.0, 2.0], "")
    x, y = (torch.as_tensor(a) for a in task.sample(4000, 0))
    sample, mi = quadratic_reference(x, y, seed=0, draws=40_000)
    assert sample.shape == x.shape
    ratio = sample[y == 1].std(dim=0) / sample[y == 0].std(dim=0)
    assert ratio.tolist() == pytest.approx([2.0, 2.0], rel=0.08)
    assert mi == pytest.approx(task.truth, abs=0.02)
    assert quadratic_reference(x[:6], torch.tensor([0, 0, 0, 0, 0, 1]), seed=0) is None


def test_the_reference_shrinks_a_class_toward_the_pooled_shape_as_far_as_its_rows_leave_it_unknown():
    """Ten classes of spreads 1 to 2 in 20 columns, 100 rows each: every class's covariance is near the
    pooled one scaled to the class's spread (the model, up to noise), far nearer than its own sample
    covariance; three classes of unlike shapes, 2,000 rows each in 3 columns: each keeps its own."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 100)
    spreads = np.linspace(1.0, 2.0, 10)
    x, lab = torch.from_numpy(spreads[y, None] * rng.standard_normal((1000, 20))), torch.from_numpy(y)
    xt, codes, counts = gc.labelled_rows(x, lab, 1e-9)
    _, resid = gc.class_centres(xt, codes, counts)
    covs = shrunk_covariances(resid, codes, counts)
    for c in (0, 9):
        truth = spreads[c] ** 2 * torch.eye(20, dtype=torch.float64)
        own = resid[codes == c].T @ resid[codes == c] / 99
        assert (covs[c] - truth).norm() < 0.5 * (own - truth).norm()
    shapes = torch.tensor([[4.0, 1, 0.25], [0.25, 4, 1], [1, 0.25, 4]], dtype=torch.float64)
    y = torch.arange(3).repeat_interleave(2000)
    x = shapes[y].sqrt() * torch.from_numpy(rng.standard_normal((6000, 3)))
    xt, codes, counts = gc.labelled_rows(x, y, 1e-9)
    _, resid = gc.class_centres(xt, codes, counts)
    for c, cov in enumerate(shrunk_covariances(resid, codes, counts)):
        assert torch.diagonal(cov).tolist() == pytest.approx(shapes[c].tolist(), rel=0.1)
