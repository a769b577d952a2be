"""The worked examples of adding an estimator (docs/guide/extending.md) run as they stand, and do what
the page says: a new bound in one file under 60 lines, a representation estimator in one file."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch

from iblearn.estimators import BoundEstimator, RepresentationEstimator

PAGE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "extending.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture(scope="module")
def examples():
    torch.set_num_threads(1)
    spaces = []
    for block in BLOCKS:
        space = {"__name__": "extending"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an untrained critic's estimate is flagged, as it should be
            exec(compile(block, str(PAGE), "exec"), space)
        spaces.append(space)
    return spaces


def test_the_page_has_a_bound_and_a_representation_estimator(examples):
    bound, representation = examples
    assert issubclass(bound["TUBA"], BoundEstimator)
    assert issubclass(representation["CCACodes"], RepresentationEstimator)
    assert not issubclass(representation["CCACodes"], BoundEstimator)


def test_the_new_bound_is_one_file_of_under_60_lines():
    code = BLOCKS[0][: BLOCKS[0].index("\n\nfrom iblearn.data")]  # the file, before its use
    assert len(code.splitlines()) < 60


def test_the_examples_estimate_near_the_truth(examples):
    bound, representation = examples
    assert abs(float(bound["est"](bound["x"][3000:], bound["y"][3000:])) - 0.4133) < 0.05
    codes = float(representation["est"](representation["x"][2000:], representation["y"][2000:]))
    assert 0.3 < codes < 0.4133 + 0.03  # data processing: at most the MI, up to KSG's error


def test_a_constructor_keyword_is_a_checked_setting(examples):
    tuba = examples[0]["TUBA"]
    assert tuba(1, 1, baseline=2.0).settings()["baseline"] == 2.0
    with pytest.raises(ValueError, match="baseline"):
        tuba(1, 1, baseline=-1.0)
    with pytest.raises(TypeError, match="baseline_"):
        tuba(1, 1, baseline_=2.0)
    est = tuba(1, 1)
    with pytest.raises(ValueError, match="baseline"):
        est.baseline = 0.0  # checked on assignment too
    assert type(est)(**est.settings()).settings() == est.settings()
