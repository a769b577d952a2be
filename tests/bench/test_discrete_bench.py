"""benchmarks/discrete.py runs a tiny configuration without the peers, to a scratch folder unless
told where, and refuses a quick run into the committed results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from benchmarks import discrete
from benchmarks.runners import script

torch.set_num_threads(1)


def test_a_tiny_run_without_peers_writes_the_scratch_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(script, "SCRATCH", tmp_path / "_scratch")
    discrete.main(["--quick", "--draws", "2", "--no-peers"])
    out = tmp_path / "_scratch" / "discrete"
    record = json.loads((out / "results.json").read_text())
    assert json.loads((out / "config.json").read_text())["draws"] == 2
    assert {r["regime"] for r in record["rows"]} == {"dirichlet", "zipf", "channel"}
    assert {r["library"] for r in record["rows"]} == {"iblearn"}
    assert record["provenance"]["git_commit"] and record["provenance"]["versions"]["numpy"]
    assert all(r["ran"] == 2 and r["rmse"] >= 0 for r in record["rows"])
    assert "| regime | K |" in (out / "table.md").read_text()


def test_a_quick_run_is_never_committed():
    with pytest.raises(SystemExit):
        discrete.main(["--quick", "--no-peers", "--write-results"])
