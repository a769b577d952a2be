"""benchmarks/network_figures.py at a small size: both figures and their points, the switching
coupling's local TE higher where it is on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

# The script imports its folder's _prelude first, as `python benchmarks/network_figures.py` finds it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from benchmarks import network_figures

torch.set_num_threads(1)


def test_the_figures_and_their_points_are_written(tmp_path):
    argv = ["--nodes", "4", "--samples", "400", "--switching-samples", "2000", "--out", str(tmp_path)]
    points = network_figures.main([*argv, "--points", str(tmp_path / "points.json")])
    for name in ("network_inferred.png", "network_local_te.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert json.loads((tmp_path / "points.json").read_text()) == json.loads(json.dumps(points))
    assert set(map(tuple, points["network"]["found"])) <= {(s, t) for s in range(4) for t in range(4)}
    assert points["local_te"]["mean_on"] > points["local_te"]["mean_off"] + 0.1
