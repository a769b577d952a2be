"""The all-pairs row of benchmarks/gpu_check.py (``pairwise_mi_<m>x<n>``) on the CPU against the CPU:
measured where the prediction fits the device budget, predicted and said so where it does not, the CPU
figure extrapolated from two small calls."""

from __future__ import annotations

import json

import pytest
import torch
from benchmarks import gpu_check
from benchmarks.runners import gpu_rows


def test_the_row_measures_m_within_the_budget_and_predicts_it_over():
    cpu = torch.device("cpu")
    within = gpu_rows.all_pairs_speed(12, 200, 6, cpu, (60.0, 60.0), cpu_columns=(4, 6))
    assert within["device_s"] > 0 and "device_skipped" not in within and within["pairs"] == 66
    assert within["cpu_s"] > 0 and within["cpu_pairs"] == [6, 15]
    over = gpu_rows.all_pairs_speed(12, 200, 6, cpu, (1e-9, 60.0), cpu_columns=(4, 6))
    assert over["device_s"] is None
    assert over["device_predicted_s"] == pytest.approx(over["device_small_s"] * 66 / 15)
    assert "from 6 columns" in over["device_skipped"] and "over the 1e-09 s budget" in over["device_skipped"]


def test_the_check_writes_the_row_and_its_note(tmp_path):
    argv = ["--device", "cpu", "--quick", "--out", str(tmp_path), "--only", "pairwise_mi_*"]
    assert gpu_check.main([*argv, "--device-budget", "1e-9"]) == 0
    row = json.loads((tmp_path / "results.json").read_text())["rows"]["pairwise_mi_30x1000"]
    assert row["ok"] and row["device_s"] is None and row["cpu_s"] > 0
    table = (tmp_path / "table.md").read_text()
    assert "device predicted" in table and "CPU: from 28 and 66 pairs" in table
