"""estimate_many's inputs: a bool setting must be a bool, and samples that require grad are values."""

from __future__ import annotations

import pytest
import torch

from iblearn.estimators.neural import InfoNCE
from iblearn.estimators.neural.stacked import estimate_many

torch.set_num_threads(1)


def _pair(grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 1, generator=g)
    return x.clone().requires_grad_(grad), x + torch.randn(128, 1, generator=g)


def test_stack_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match=r"^stack: expected True or False, got 'no'"):
        estimate_many(InfoNCE(hidden=(8,)), [_pair(False), _pair(False)], steps=3, stack="no")  # type: ignore[arg-type]


def test_samples_that_require_grad_are_read_as_their_values() -> None:
    est = InfoNCE(hidden=(8,))
    tracked = estimate_many(est, [_pair(True), _pair(True)], steps=3, batch_size=32)
    plain = estimate_many(est, [_pair(False), _pair(False)], steps=3, batch_size=32)
    assert [float(e.value) for e in tracked] == pytest.approx([float(e.value) for e in plain], abs=1e-9)
