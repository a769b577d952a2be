"""The report reads without the guide: the value with its unit and its interval at its confidence (and
where it was clipped at 0), reliable yes or no with why, where the standard error comes from, the
estimator and one sentence of why, and each check as pass, FAIL or not applicable with its tolerance;
in Python (``describe()``) and in the command's text alike."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import torch

from iblearn import estimate
from iblearn.cli import main
from iblearn.data import dense_gaussian
from iblearn.estimators import KSG

torch.set_num_threads(1)


def _pair(n: int, rho: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g, dtype=torch.float64)
    return x, rho * x + torch.randn(n, 1, generator=g, dtype=torch.float64)


def _nested(text: str) -> bool:
    """Whether a bracket opens inside another."""
    depth = 0
    for ch in text:
        depth += ch == "("
        if depth > 1:
            return True
        depth -= ch == ")"
    return False


def test_the_description_says_value_interval_reliability_estimator_and_checks_in_words():
    text = estimate("mi", *_pair(1000, 0.8)).describe()
    lines = text.splitlines()
    assert re.fullmatch(r"I\(X;Y\) = \d\.\d{4} nats, 95% interval \[\d\.\d{4}, \d\.\d{4}\]", lines[0])
    assert lines[1] == "reliable: yes — all 4 checks that ran passed (1 not applicable to these data)"
    assert lines[2].startswith("standard error: ") and "4 estimates on random halves of the rows" in lines[2]
    assert "changes from one seed to another" in lines[2]  # why two seeds give two standard errors
    assert lines[3].startswith("estimator: ksg, chosen because x and y are one column each")
    checks = [line for line in lines if line.startswith("  - ")]
    assert len(checks) == 5 and all(re.search(r": (pass|FAIL|not applicable) — ", c) for c in checks)
    assert all("tolerance" in c for c in checks if "not applicable" not in c)
    invariance = next(c for c in checks if "invariance" in c)
    assert "x and y are one column each" in invariance and "label" not in invariance
    assert not any(_nested(line) for line in lines), text
    assert "bias trend" not in text and "bias-aware" not in text


def test_a_gaussian_on_its_raw_rows_says_so_in_one_clause():
    x, y = dense_gaussian(3).sample(2000, seed=0)
    est = estimate("mi", x, y)
    assert est.report.chosen == "gaussian"
    assert "on the raw rows, as every column looks Gaussian" in est.report.why
    assert ": on the rows" not in est.report.why and est.confidence == 0.95


def test_an_interval_clipped_at_zero_says_so():
    x, y = _pair(300, 0.0, seed=0)
    est = estimate("mi", x, y)
    assert est.interval[0] == 0.0
    assert est.describe().splitlines()[0].endswith("(clipped at 0: the measure is never negative)")


def test_an_unreliable_estimate_says_no_and_why():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = estimate("mi", *_pair(20, 0.8))  # too few rows for the checks
    assert est.reliable is False
    assert "reliable: no — 20 rows" in est.describe()


def test_a_named_estimator_says_it_ran_no_self_checks():
    x, y = _pair(500, 0.8)
    text = KSG()(x, y, n_resamples=4, n_permutations=9).describe()
    assert (
        "estimator: ksg, as named" in text
        and "p-value: 0.1, from 9 permutations" in text
        and "under X and Y independent" in text
    )


@pytest.fixture
def pair_files(tmp_path):
    x, y = _pair(400, 0.8)
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "y.npy", y.numpy())
    return tmp_path


@pytest.mark.parametrize("method", [[], ["--method", "ksg", "--resamples", "4"]])
def test_the_command_prints_the_description_with_reliable_yes_no_or_not_checked(pair_files, capsys, method):
    assert main(["estimate", str(pair_files / "x.npy"), str(pair_files / "y.npy"), *method]) == 0
    text = capsys.readouterr().out
    said = "not checked" if method else "(yes|no)"
    assert "95% interval [" in text and re.search(rf"^reliable: {said} — ", text, re.M)
    assert "bias-aware" not in text and "estimator: ksg" in text


def test_the_command_prints_a_named_estimate_as_its_own_record(pair_files, capsys):
    args = ["estimate", str(pair_files / "x.npy"), str(pair_files / "y.npy"), "--method", "ksg"]
    assert main([*args, "--resamples", "4", "--permutations", "9", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record.pop("nonfinite") is None
    x, y = np.load(pair_files / "x.npy"), np.load(pair_files / "y.npy")
    expected = KSG()(x, y, n_resamples=4, n_permutations=9, seed=0)
    assert record == json.loads(json.dumps(expected.to_dict(), default=str))
