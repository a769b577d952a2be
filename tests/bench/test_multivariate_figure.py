"""benchmarks/multivariate_figure.py at a small N: the guide's figure and its points, with the sign of
each system's O-information and the closed form it is drawn against."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from benchmarks import multivariate_figure

torch.set_num_threads(1)


def test_the_figure_and_its_points_are_written(tmp_path):
    out, points = tmp_path / "o.png", tmp_path / "o.csv"
    rows = multivariate_figure.main(
        ["--n", "300", "--resamples", "3", "--out", str(out), "--csv", str(points)]
    )
    assert out.stat().st_size > 10_000
    with points.open() as f:
        written = list(csv.DictReader(f))
    assert len(written) == len(rows) == 2 * len(multivariate_figure.SIGMAS)
    for row in written:
        sign = 1 if row["system"] == "redundant" else -1
        assert sign * float(row["truth"]) > 0 and float(row["ksg_stderr"]) > 0
    # three copies of a source with noise of sd 1 (covariance J + I): O = (5 log 2 - 3 log 3) / 2
    assert multivariate_figure.o_truth(multivariate_figure.covariance("redundant", 1.0)) == pytest.approx(
        (5 * np.log(2) - 3 * np.log(3)) / 2, abs=1e-12
    )
