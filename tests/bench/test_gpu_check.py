"""benchmarks/gpu_check.py on the CPU against the CPU (``--device cpu --quick``): the rows it writes, a
rerun that skips what is done, the exit status of a failed check, the budget's skips, and the counters
of its rows (benchmarks/runners/gpu_rows.py)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from benchmarks import gpu_check
from benchmarks.runners import gpu_rows
from torch import nn

from iblearn.estimators import REGISTRY

SUBSET = ["estimator:ksg", "estimator:mine", "proximal_split", "ib_functional:noisy", "ksg_5x5_n1000"]


def run(tmp_path, *extra):
    return gpu_check.main(["--device", "cpu", "--quick", "--out", str(tmp_path), *extra])


def rows(tmp_path):
    return json.loads((tmp_path / "results.json").read_text())["rows"]


@pytest.mark.parametrize("name", [n for n, cls in REGISTRY.items() if not cls.trainable])
def test_each_estimators_case_is_data_it_takes(name):
    # The rows the device runs for each registry estimator, estimated on the CPU: labels where only
    # labels will do (the slow test below runs every row; this one in the default suite).
    est, data, fit = gpu_rows.estimator_case(name)
    assert not fit and math.isfinite(float(est(*data)))
    assert math.isfinite(float(est(*gpu_rows.larger_case(name, 300))))


def test_rows_are_written_and_a_rerun_skips_them_unless_forced(tmp_path):
    assert run(tmp_path, "--only", *SUBSET) == 0
    done = rows(tmp_path)
    assert list(done) == SUBSET and all(r["ok"] for r in done.values())
    assert done["estimator:mine"]["copies"]["scalar_reads"] > 0  # train_step returns its loss as a float
    assert done["estimator:ksg"]["diff"] == 0.0 and done["ksg_5x5_n1000"]["cpu_s"] > 0
    table = (tmp_path / "table.md").read_text()
    assert "| estimator:mine |" in table and "| ksg_5x5_n1000 |" in table and "torch" in table

    record = json.loads((tmp_path / "results.json").read_text())
    record["rows"]["estimator:ksg"]["marker"] = True
    (tmp_path / "results.json").write_text(json.dumps(record))
    assert run(tmp_path, "--only", "estimator:ksg") == 0
    assert rows(tmp_path)["estimator:ksg"]["marker"] is True  # skipped: done before
    assert run(tmp_path, "--only", "estimator:ksg", "--force") == 0
    assert "marker" not in rows(tmp_path)["estimator:ksg"] and list(rows(tmp_path)) == ["estimator:ksg"]


def test_a_failed_or_broken_check_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "check_plane", lambda device, quick: {"diff": 1.0, "problems": ["off"]})

    def broken(mode, device):
        raise RuntimeError("Expected all tensors to be on the same device")

    monkeypatch.setattr(gpu_check, "check_ib", broken)
    assert run(tmp_path, "--only", "information_plane", "ib_functional:soft") == 1
    done = rows(tmp_path)
    assert done["information_plane"]["ok"] is False and done["information_plane"]["problems"] == ["off"]
    assert "same device" in done["ib_functional:soft"]["error"]
    table = (tmp_path / "table.md").read_text()
    assert "FAIL: off" in table and "FAIL: RuntimeError" in table


def test_a_figure_predicted_over_the_budget_is_skipped_and_says_so(tmp_path):
    assert run(tmp_path, "--only", "ksg_5x5_*", "--budget", "1e-9", "--device-budget", "1e-9") == 0
    done = rows(tmp_path)
    assert done["ksg_5x5_n1000"]["device_s"] > 0  # nothing to predict from
    for name in ("ksg_5x5_n3000", "ksg_5x5_n10000"):
        assert done[name]["device_s"] is None and done[name]["cpu_s"] is None
        assert "over the 1e-09 s budget" in done[name]["cpu_skipped"]
    assert "cpu predicted" in (tmp_path / "table.md").read_text()


def test_the_counters():
    t = torch.ones(3)
    copies = gpu_rows.host_copies(lambda: float(t.sum()) + int(t.argmax()), 4, torch.device("cpu"))
    assert copies["scalar_reads"] == 2 and copies["dtoh"] == copies["htod"] == 0
    cpu = torch.device("cpu")
    model = nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    assert gpu_rows.misplaced(cpu, model=model, optimizer=opt) == []  # Adam's step counts are left out
    assert gpu_rows.misplaced(cpu, model=nn.Linear(2, 2).to("meta")) == [
        "model.weight on meta",
        "model.bias on meta",
    ]
    assert gpu_rows.over_budget({"dtoh": 3, "htod": 0, "scalar_reads": 2, "device_events": 9}, cpu)


@pytest.mark.slow
def test_every_row_passes_on_the_cpu(tmp_path):
    assert run(tmp_path) == 0
    done = rows(tmp_path)
    assert {f"estimator:{n}" for n in gpu_check.REGISTRY} <= set(done)
    assert len(done) == len(gpu_check.plan(torch.device("cpu"), True, (120.0, 60.0), {}))


def test_a_rerun_measures_again_the_rows_of_other_code(tmp_path):
    assert run(tmp_path, "--only", "estimator:ksg") == 0
    record = json.loads((tmp_path / "results.json").read_text())
    record["rows"]["estimator:ksg"].update(commit="0" * 40, marker=True)  # a row of another commit
    (tmp_path / "results.json").write_text(json.dumps(record))
    assert run(tmp_path, "--only", "estimator:ksg") == 0
    assert "marker" not in rows(tmp_path)["estimator:ksg"]


def test_a_merged_record_marks_the_rows_of_another_commit(tmp_path):
    """A record merged from calls at two commits: the table names the commit of each row not at the
    record's own, and of no other."""
    assert run(tmp_path, "--only", "estimator:ksg", "ksg_5x5_n1000") == 0
    record = json.loads((tmp_path / "results.json").read_text())
    record["rows"]["estimator:ksg"]["commit"] = "abcdef1" + "0" * 33
    record["rows"]["ksg_5x5_n1000"]["commit"] = "1234567" + "0" * 33
    text = gpu_check.table(record)
    lines = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "pass; at commit abcdef1" in lines["estimator:ksg"]
    assert lines["ksg_5x5_n1000"].rstrip(" |").endswith("at commit 1234567")
    record["rows"]["estimator:ksg"]["commit"] = record["provenance"]["git_commit"]
    assert "at commit" not in gpu_check.table(record).split("| estimator:ksg")[1].splitlines()[0]


