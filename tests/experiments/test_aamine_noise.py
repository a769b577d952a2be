"""The paper 002 Fig. 1 reproduction: its run folder, and a resume that redoes nothing finished."""

from __future__ import annotations

import pytest

import iblearn.experiments.aamine_noise as exp
from iblearn.experiments import REPRODUCTIONS, ReproduceOptions
from iblearn.records import RunFolder, read_json
from tests.experiments.kill import Killed, assert_resumes_exactly, kill_after, killed_then_resumed

TINY = exp.Config(
    input_dim=4,
    widths=(4, 4, 2),
    noise_vars=(0.0, 0.1),
    n_train=512,
    n_test=256,
    rounds=2,
    steps=20,
    hidden=8,
)


def test_writes_the_run_folder_and_resumes(tmp_path):
    rows_before, path = killed_then_resumed(exp.run, TINY, tmp_path, kill_after(2))
    assert len(rows_before) == 4  # two (noise, critic) pairs, two rounds each
    rows = RunFolder(path).metrics()
    assert rows[:4] == rows_before and len(rows) == 8
    for name in ("config.json", "metrics.csv", "results.json", "table.md"):
        assert (path / name).is_file()
    results = read_json(path / "results.json")
    assert set(results) >= {"claim_aa_above_mine_at_zero_noise", "claim_aa_falls_with_noise", "environment"}
    assert results["claim_aa_keeps_growing_at_zero_noise"] is None  # 40 steps: too short to tell
    assert "Elad et al. 2019, Fig. 1" in (path / "table.md").read_text()
    assert REPRODUCTIONS["aamine-noise"] is exp.run


def test_a_pair_killed_mid_way_resumes_to_the_rows_of_an_unbroken_run(tmp_path, monkeypatch):
    unbroken = RunFolder(exp.run(ReproduceOptions(out=tmp_path / "unbroken"), TINY)).metrics()
    original, fits = exp.AAMINE.fit, []

    def die_in_the_second_round_of_the_third_pair(self, *args, **kwargs):
        fits.append(1)
        if len(fits) == 6:
            raise Killed
        return original(self, *args, **kwargs)

    monkeypatch.setattr(exp.AAMINE, "fit", die_in_the_second_round_of_the_third_pair)
    with pytest.raises(Killed):
        exp.run(ReproduceOptions(out=tmp_path / "killed"), TINY)
    monkeypatch.setattr(exp.AAMINE, "fit", original)
    assert len(RunFolder(tmp_path / "killed").metrics()) == 4  # two whole pairs, nothing of the third
    resumed = RunFolder(exp.run(ReproduceOptions(out=tmp_path / "killed", resume=True), TINY)).metrics()

    def units(rows):
        return sorted((r["noise_var"], r["critic"], r["round"]) for r in rows)

    assert units(resumed) == units(unbroken) and len(resumed) == 8
    assert [r["estimate"] for r in resumed] == [r["estimate"] for r in unbroken]  # seeded: the same values


def test_a_run_killed_at_random_writes_resumes_to_the_rows_of_an_unbroken_run(tmp_path):
    assert_resumes_exactly(exp.run, TINY, tmp_path)


def test_a_run_at_zero_noise_alone_draws_its_figure(tmp_path):
    # The left panel puts zero noise a decade below the smallest positive variance: with none, a decade
    # below 1.
    from dataclasses import replace

    path = exp.run(ReproduceOptions(out=tmp_path), replace(TINY, noise_vars=(0.0,), rounds=1))
    assert (path / "aamine_noise.png").is_file() and (path / "results.json").is_file()
