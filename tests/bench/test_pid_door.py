"""The continuous systems of the front door's PID coverage: their exact parts, and the table."""

from __future__ import annotations

import math

import pytest
from benchmarks.pid_coverage import cells_sx_atoms, door_systems, gate_skeleton, render_door


def test_cells_carry_the_closed_form_of_shared_exclusion():
    # The continuous limit on uniform cells: XOR 0 (the discrete gate: log 2/3), UNQ log 3/2 (log 4/3).
    assert cells_sx_atoms(gate_skeleton("xor"))[0] == pytest.approx(0.0, abs=1e-12)
    assert cells_sx_atoms(gate_skeleton("unq"))[0] == pytest.approx(math.log(3 / 2))
    assert cells_sx_atoms(gate_skeleton("rdn"))[:4] == pytest.approx((math.log(2), 0, 0, 0), abs=1e-12)
    for _, _, _, atoms in door_systems():
        assert sum(atoms[:4]) == pytest.approx(atoms[4], abs=1e-9)


def test_the_door_table_has_a_line_a_part():
    row = {"system": "cells-xor", "measure": "sx", "part": "synergy", "truth": 0.693, "n": 1000}
    row |= {"coverage_reliable": 0.9, "reliable": 30, "coverage": 0.85, "width_over_oracle": 1.2}
    text = render_door({"config": {"seeds": 40, "ns": [1000]}, "rows": [row]})
    assert "| cells-xor | `sx` | synergy | 0.693 | 90% (30) / 85% / 1.20 |" in text
