"""The process group of the reproductions under torchrun: its settings from the environment, checked."""

from __future__ import annotations

import re

import pytest

from iblearn.experiments import torchrun
from iblearn.experiments.torchrun import joined


@pytest.mark.parametrize("value", ["abc", "inf", "nan", "-1", "0", "1e30"])
def test_a_bad_dist_timeout_names_the_variable_and_the_range(monkeypatch, value):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("IBLEARN_DIST_TIMEOUT", value)
    expected = re.escape(f"a number in (0, {torchrun.YEAR:g}]; got {value!r}")
    with pytest.raises(ValueError, match=rf"^IBLEARN_DIST_TIMEOUT: .*seconds.*{expected}"), joined("cpu"):
        pass


def test_a_dist_timeout_is_read_in_seconds():
    assert torchrun._timeout("2.5") == 2.5
    assert torchrun._timeout(None) == torchrun.TIMEOUT