def test_the_committed_table_is_written_only_when_asked(tmp_path, monkeypatch):
    # Without --out (even --device meta --quick) the check wrote over benchmarks/results/gpu/.
    monkeypatch.setattr(gpu_check, "SCRATCH", tmp_path / "scratch")
    committed = gpu_check.OUT / "results.json"
    before = committed.read_bytes() if committed.is_file() else None
    assert gpu_check.main(["--device", "cpu", "--quick", "--only", "estimator:ksg"]) == 0
    assert (committed.read_bytes() if committed.is_file() else None) == before
    assert list(rows(tmp_path / "scratch")) == ["estimator:ksg"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--device", "bogus"], "--device: 'bogus' is not a torch device"),
        (["--device", "cpu", "--cpu-threads", "0"], "--cpu-threads: expected a positive number"),
    ],
)
def test_bad_options_are_named_without_a_traceback(tmp_path, capsys, extra, message):
    assert gpu_check.main(["--quick", "--out", str(tmp_path), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_results_file_of_another_device_or_a_broken_one_is_not_replaced(tmp_path, capsys):
    (tmp_path / "results.json").write_text('{"rows": 3}')
    assert run(tmp_path, "--only", "estimator:ksg") == 2
    assert "is not a results file of this check" in capsys.readouterr().err
    record = {"quick": True, "rows": {"x": {}}, "provenance": {"device": "cuda:0"}}
    (tmp_path / "results.json").write_text(json.dumps(record))
    assert run(tmp_path, "--only", "estimator:ksg") == 2
    assert "holds the quick rows of device cuda:0" in capsys.readouterr().err
    assert json.loads((tmp_path / "results.json").read_text()) == record
    assert run(tmp_path, "--only", "estimator:ksg", "--force") == 0
