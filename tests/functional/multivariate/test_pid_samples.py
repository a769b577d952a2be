"""PID from samples: the gates through the labels path (plug-in equals the exact table), MMI by a
bias-corrected estimator, the vector-target caveat, Gaussian BROJA of a scalar target, bad input."""

from __future__ import annotations

import math

import pytest
import torch

import iblearn.functional as ibf
from iblearn.functional import local_pid, pid, pid_distribution, pid_interval

torch.set_num_threads(1)
X1, X2 = torch.tensor([0, 0, 1, 1] * 25), torch.tensor([0, 1, 0, 1] * 25)


@pytest.mark.parametrize("redundancy", ["mmi", "min", "broja", "ccs", "dep", "sx"])
def test_gates_through_labels_equal_the_exact_pid(redundancy: str) -> None:
    for target, table in ((X1 ^ X2, "xor"), (X1 & X2, "and"), (2 * X1 + X2, "copy")):
        p = torch.zeros(2, 2, int(target.max()) + 1, dtype=torch.float64)
        for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
            p[a, b, int(target[2 * a + b])] = 0.25
        got = pid(X1, X2, target, redundancy=redundancy)  # type: ignore[arg-type]
        want = pid_distribution(p, redundancy)  # type: ignore[arg-type]
        assert [float(v) for v in got] == pytest.approx([float(v) for v in want], abs=1e-9), table


def test_copy_has_no_redundancy_but_under_mmi() -> None:
    copy = 2 * X1 + X2
    assert float(pid(X1, X2, copy, redundancy="ccs").redundancy) == pytest.approx(0, abs=1e-9)
    assert float(pid(X1, X2, copy).redundancy) == pytest.approx(math.log(2), abs=1e-9)


def test_mmi_by_a_bias_corrected_estimator() -> None:
    parts = pid(X1, X2, X1 ^ X2, method="miller_madow")
    assert float(parts.total) == pytest.approx(math.log(2), abs=0.05)


def test_gaussian_vector_target_says_mmi_is_only_mmi() -> None:
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(500, 1, generator=g), torch.randn(500, 1, generator=g)
    target = torch.cat([x1 + x2, x1 - x2], 1) + 0.5 * torch.randn(500, 2, generator=g)
    with pytest.warns(UserWarning, match="Barrett"):
        mmi = pid(x1, x2, target, method="gaussian")
    broja = pid(x1, x2, target, redundancy="broja", method="gaussian")  # the ~-PID
    assert float(broja.redundancy) < float(mmi.redundancy) - 0.05


def test_gaussian_broja_of_a_scalar_target_is_mmi() -> None:
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(500, 1, generator=g), torch.randn(500, 1, generator=g)
    t = x1 + 0.5 * x2 + 0.5 * torch.randn(500, 1, generator=g)
    a = pid(x1, x2, t, redundancy="broja", method="gaussian")
    b = pid(x1, x2, t, method="gaussian")
    assert [float(v) for v in a] == [float(v) for v in b]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"redundancy": "wb"}, "redundancy"),
        ({"redundancy": "ccs", "method": "nsb"}, "method"),
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pid(X1, X2, X1 ^ X2, **kwargs)


def test_continuous_samples_refuse_a_labels_only_measure() -> None:
    x = torch.randn(100, 1)
    with pytest.raises(ValueError, match="redundancy: 'ccs'"):
        pid(x, x, x, redundancy="ccs")


def test_local_sx_atoms_average_to_the_estimate() -> None:
    g = torch.Generator().manual_seed(2)
    a, b = torch.randint(0, 3, (400,), generator=g), torch.randint(0, 2, (400,), generator=g)
    t = (a + b + torch.randint(0, 2, (400,), generator=g)) % 3
    local = local_pid(a, b, t)
    whole = pid(a, b, t, redundancy="sx")
    assert local.redundancy.shape == (400,)
    assert [float(v.mean()) for v in local] == pytest.approx([float(v) for v in whole], abs=1e-12)


def test_local_pid_takes_labels_only() -> None:
    with pytest.raises(ValueError, match="labels"):
        local_pid(torch.randn(10), X1[:10], X2[:10])


def test_intervals_hold_the_part_and_cover_xors_synergy() -> None:
    g = torch.Generator().manual_seed(4)
    a, b = torch.randint(0, 2, (300,), generator=g), torch.randint(0, 2, (300,), generator=g)
    got = pid_interval(a, b, a ^ b, redundancy="ccs", n_resamples=20)
    assert set(got) == {"redundancy", "unique_1", "unique_2", "synergy", "total"}
    for part in got.values():
        assert part.low <= part.value <= part.high
    assert got["synergy"].low < math.log(2) < got["synergy"].high


def test_pid_of_labels_takes_every_redundancy_and_agrees_with_the_table() -> None:
    # pid(..., redundancy="broja") failed: the keyword went to the minimum-MI measure's options.
    from iblearn.functional.multivariate.pid_discrete import REDUNDANCIES, broja_pid

    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randint(0, 2, (400,), generator=g), torch.randint(0, 3, (400,), generator=g)
    t = (x1 + x2 + (torch.rand(400, generator=g) < 0.2).long()) % 3
    counts = torch.zeros(2, 3, 3, dtype=torch.float64)
    counts.index_put_((x1, x2, t), torch.ones(400, dtype=torch.float64), accumulate=True)
    table = counts / 400
    broja = ibf.pid(x1, x2, t, redundancy="broja")
    want, _ = broja_pid(table)
    assert [float(v) for v in broja] == pytest.approx([float(v) for v in want], abs=1e-9)
    for redundancy in REDUNDANCIES:
        from_samples = ibf.pid(x1, x2, t, redundancy=redundancy)
        from_table = ibf.pid_distribution(table, redundancy=redundancy)
        assert [float(v) for v in from_samples] == pytest.approx([float(v) for v in from_table], abs=1e-9)
        assert float(from_samples.total) == pytest.approx(float(ibf.discrete_mi(torch.stack([x1, x2], 1), t)))
