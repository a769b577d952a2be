"""benchmarks/data_inputs_figures.py: both figures and their points, from the guide's examples: the
planted couplings found by name with no false edge, the coding window on Pz alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("mne")
# The script imports its folder's _prelude first, as `python benchmarks/data_inputs_figures.py` finds it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from benchmarks import data_inputs_figures

torch.set_num_threads(1)


def test_the_figures_and_their_points_are_written(tmp_path):
    points = data_inputs_figures.main(["--out", str(tmp_path), "--points", str(tmp_path / "points.json")])
    for name in ("data_inputs_network.png", "data_inputs_timecourse.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    written = json.loads((tmp_path / "points.json").read_text())
    assert written["network"] == json.loads(json.dumps(points["network"]))
    assert "git_commit" in written["provenance"]
    edges = {(e["source"], e["target"], e["lag"]) for e in points["network"]["edges"]}
    assert edges == {("O1", "Pz", 2), ("Cz", "Fz", 3)}
    assert points["network"]["false"] == 0
    course = points["timecourse"]
    assert course["window"]["channels"] == ["Pz"]
    assert course["planted"]["first"] <= course["window"]["first"] < course["window"]["last"]
    assert course["window"]["last"] <= course["planted"]["last"]
    assert course["max_mi_null_channels"] < course["max_mi_in_window"] / 3
