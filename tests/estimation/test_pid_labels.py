"""The PID of labels through the front door: the discrete path (no kNN on integer codes), every
redundancy measure of a joint table, each part with its interval and checks."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn import estimate

torch.set_num_threads(1)


def _sources(n: int = 2000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (n,), generator=g), torch.randint(0, 2, (n,), generator=g)


@pytest.mark.parametrize("redundancy", ["mmi", "broja", "ccs"])
def test_xor_of_labels_is_all_synergy_with_an_interval(redundancy):
    x1, x2 = _sources()
    parts = estimate("pid", x1, x2, x1 ^ x2, redundancy=redundancy)
    synergy = parts["synergy"]
    assert synergy.interval[0] <= math.log(2) <= synergy.interval[1] and synergy.reliable
    assert abs(float(parts["redundancy"])) < 0.01 and synergy.confidence == 0.95
    assert "x1, x2 and the target are labels" in synergy.report.why
    assert set(synergy.report.checks) == {"sampling", "independence"}


def test_the_two_bit_copy_gives_each_source_its_unique_bit_by_ccs():
    x1, x2 = _sources()
    parts = estimate("pid", x1, x2, 2 * x1 + x2, redundancy="ccs")
    for name in ("unique_1", "unique_2"):
        assert parts[name].interval[0] <= math.log(2) <= parts[name].interval[1]
    assert parts["unique_1"].report.chosen == "plugin"


def test_mmi_of_labels_takes_a_bias_corrected_estimator():
    x1, x2 = _sources()
    parts = estimate("pid", x1, x2, x1 & x2)
    assert parts["total"].report.chosen == "cwj" and "minimum-MI" in parts["total"].report.why


def test_a_redundancy_of_labels_only_is_refused_for_continuous_samples_naming_it():
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(300, 1, generator=g), torch.randn(300, 1, generator=g)
    with pytest.raises(ValueError, match="redundancy: 'min' with method='gaussian' is not available"):
        estimate("pid", x1, x2, x1 + x2, redundancy="min")
    with pytest.raises(ValueError, match="redundancy: expected one of"):
        estimate("pid", x1, x2, x1 + x2, redundancy="nope")
