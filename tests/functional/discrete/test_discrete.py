"""Plug-in entropy and MI of discrete variables, and binning."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iblearn.functional import bin_values, discrete_entropy, discrete_mi


def test_entropy_of_uniform_and_skewed_distributions():
    assert float(discrete_entropy(torch.arange(8))) == pytest.approx(math.log(8))
    x = torch.tensor([0, 0, 0, 1])  # p = (3/4, 1/4)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert float(discrete_entropy(x)) == pytest.approx(h)
    # Miller-Madow adds (m - 1) / (2N) with m = 2 observed outcomes and N = 4.
    assert float(discrete_entropy(x, correction="miller-madow")) == pytest.approx(h + 1 / 8)


def test_rows_are_joint_outcomes():
    x = torch.tensor([[0, 1], [0, 1], [1, 0], [1, 1]])
    assert float(discrete_entropy(x)) == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))


def test_mi_of_a_variable_with_itself_and_with_an_exact_product():
    x = torch.tensor([0, 1, 2, 0, 1, 2])
    assert float(discrete_mi(x, x)) == pytest.approx(math.log(3))
    a, b = torch.meshgrid(torch.arange(3), torch.arange(4), indexing="ij")  # every pair once: independent
    assert float(discrete_mi(a.flatten(), b.flatten())) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), min_size=2, max_size=60),
    correction=st.sampled_from(["none", "miller-madow"]),
)
def test_mi_is_between_zero_and_the_smaller_entropy(data, correction):
    x = torch.tensor([d[0] for d in data])
    y = torch.tensor([d[1] for d in data])
    mi = float(discrete_mi(x, y, correction=correction))
    hx = float(discrete_entropy(x, correction=correction))
    hy = float(discrete_entropy(y, correction=correction))
    assert mi <= min(hx, hy) + 1e-12
    if correction == "none":
        assert mi >= -1e-12


def test_uniform_bins_follow_the_data_range_and_are_shared_by_units():
    x = torch.tensor([[0.0, 10.0], [5.0, 2.5], [10.0, 0.0]])
    # Edges over the whole layer's range [0, 10], 4 bins: 0, 2.5, 5, 7.5, 10.
    assert bin_values(x, 4).tolist() == [[0, 3], [2, 1], [3, 0]]
    assert bin_values(torch.full((5, 2), 3.0), 4).tolist() == [[0, 0]] * 5
    assert bin_values(torch.tensor([[-5.0], [0.5], [5.0]]), 2, value_range=(0.0, 1.0)).flatten().tolist() == [
        0,
        1,
        1,
    ]


def test_quantile_bins_hold_equal_mass_per_unit():
    x = torch.stack([torch.arange(100.0), torch.arange(100.0) ** 3], dim=1)
    codes = bin_values(x, 4, strategy="quantile")
    for j in range(2):
        assert torch.bincount(codes[:, j]).tolist() == [25, 25, 25, 25]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: discrete_mi(torch.rand(5), torch.arange(5)), "x: expected integer symbols"),
        (lambda: discrete_mi(torch.arange(5), torch.arange(6)), "sample counts differ"),
        (lambda: discrete_entropy(torch.arange(5), correction="grassberger"), "correction: expected one of"),
        (lambda: bin_values(torch.rand(5, 2), 0), "n_bins: expected a positive integer"),
        (lambda: bin_values(torch.rand(5, 2), strategy="kmeans"), "strategy: expected one of"),
        (lambda: bin_values(torch.rand(5, 2), value_range=(1.0, 0.0)), "value_range: high must exceed low"),
        (lambda: bin_values(torch.rand(5, 2), value_range=(0.0, math.inf)), "value_range: must be finite"),
        (lambda: bin_values(torch.rand(5, 2), value_range=(math.nan, 1.0)), "value_range: must be finite"),
        (lambda: bin_values(torch.rand(5, 2), strategy="quantile", value_range=(0.0, 1.0)), "value_range"),
        (lambda: bin_values(torch.arange(5), 3), "x: expected continuous samples"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(("n", "n_bins"), [(7, 4), (1000, 10), (100, 100)])
def test_quantile_edges_are_torch_quantiles(n, n_bins):
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    edges = torch.quantile(x, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1], dim=0)
    expected = torch.searchsorted(edges.T.contiguous(), x.T.contiguous(), right=True).T
    assert torch.equal(bin_values(x, n_bins, strategy="quantile"), expected)


@pytest.mark.slow
def test_quantile_bins_take_more_than_2_to_the_24_values():
    """torch.quantile refuses them; 70,000 activations of 250 units is an ordinary layer."""
    codes = bin_values(
        torch.rand(70_000, 250, generator=torch.Generator().manual_seed(0)), 30, strategy="quantile"
    )
    counts = torch.stack([torch.bincount(c, minlength=30) for c in codes.T[:5]])
    assert int(counts.min()) >= 2331 and int(counts.max()) <= 2335  # 70,000 / 30 = 2333.3 each


def test_uniform_bins_span_a_range_beyond_half_the_float_range():
    # hi - lo overflowed from 9e307: every value fell in one bin.
    x = torch.tensor([[-1.0], [-0.2], [0.3], [1.0]], dtype=torch.float64)
    expected = bin_values(x, n_bins=4).flatten().tolist()
    assert expected == [0, 1, 2, 3]
    assert bin_values(x * 1.5e308, n_bins=4).flatten().tolist() == expected
    assert bin_values(x * 1e-320, n_bins=4).flatten().tolist() == expected


def _levels(levels: int, n: int) -> torch.Tensor:
    """Integral floats 0..levels-1, each on n / levels rows."""
    return (torch.arange(n) % levels).double()


def test_class_codes_reads_integers_and_few_integral_floats_as_labels():
    from iblearn.functional import class_codes

    codes = class_codes(torch.tensor([3.0, 1.0, 3.0, 7.0, 1.0, 7.0]))
    assert codes is not None and codes.tolist() == [1, 0, 1, 2, 0, 2]  # sorted order of the values
    assert class_codes(_levels(15, 100)) is not None  # 15 <= 20 classes, about 7 rows each
    assert class_codes(_levels(50, 2000)) is None  # 50 integral levels: a quantity, not 50 classes
    assert class_codes(_levels(20, 30)) is None  # 20 classes on 30 rows: not 2 rows a class
    assert class_codes(torch.arange(2000) % 50) is not None  # integer dtype: labels, however many
    assert class_codes(torch.tensor([True, False, True])) is not None
    assert class_codes(torch.linspace(0, 1, 100)) is None  # non-integral floats
    assert class_codes(torch.tensor([0.0, 1.0, float("nan"), 1.0])) is None
    assert class_codes(torch.ones(10)).tolist() == [0] * 10  # a constant: one class
    one_hot = torch.eye(3).repeat(10, 1)  # rows are labels
    assert class_codes(one_hot).tolist() == [2, 1, 0] * 10  # in sorted order of the rows
    bools = torch.tensor([[True, False], [False, False], [True, True], [True, False]])
    assert class_codes(bools).tolist() == [1, 0, 2, 1]


def test_class_codes_refuse_an_empty_target_by_its_name():
    from iblearn.functional import class_codes

    for empty in (torch.zeros(0), torch.zeros(0, 2, dtype=torch.long)):
        with pytest.raises(ValueError, match="labels: empty"):
            class_codes(empty, "labels")


def test_row_codes_number_rows_in_lexicographic_order():
    from iblearn.functional.discrete import row_codes

    g = torch.Generator().manual_seed(0)
    for d in (1, 2, 4):
        rows = torch.randint(-3, 9, (500, d), generator=g)
        assert torch.equal(row_codes(rows), torch.unique(rows, dim=0, return_inverse=True)[1])
