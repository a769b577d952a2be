"""The PID coverage table's regimes: a part is judged against the goal only where it is smooth at the
truth."""

from __future__ import annotations

import torch
from benchmarks.pid_coverage import regimes, render_coverage

from iblearn.data.tasks.pid import PID_TABLE

torch.set_num_threads(1)
JOINTS = {row.name: row.joint for row in PID_TABLE}


def test_a_minimum_at_a_tie_is_a_kink_and_an_untied_system_is_smooth() -> None:
    # AND: I(X1; T) = I(X2; T), so the MMI redundancy is a minimum at a tie
    assert regimes(JOINTS["pid-and"], "mmi")[0] == "kink"
    assert regimes(JOINTS["pid-gauss-sum"], "mmi") == ["kink"] * 4
    assert regimes(JOINTS["pid-gauss-correlated"], "mmi") == ["smooth"] * 4
    assert regimes(JOINTS["pid-unq"], "ccs")[0] != "smooth"
    assert regimes(JOINTS["pid-unq"], "broja") == ["smooth"] * 4


def test_render_judges_only_the_smooth_cells() -> None:
    rows = [
        {"task": "t", "measure": "mmi", "n": 100, "part": p, "coverage": c, "regime": g}
        for p, c, g in (
            ("redundancy", 0.80, "kink"),
            ("unique_1", 0.80, "smooth"),
            ("unique_2", 0.95, "smooth"),
            ("synergy", 0.95, "jump"),
        )
    ]
    text = render_coverage({"config": {"n_resamples": 20, "seeds": 30, "ns": [100]}, "rows": rows})
    assert "| t | `mmi` | *80%* / **80%** / 95% / *95%* |" in text
    assert "1 of 2 smooth cells are inside" in text
