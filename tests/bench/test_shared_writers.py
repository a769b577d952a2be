"""The pieces several benchmark scripts share: the record and table a script leaves in its folder, the
plain and ProximalSplit steps the timings compare, and a table written as data (choosing.py's)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from benchmarks import choosing
from benchmarks.runners import script
from benchmarks.runners.paired import proximal_steps
from benchmarks.runners.proximal import adam_step, split_closure
from torch import nn

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def test_write_folder_makes_the_folder_and_writes_the_record_and_table(tmp_path, capsys):
    out = tmp_path / "a" / "b"
    script.write_folder(out, {"config": {"reps": 1}, "value": 0.5}, "| a |\n|---|\n| 1 |\n")
    assert json.loads((out / "results.json").read_text()) == {"config": {"reps": 1}, "value": 0.5}
    assert (out / "table.md").read_text() == "| a |\n|---|\n| 1 |\n"
    assert "| 1 |" in capsys.readouterr().out


def test_add_row_keeps_the_rows_another_call_wrote_and_the_last_of_a_key(tmp_path):
    path = tmp_path / "rows.jsonl"
    there = {"commit": "abc", "machine": "a CPU"}
    script.add_row(path, ["seed"], {"seed": 0, "value": 1.0, **there})
    script.write_rows(path, [*script.read_rows(path, ["seed"]), {"seed": 1, "value": 2.0, **there}])
    script.add_row(path, ["seed"], {"seed": 0, "value": 3.0, **there})
    assert script.read_rows(path, ["seed"]) == [
        {"seed": 0, "value": 3.0, **there},
        {"seed": 1, "value": 2.0, **there},
    ]
    script.add_row(path, ["seed"], {"seed": 2, "value": 4.0})  # stamped with the commit and the machine
    last = script.read_rows(path, ["seed"])[-1]
    assert last == script.stamped({"seed": 2, "value": 4.0})
    assert last["machine"] == script.machine() != there["machine"]


def test_kernel_provenance_names_the_machine_then_the_instruction_set_and_versions():
    keys = list(script.kernel_provenance())
    assert keys == [*script.machine_provenance(), "kernel_isa", "versions"]
    assert set(script.kernel_provenance()["versions"]) == {"iblearn", "torch", "numpy"}


def test_adam_step_and_split_closure_train_the_same_loss():
    torch.manual_seed(0)
    f, g = nn.Linear(3, 2), nn.Linear(2, 2)
    model = nn.Sequential(f, g)
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    loss, z = split_closure(f, g, x, y)()
    assert torch.equal(z, f(x)) and torch.equal(loss, nn.functional.cross_entropy(model(x), y))
    before = [p.detach().clone() for p in model.parameters()]
    adam_step(model, x, y)()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_proximal_steps_step_two_copies_of_one_network():
    torch.set_num_threads(1)
    split, plain = proximal_steps(torch.device("cpu"))
    split(), plain()


def test_choosing_tables_regenerate_from_the_committed_record():
    record = json.loads((RESULTS / "choosing" / "results.json").read_text(encoding="utf-8"))
    committed = (RESULTS / "choosing" / "table.md").read_text(encoding="utf-8")
    assert committed.startswith(choosing.table(record))
    for part in ("basic", "neural"):
        lines = choosing.table({part: record[part]}).splitlines()
        assert len(lines) == 1 + 1 + 2 + len(record[part])  # title, blank, header, rule, a row a run
