"""Shared test set-up: one thread (two shared cores), fixed seeds, data from ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("IBLEARN_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
