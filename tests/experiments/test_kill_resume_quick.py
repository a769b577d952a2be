"""Every reproduction in its ``--quick`` form, killed at random writes and resumed: the rows and results
are those of a run never stopped (minutes each: ``make test-all``; the default suite does the same on
each reproduction's tiny configuration)."""

from __future__ import annotations

import pytest

from iblearn.experiments import REPRODUCTIONS
from tests.experiments.kill import assert_resumes_exactly


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REPRODUCTIONS))
def test_a_quick_reproduction_killed_at_random_writes_resumes_to_an_unbroken_runs_rows(tmp_path, name):
    assert_resumes_exactly(REPRODUCTIONS[name], None, tmp_path, kills=2, seed=len(name))
